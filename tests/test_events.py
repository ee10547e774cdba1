"""Unit tests of gaitlab.events on constructed landmark trajectories with known contacts."""
import numpy as np
import pytest

from gaitlab.events import StanceWindow, detect_gait_events, detect_view
from tests.synthetic import make_track
from gaitlab.track import (
    LEFT_EAR, LEFT_FOOT_INDEX, LEFT_HEEL, LEFT_HIP, LEFT_SHOULDER, NOSE, RIGHT_EAR,
    RIGHT_FOOT_INDEX, RIGHT_HEEL, RIGHT_HIP, RIGHT_SHOULDER, PoseTrack,
)


def truth_windows(t, truth):
    """Complete single-stance windows from per-frame contacts (first/last frame)."""
    out = []
    for side, other in (("left", "right"), ("right", "left")):
        ss = truth[side] & ~truth[other]
        e = np.diff(np.concatenate([[0], ss.astype(int), [0]]))
        for a, b in zip(np.flatnonzero(e == 1), np.flatnonzero(e == -1)):
            if a > 0 and b < len(t):
                out.append(StanceWindow(side, float(t[a]), float(t[b - 1])))
    return out


def score(det, tru, tol=0.1):
    used, tp, errs = set(), 0, []
    for w in tru:
        best = None
        for i, d in enumerate(det):
            if i in used or d.side != w.side:
                continue
            es, ee = abs(d.start_s - w.start_s), abs(d.end_s - w.end_s)
            if es <= tol + 1e-9 and ee <= tol + 1e-9 and (best is None or es + ee < best[1]):
                best = (i, es + ee, es)
        if best is not None:
            used.add(best[0])
            tp += 1
            errs.append(best[2])
    f1 = 2 * tp / (len(det) + len(tru)) if det or tru else 1.0
    return f1, (max(errs) if errs else np.inf)


@pytest.mark.parametrize("view", ["posterior", "anterior"])
@pytest.mark.parametrize("fps", [25.0, 60.0])
def test_walking_windows(view, fps):
    track, truth = make_track(view=view, fps=fps, noise=0.004)
    ev = detect_gait_events(track)
    assert ev.view == view
    assert ev.activity == "walk"
    tru = truth_windows(track.time_s, truth)
    f1, max_start_err = score(ev.single_stances, tru)
    assert f1 >= 0.85, (f1, ev.single_stances, tru)
    assert max_start_err <= 0.07
    # per-frame contact where decided
    for side in ("left", "right"):
        acc = np.mean(getattr(ev, f"{side}_contact")[ev.valid] == truth[side][ev.valid])
        assert acc >= 0.9
    assert 100 < ev.cadence_steps_per_min < 120  # 2 steps per 1.1 s stride = 109 steps/min


def test_running_has_no_double_support():
    track, truth = make_track(fps=60.0, stride_s=0.7, duty=0.36, amp=0.3, noise=0.003)
    ev = detect_gait_events(track)
    assert ev.activity == "run"
    assert not np.any(ev.left_contact & ev.right_contact & ev.valid)
    tru = truth_windows(track.time_s, truth)
    f1, max_start_err = score(ev.single_stances, tru)
    assert f1 >= 0.85
    assert max_start_err <= 0.08  # the 8 Hz low-pass rounds the synthetic landing kink (~0.07 s early)
    # running windows are the stance leg's whole contact
    for w in ev.single_stances:
        assert 0.15 < w.duration_s < 0.35


def test_long_gap_never_bridged():
    gap = (4.0, 4.6)
    track, truth = make_track(fps=30.0, noise=0.003, gap=gap)
    ev = detect_gait_events(track)
    assert ev.single_stances, "windows outside the gap must still be found"
    for w in ev.single_stances:
        assert w.end_s < gap[0] or w.start_s >= gap[1], w
    assert not ev.valid[(track.time_s >= gap[0]) & (track.time_s < gap[1])].any()
    tru = [w for w in truth_windows(track.time_s, truth) if w.end_s < gap[0] - 0.6 or w.start_s > gap[1] + 0.6]
    f1, _ = score(ev.single_stances, tru)
    assert f1 >= 0.8


def test_short_gap_is_bridged():
    track, truth = make_track(fps=30.0, noise=0.003, gap=(5.0, 5.07))
    ev = detect_gait_events(track)
    tru = truth_windows(track.time_s, truth)
    f1, _ = score(ev.single_stances, tru)
    assert f1 >= 0.85


def test_overground_scale_change_anterior():
    # walking toward the camera: the person doubles in size and drifts down the image
    track, truth = make_track(view="anterior", fps=30.0, noise=0.003, scale_growth=1.0, stride_s=1.05)
    ev = detect_gait_events(track)
    tru = truth_windows(track.time_s, truth)
    f1, max_start_err = score(ev.single_stances, tru)
    assert f1 >= 0.85
    assert max_start_err <= 0.07


def test_view_detection_is_label_independent():
    track, _ = make_track(view="anterior")
    assert detect_view(track) == "anterior"
    track, _ = make_track(view="posterior")
    assert detect_view(track) == "posterior"


def test_no_person_no_windows():
    track, _ = make_track(fps=30.0, dur_s=3.0)
    track.image_xyz[:] = np.nan
    ev = detect_gait_events(track)
    assert ev.single_stances == []
    assert not ev.left_contact.any() and not ev.right_contact.any()


def test_windows_are_sorted_and_alternate():
    track, _ = make_track(fps=30.0, noise=0.003)
    ev = detect_gait_events(track)
    starts = [w.start_s for w in ev.single_stances]
    assert starts == sorted(starts)
    sides = [w.side for w in ev.single_stances]
    assert all(a != b for a, b in zip(sides[:-1], sides[1:]))
