from pathlib import Path

import pytest

from tests.clips import derive_clip

SAMPLES = Path(__file__).resolve().parent.parent / "sample_videos"


@pytest.fixture(scope="session")
def pose_model():
    """The verified pose model; `./run tests` fetches it before pytest starts."""
    from gaitlab.tracking.model import resolve_model

    return resolve_model()


@pytest.fixture(scope="session")
def sample_walk_track(pose_model):
    from gaitlab.tracking.pipeline import track_video

    return track_video(SAMPLES / "sample_walk_post_short.mp4", pose_model, use_cache=False)


@pytest.fixture(scope="module")
def clips(tmp_path_factory, pose_model):
    """Short copies of the sample walk at 640x360 (small and quick to analyse), and a track cache of the
    module's own (the model was resolved before, from the usual places)."""
    d = tmp_path_factory.mktemp("clips")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(d / "cache"))
        yield {"short": derive_clip(SAMPLES / "sample_walk_post_short.mp4", d / "walk short.mp4", 2.5, scale=0.5),
               "long": derive_clip(SAMPLES / "sample_walk_post_short.mp4", d / "walk long.mp4", 6.0, scale=0.5)}
