from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_videos"


@pytest.fixture(scope="session")
def pose_model():
    """The verified pose model; `./run tests` fetches it before pytest starts."""
    from gaitlab.model import resolve_model

    return resolve_model()


@pytest.fixture(scope="session")
def sample_walk_track(pose_model):
    from gaitlab.pipeline import track_video

    return track_video(SAMPLES / "sample_walk_post_short.mp4", pose_model, use_cache=False)
