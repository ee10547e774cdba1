"""Real MediaPipe on a bundled clip."""
import numpy as np
import pytest

from gaitlab.pipeline import track_video
from gaitlab.track import LEFT_HIP, RIGHT_HIP
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration


def test_sample_walk_detected_with_hips_in_frame(sample_walk_track):
    tv = sample_walk_track
    track = tv.track
    assert len(track) == tv.info.frames == 180
    assert track.detected.mean() >= 0.9
    hips = track.image_xyz[track.detected][:, [LEFT_HIP, RIGHT_HIP], :2]
    assert np.all((hips[..., 0] > 0) & (hips[..., 0] < track.width))
    assert np.all((hips[..., 1] > 0) & (hips[..., 1] < track.height))
    # Filmed from behind: the person's left hip is on the image left.
    assert np.median(hips[:, 0, 0] - hips[:, 1, 0]) < 0
    assert np.all(np.diff(track.time_s) > 0)
    assert np.allclose(track.world_xyz[track.detected][:, LEFT_HIP, 1], track.world_xyz[track.detected][:, RIGHT_HIP, 1], atol=0.15)


def test_track_cache_round_trip(pose_model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    clip = SAMPLES / "pose2sim_single_cam02.mp4"
    first = track_video(clip, pose_model, end_s=0.5)
    second = track_video(clip, pose_model, end_s=0.5)
    assert not first.from_cache and second.from_cache
    assert len(first.track) == len(second.track) == 30
    np.testing.assert_array_equal(first.track.image_xyz, second.track.image_xyz)
    assert len(list((tmp_path / "gaitlab" / "tracks").glob("*.npz"))) == 1
