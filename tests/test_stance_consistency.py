"""One source of truth for stance windows: every counted step is shown as a stance of its side in frames.csv,
the stills and the annotated video, and nothing else is shown as one."""
import csv

import numpy as np
import pytest

from gaitlab.core.analysis import analyze_track
from gaitlab.core.clip import VideoInfo
from gaitlab.core.result import SIDES, Analysis
from gaitlab.outputs.annotate import stance_at
from gaitlab.outputs.exports import write_exports
from tests.conftest import SAMPLES
from tests.synthetic import make_track

INFO = VideoInfo("clip.mp4", 30.0, 300, 10.0, 1280, 720, 0, "h264")
RUN = dict(stride_s=0.66, duty=0.36, amp=0.25)  # 182 steps/min with flight phases


def _shown_vs_counted(analysis: Analysis) -> list[str]:
    """Disagreements between the per-frame stance phase and the counted steps, in words."""
    f, out = analysis.frames, []
    counted = np.full(len(f.time_s), "", dtype=object)
    for s in analysis.steps:
        inside = (f.time_s >= s.start_s - 1e-9) & (f.time_s <= s.end_s + 1e-9)
        counted[inside] = s.stance_side
        if not np.all(f.stance_phase[inside] == s.stance_side):
            out.append(f"{s.stance_side} step {s.start_s:.3f}-{s.end_s:.3f} s shown as "
                       f"{sorted(set(f.stance_phase[inside]))}")
    for k in np.flatnonzero(np.isin(f.stance_phase, SIDES) & (f.stance_phase != counted)):
        out.append(f"{f.time_s[k]:.3f} s shown as {f.stance_phase[k]} stance outside any counted step")
    return out


# Steps at the clip's start or end (the stance foot's contact not seen to begin or end), walking and running,
# from behind and in front.
@pytest.mark.parametrize("kwargs", [
    dict(phase0=(0.3, 0.8)),
    dict(phase0=(0.05, 0.55)),
    dict(view="anterior", dur_s=8.0, phase0=(0.05, 0.55)),
    dict(phase0=(0.3, 0.8), **RUN),
    dict(phase0=(0.45, 0.95), retraction=0.15, duty=0.35, stride_s=0.7),
])
def test_counted_steps_and_the_frame_phase_agree_on_constructed_walks(kwargs):
    track, _ = make_track(drops={"left": 3.0, "right": 6.0}, **{"dur_s": 6.0, **kwargs})
    analysis = analyze_track(track, INFO)
    assert len(analysis.steps) >= 6
    assert _shown_vs_counted(analysis) == []


@pytest.mark.parametrize("spoil", ["unmeasured", "implausible"])
def test_a_step_left_out_is_not_shown_as_a_stance(spoil):
    track, _ = make_track(drops={"left": 3.0, "right": 6.0})
    step = analyze_track(track, INFO).steps[2]
    inside = (track.time_s >= step.start_s) & (track.time_s <= step.end_s)
    if spoil == "unmeasured":  # the pelvis band lost through the stance
        track.pelvis_pixel_rotation_deg[inside], track.pelvis_pixel_quality[inside] = np.nan, 0.0
    else:  # a drop beyond what walking produces
        track.pelvis_pixel_rotation_deg[inside] -= 25.0
    analysis = analyze_track(track, INFO)
    assert step.start_s not in [s.start_s for s in analysis.steps]
    assert not np.isin(analysis.frames.stance_phase[inside], SIDES).any()
    assert _shown_vs_counted(analysis) == []


@pytest.fixture(scope="module")
def demo(pose_model, tmp_path_factory) -> tuple[Analysis, list[dict], list[dict]]:
    """The bundled demo clip analysed (its pose track cached after the first run), with its exports."""
    from gaitlab.tracking.pipeline import track_video

    tracked = track_video(SAMPLES / "sample_walk_post_short.mp4", pose_model)
    analysis = analyze_track(tracked.track, tracked.info, people=tracked.people)
    out = tmp_path_factory.mktemp("demo")
    write_exports(analysis, out)
    rows = [list(csv.DictReader((out / name).read_text(encoding="utf-8").splitlines()))
            for name in ("steps.csv", "frames.csv")]
    return analysis, rows[0], rows[1]


def test_every_step_of_the_demo_clip_is_a_stance_in_frames_csv(demo):
    _, steps, frames = demo
    assert len(steps) >= 10
    for step in steps:
        covered = [f["stance_phase"] for f in frames
                   if float(step["start_s"]) <= float(f["time_s"]) <= float(step["end_s"])]
        assert covered and set(covered) == {step["stance_side"]}, (step, covered)


def test_the_annotated_video_labels_each_demo_step_at_its_peak(demo):
    analysis, _, _ = demo
    assert [stance_at(analysis, s.peak_time_s) for s in analysis.steps] == [s.stance_side for s in analysis.steps]


def test_a_landmark_line_beyond_what_walking_produces_is_not_shown_as_the_baseline():
    """The hip landmarks of one stance thrown 25° off (mislabelled or overlapping hips, as on a person seen turned
    and from above): that step keeps its pelvis drop, its baseline is not shown (the same ±15° rule as the steps'),
    and the side's baseline mean is taken over the other steps."""
    from gaitlab.core.analysis import MAX_PLAUSIBLE_DROP_DEG
    from gaitlab.core.track import LEFT_HIP, RIGHT_HIP

    track, _ = make_track(drops={"left": 3.0, "right": 6.0})
    before = analyze_track(track, INFO)
    step = before.steps[2]
    inside = (track.time_s >= step.start_s) & (track.time_s <= step.end_s)
    mid = 0.5 * (track.image_xyz[inside, LEFT_HIP, :2] + track.image_xyz[inside, RIGHT_HIP, :2])
    half = 0.5 * np.linalg.norm(track.image_xyz[inside, RIGHT_HIP, :2] - track.image_xyz[inside, LEFT_HIP, :2], axis=1)
    turn = np.radians(25.0)  # the right hip (image right, from behind) thrown 25° down
    track.image_xyz[inside, RIGHT_HIP, 0] = mid[:, 0] + half * np.cos(turn)
    track.image_xyz[inside, RIGHT_HIP, 1] = mid[:, 1] + half * np.sin(turn)
    track.image_xyz[inside, LEFT_HIP, 0] = mid[:, 0] - half * np.cos(turn)
    track.image_xyz[inside, LEFT_HIP, 1] = mid[:, 1] - half * np.sin(turn)
    after = analyze_track(track, INFO)
    (same,) = [s for s in after.steps if s.start_s == step.start_s]
    assert abs(before.steps[2].baseline_peak_drop_deg) < MAX_PLAUSIBLE_DROP_DEG
    assert np.isnan(same.baseline_peak_drop_deg)
    assert same.peak_drop_deg == pytest.approx(step.peak_drop_deg, abs=0.5)
    side = after.sides[step.stance_side]
    others = [s.baseline_peak_drop_deg for s in after.steps if s.stance_side == step.stance_side
              and s.start_s != step.start_s]
    assert side.baseline_mean_drop_deg == pytest.approx(np.mean(others), abs=1e-6)
