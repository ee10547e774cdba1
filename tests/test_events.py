"""Unit tests of gaitlab.core.events on constructed landmark trajectories with known contacts."""
import numpy as np
import pytest

from gaitlab.core.events import EventParams, StanceWindow, detect_gait_events, typical_stances
from gaitlab.core.track import (
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
)
from gaitlab.core.view import estimate_view
from tests.synthetic import make_track


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
    assert max_start_err <= 0.08  # no retraction here: IC = the forward-most point (~0.05 s early)
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


def test_far_anterior_approach_toe_off_and_contact():
    # walking toward the camera from 4x the final distance (the body's image grows 4x): far away
    # the perspective shows the feet's AP motion 4x weaker, while the early-swing lift still
    # raises the foot in the image like a foot moving back - the toe's apparent backward maximum
    # lags the toe-off; the foot's pitch still peaks at toe-off and bottoms out at heel strike
    track, truth = make_track(view="anterior", fps=30.0, noise=0.002, scale_growth=3.0,
                              stride_s=1.05, amp=0.3, foot_pitch=0.06, depth_gain=True, dur_s=8.0)
    ev = detect_gait_events(track)
    assert ev.view == "anterior"
    t = track.time_s
    for side in ("left", "right"):
        tto = t[np.flatnonzero(np.diff(truth[side].astype(int)) == -1) + 1]
        err = [x - tto[np.argmin(np.abs(tto - x))] for x in ev.toe_offs_s[side]]
        assert len(err) >= 6 and np.all(np.abs(err) <= 0.04), (side, err)
    err = _ic_errors(ev, track, truth)
    assert err.size >= 12 and np.all(np.abs(err) <= 0.04), err
    tru = truth_windows(t, truth)
    f1, max_start_err = score(ev.single_stances, tru)
    assert f1 >= 0.9, (f1, ev.single_stances, tru)
    assert max_start_err <= 0.05


def test_view_detection_is_label_independent():
    track, _ = make_track(view="anterior")
    assert estimate_view(track).facing == "toward"
    track, _ = make_track(view="posterior")
    assert estimate_view(track).facing == "away"


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


def _truth_ics(t, contact):
    return np.flatnonzero(np.diff(contact.astype(int)) == 1) + 1


def _heel_stops_early(track, truth, lead_frames):
    """From the front the heel's image height is mostly lift, which can end before contact: hold
    each foot (heel and toe together, so its pitch is kept) at its contact height for lead_frames
    frames before every initial contact."""
    im = track.image_xyz
    for side, heel, toe in (("left", LEFT_HEEL, LEFT_FOOT_INDEX), ("right", RIGHT_HEEL, RIGHT_FOOT_INDEX)):
        for i in _truth_ics(track.time_s, truth[side]):
            if i - lead_frames < 0:
                continue
            for k in range(i - lead_frames, i):
                d = im[i, heel, 1] - im[k, heel, 1]
                im[k, heel, 1] += d
                im[k, toe, 1] += d
    return track


def _ic_errors(ev, track, truth):
    t = track.time_s
    out = []
    for side in ("left", "right"):
        tic = t[_truth_ics(t, truth[side])]
        for x in ev.initial_contacts_s[side]:
            if tic.size:
                out.append(x - tic[np.argmin(np.abs(tic - x))])
    return np.array(out)


def test_anterior_initial_contact_from_foot_pitch():
    # the heel's image height settles 0.13 s before contact; the foot's pitch (toes highest at
    # heel strike) still marks the contact
    track, truth = make_track(view="anterior", fps=30.0, noise=0.003, foot_pitch=0.06)
    track = _heel_stops_early(track, truth, lead_frames=4)
    ev = detect_gait_events(track)
    err = _ic_errors(ev, track, truth)
    assert err.size >= 14
    assert np.all(np.abs(err) <= 0.04), err
    # the heel marker alone is early by about the settling time
    ev0 = detect_gait_events(track, params=EventParams(pitch_landing="none"))
    assert np.median(_ic_errors(ev0, track, truth)) <= -0.08
    tru = truth_windows(track.time_s, truth)
    f1, _ = score(ev.single_stances, tru)
    assert f1 >= 0.9


def test_pitch_cue_needs_to_repeat_with_the_stride():
    # a toe landmark that is only noise (no stride-periodic pitch) must not move the contacts
    track, truth = make_track(view="anterior", fps=30.0, noise=0.003)
    rng = np.random.default_rng(1)
    for toe in (LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX):
        track.image_xyz[:, toe, 1] += 0.03 * 150.0 * rng.standard_normal(len(track.time_s))
    ev = detect_gait_events(track)
    ev0 = detect_gait_events(track, params=EventParams(pitch_landing="none"))
    for side in ("left", "right"):
        np.testing.assert_allclose(ev.initial_contacts_s[side], ev0.initial_contacts_s[side])


def test_pitch_not_used_from_behind():
    # from behind the forefoot is hidden; a pitch-like toe signal must not change the events
    track, truth = make_track(view="posterior", fps=30.0, noise=0.003, foot_pitch=0.06)
    ev = detect_gait_events(track)
    ev0 = detect_gait_events(track, params=EventParams(pitch_landing="none"))
    for side in ("left", "right"):
        np.testing.assert_allclose(ev.initial_contacts_s[side], ev0.initial_contacts_s[side])


def test_running_landing_after_foot_retraction():
    # the running foot swings past its landing point, is pulled back and pauses before touching
    # down: its forward-most point is ~0.08 s before contact, the contact starts the stance sweep
    track, truth = make_track(fps=60.0, stride_s=0.7, duty=0.36, amp=0.3, noise=0.003, retraction=0.12)
    ev = detect_gait_events(track)
    assert ev.activity == "run"
    err = _ic_errors(ev, track, truth)
    assert np.all(np.abs(err) <= 0.04), err
    assert not np.any(ev.left_contact & ev.right_contact & ev.valid)
    for side in ("left", "right"):
        acc = np.mean(getattr(ev, f"{side}_contact")[ev.valid] == truth[side][ev.valid])
        assert acc >= 0.9
    tru = truth_windows(track.time_s, truth)
    f1, max_start_err = score(ev.single_stances, tru)
    assert f1 >= 0.9
    assert max_start_err <= 0.05


@pytest.mark.parametrize("phase0", [(0.13, 0.63), (0.3, 0.8), (0.45, 0.95)])
def test_walking_windows_at_clip_edges_from_the_other_foot(phase0):
    # walking: S's single stance is the other foot's swing; when S's own contact is cut by the
    # clip's start or end (e.g. at the end: S has landed, its toe-off is after the last frame) the
    # other foot's toe-off and next contact still bound the window (no flight when walking)
    track, truth = make_track(fps=30.0, noise=0.003, phase0=phase0)
    ev = detect_gait_events(track)
    tru = truth_windows(track.time_s, truth)
    f1, _ = score(ev.single_stances, tru)
    assert f1 >= 0.95, (ev.single_stances, tru)


def test_running_window_at_clip_end_from_own_events():
    # running: the stance leg's own contact bounds its window; the other foot's state need not be
    # decided (it is in the air throughout)
    track, truth = make_track(fps=60.0, stride_s=0.7, duty=0.36, amp=0.3, noise=0.003, dur_s=6.0)
    ev = detect_gait_events(track)
    tru = truth_windows(track.time_s, truth)
    f1, _ = score(ev.single_stances, tru)
    assert f1 >= 0.95, (ev.single_stances, tru)


@pytest.mark.parametrize("stride_s, duty, activity", [
    (0.70, 0.36, "run"),   # 171 steps/min with flight phases: cadence and duty factor agree
    (0.85, 0.62, "walk"),  # a brisk walk at 141 steps/min: the cadence alone would call it running
    (0.92, 0.36, "run"),   # a slow jog at 130 steps/min: the cadence alone would call it walking
    (1.10, 0.62, "walk"),  # 109 steps/min with double support
])
def test_walking_or_running_is_decided_by_the_duty_factor(stride_s, duty, activity):
    """Walking has double support (each foot on the ground > half its stride), running flight phases (<
    half): between 120 and 160 steps/min the duty factor of the events found overrules the cadence."""
    track, truth = make_track(fps=60.0, stride_s=stride_s, duty=duty, amp=0.3, noise=0.003)
    ev = detect_gait_events(track)
    assert ev.activity == activity
    f1, _ = score(ev.single_stances, truth_windows(track.time_s, truth))
    assert f1 >= 0.85


@pytest.mark.parametrize("stride_s, dur_s", [(1.0, 1.6), (0.9, 1.6)])
def test_too_few_steps_to_tell_the_gait_say_the_activity_is_unknown(stride_s, dur_s):
    """A slow jog (flight phases) tracked for under two strides, as a far runner only partly found: fewer than 3
    toe-offs give no step frequency, and 3 give one that walking and jogging share (120-160 steps/min) with too
    few contacts for a duty factor. Neither is walking; tracked for longer, the same jog is running."""
    track, _ = make_track(fps=60.0, stride_s=stride_s, duty=0.36, amp=0.3, noise=0.003, dur_s=dur_s)
    assert detect_gait_events(track).activity == "unknown"
    longer, _ = make_track(fps=60.0, stride_s=stride_s, duty=0.36, amp=0.3, noise=0.003, dur_s=4.0)
    assert detect_gait_events(longer).activity == "run"


@pytest.mark.parametrize("view", ["posterior", "anterior"])
def test_steps_do_not_depend_on_how_far_the_person_is(view):
    """The person filmed from twice as far (the image landmarks shrunk by half about the frame's centre) gives
    the same stance windows: the foot signals are in trunk lengths, so only the body's proportions count."""
    from dataclasses import replace

    track, _ = make_track(view=view, fps=30.0, stride_s=1.05, amp=0.3, noise=0.003, foot_pitch=0.06)
    centre = np.array([track.width / 2, track.height / 2, 0.0])
    far = replace(track, image_xyz=centre + 0.5 * (track.image_xyz - centre))
    near_w = [(w.side, w.start_s, w.end_s) for w in detect_gait_events(track, view=view).single_stances]
    far_w = [(w.side, w.start_s, w.end_s) for w in detect_gait_events(far, view=view).single_stances]
    assert len(near_w) >= 6 and far_w == near_w


def test_both_feet_landing_in_one_frame_does_not_break_the_cadence():
    """A tiny runner's feet can both be read as landing in the same frame (seen on a real clip, halved in size): the
    zero-length interval is not a step, and the cadence is that of the others (or unknown), never a crash."""
    from gaitlab.core.events import _cadence_spm

    assert _cadence_spm(np.array([1.0, 1.0, 1.5])) == pytest.approx(120.0)
    assert np.isnan(_cadence_spm(np.array([2.0, 2.0, 2.0])))


def _windows(side, starts, durations):
    return [StanceWindow(side, s, s + d) for s, d in zip(starts, durations)]


def test_a_stance_unlike_its_legs_others_is_left_out():
    # a left stance found with its toe-off late (0.24 s against 0.40-0.42 s) and a right one with a landing late
    # (0.58 s): both out; the other leg's durations do not judge a leg (the right one's 0.30-0.32 s stay)
    left = _windows("left", [0.0, 1.0, 2.0, 3.0, 4.0], [0.40, 0.42, 0.24, 0.41, 0.40])
    right = _windows("right", [0.5, 1.5, 2.5, 3.5], [0.30, 0.32, 0.58, 0.31])
    kept = typical_stances(left + right, frame_s=1 / 30)
    assert [w.start_s for w in kept] == [0.0, 0.5, 1.0, 1.5, 3.0, 3.5, 4.0]


def test_stances_within_the_tolerance_and_a_frame_are_kept():
    frame = 1 / 30
    # 0.40 s median: 30 % of it (0.12 s) and a frame (0.033 s) either way stay, a little more does not
    edge = _windows("left", [0.0, 1.0, 2.0, 3.0], [0.40, 0.40, 0.40, 0.40 + 0.12 + frame - 1e-6])
    assert len(typical_stances(edge, frame)) == 4
    beyond = _windows("left", [0.0, 1.0, 2.0, 3.0], [0.40, 0.40, 0.40, 0.40 - 0.12 - frame - 1e-3])
    assert len(typical_stances(beyond, frame)) == 3


def test_a_leg_with_two_stances_keeps_both():
    # two stances give no median of others to judge by
    two = _windows("left", [0.0, 1.0], [0.40, 0.20])
    assert typical_stances(two, 1 / 30) == two
