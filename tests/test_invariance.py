"""Same walk, same answer: the bundled sample mirrored (sides swap) and rolled 3° (a tilted phone) gives each side's
mean drop within INVARIANCE_TOLERANCE_DEG of the original (benchmarks/invariance.py does this on every clip)."""
import pytest

from benchmarks.invariance import write_transformed
from gaitlab.core.analysis import analyze_track
from gaitlab.tracking.pipeline import track_video
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration
SAMPLE = SAMPLES / "sample_walk_post_short.mp4"
# A tenth of the smallest detectable difference (2.7°): a transform of the pixels alone must move a side's mean by
# much less than any change a physio would act on.
INVARIANCE_TOLERANCE_DEG = 0.3


def _sides(clip, model, tracks):
    tv = track_video(clip, model, tracks=tracks)
    return analyze_track(tv.track, tv.info, people=tv.people).sides


@pytest.fixture(scope="module")
def original(pose_model, tmp_path_factory):
    return _sides(SAMPLE, pose_model, tmp_path_factory.mktemp("tracks"))


@pytest.mark.parametrize("transform, swapped", [("mirror", True), ("roll3", False)])
def test_a_mirrored_or_rolled_clip_gives_the_same_drops(original, pose_model, tmp_path, transform, swapped):
    moved = _sides(write_transformed(SAMPLE, tmp_path / f"{transform}.mp4", transform), pose_model, tmp_path / "t")
    for side, other in (("left", "right"), ("right", "left")):
        now = moved[other if swapped else side]
        assert now.measurable == original[side].measurable
        assert now.steps == original[side].steps
        assert abs(now.mean_drop_deg - original[side].mean_drop_deg) <= INVARIANCE_TOLERANCE_DEG, (side, transform)
        assert now.verdict_class == original[side].verdict_class
    assert original["right"].flagged and not original["left"].flagged  # the sample's known answer, so a swap shows
