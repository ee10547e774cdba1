"""Anterior running: toe-off from the toe's world lift, initial contact from the heel's image low point.

Constructed tracks of running filmed from the front, with flight phases: in the image the swing
foot's lift (heel kicked up behind) raises it exactly as moving away from the camera does, so the
foot's image height keeps rising after toe-off; the world landmarks (metres, hip-centred, y down)
carry the lift itself."""
import numpy as np
import pytest

from gaitlab.core.events import FOOT_CLEARANCE_M, _lift_off, detect_gait_events
from gaitlab.core.track import (
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    LEFT_HIP,
    LEFT_SHOULDER,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    PoseTrack,
)
from tests.test_events import score, truth_windows


def make_anterior_run(fps=60.0, dur_s=8.0, stride_s=0.7, duty=0.35, step_m=0.9, lift_m=0.35,
                      depth_gain=0.3, trunk_m=0.5, trunk_px=150.0, noise_m=0.004, seed=0):
    """Running toward the camera on a treadmill; returns (track, truth contacts, TO times).

    Stance: the foot on the ground moves back linearly by step_m (belt), lift 0.  Swing: it returns
    forward (cosine) while lifting by lift_m, the lift peaking a third into the swing (heel kick).
    Image y (px) = hip + scale * (leg + lift-free perspective term - lift): from the front a foot
    farther away (back) is higher in the image by depth_gain (camera height / distance) per metre,
    and a lifted foot higher by 1 per metre."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(dur_s * fps))) / fps
    n = t.size
    ppm = trunk_px / trunk_m
    img = np.zeros((n, 33, 3))
    world = np.zeros((n, 33, 3))
    hip_y = 400.0 + 0.05 * ppm * np.cos(2 * np.pi * 2 * t / stride_s)  # running bounce, 5 cm
    truth, tos = {}, {}
    for side, ph0, x in (("left", 0.1, 1.0), ("right", 0.6, -1.0)):
        phase = ((t - ph0 * stride_s) / stride_s) % 1.0
        truth[side] = phase < duty
        u = np.clip((phase - duty) / (1 - duty), 0, 1)
        back = np.where(phase < duty, -0.5 + phase / duty, 0.5 - (1 - np.cos(np.pi * u)) / 2) * step_m
        # lift: rises fast from toe-off, peaks at a third of the swing, settles by its end
        lift = np.where(phase < duty, 0.0, lift_m * np.sin(np.pi * np.minimum(u / 0.66, 1.0)) ** 2)
        lift = np.where((phase >= duty) & (u >= 0.33), lift_m * np.cos(np.pi / 2 * (u - 0.33) / 0.67) ** 2, lift)
        leg_m = 0.85
        for idx, dy_m in ((LEFT_HEEL if side == "left" else RIGHT_HEEL, 0.0),
                          (LEFT_FOOT_INDEX if side == "left" else RIGHT_FOOT_INDEX, 0.03)):
            y_m = leg_m + dy_m - depth_gain * back - lift
            img[:, idx, 0] = 640 + x * 0.12 * ppm
            img[:, idx, 1] = hip_y + ppm * y_m + ppm * noise_m * rng.standard_normal(n)
            world[:, idx, 1] = leg_m + dy_m - lift + noise_m * rng.standard_normal(n)
            world[:, idx, 2] = back
        starts = np.flatnonzero(np.diff(truth[side].astype(int)) == -1) + 1
        tos[side] = t[starts]
    for idx, x in ((LEFT_HIP, 1.0), (RIGHT_HIP, -1.0)):
        img[:, idx, 0] = 640 + x * 0.1 * ppm
        img[:, idx, 1] = hip_y
    for idx, x in ((LEFT_SHOULDER, 1.0), (RIGHT_SHOULDER, -1.0)):
        img[:, idx, 0] = 640 + x * 0.18 * ppm
        img[:, idx, 1] = hip_y - trunk_px
        world[:, idx, 1] = -trunk_m
    vis = np.ones((n, 33))
    track = PoseTrack(time_s=t, image_xyz=img, world_xyz=world, visibility=vis, presence=vis.copy(),
                      width=1280, height=720)
    return track, truth, tos


def test_construction_defeats_the_image_extremum():
    # the premise: the toe's highest image point (its "backward" maximum from the front) lags the
    # toe-off by far more than a frame, because the lift keeps raising it
    track, truth, tos = make_anterior_run(noise_m=0.0)
    y = track.image_xyz[:, LEFT_FOOT_INDEX, 1] - track.image_xyz[:, LEFT_HIP, 1]
    t = track.time_s
    k = np.flatnonzero((t > tos["left"][2]) & (t < tos["left"][2] + 0.5))
    assert t[k[np.argmin(y[k])]] - tos["left"][2] > 0.1


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
@pytest.mark.parametrize("stride_s,duty", [(0.7, 0.35), (0.8, 0.42), (0.62, 0.3)])
def test_anterior_running_windows(fps, stride_s, duty):
    track, truth, tos = make_anterior_run(fps=fps, stride_s=stride_s, duty=duty)
    ev = detect_gait_events(track, view="anterior")
    assert ev.activity == "run"
    assert not np.any(ev.left_contact & ev.right_contact & ev.valid)  # flight, no double support
    tru = truth_windows(track.time_s, truth)
    f1, max_start_err = score(ev.single_stances, tru)
    assert f1 >= 0.9, (f1, ev.single_stances, tru)
    frame = 1.0 / fps
    for side in ("left", "right"):
        found = ev.toe_offs_s[side]
        assert found.size >= 0.8 * tos[side].size
        err = np.array([f - tos[side][np.argmin(np.abs(tos[side] - f))] for f in found])
        assert np.all(np.abs(err) <= max(0.035, 1.5 * frame)), (side, err)
        # duty factor of the contacts found: < 0.5 in running
        durs = [w.duration_s for w in ev.single_stances if w.side == side]
        assert abs(np.median(durs) - duty * stride_s) <= max(0.05, 2 * frame)


def test_lift_off_from_rest_and_clearance():
    fs = 60.0
    t = np.arange(120) / fs
    t0 = 1.0  # toe leaves the ground here, rising at 2 m/s
    h = np.where(t < t0, 0.0, 2.0 * (t - t0))
    v = np.gradient(h, t)
    j = _lift_off(h, v, 0, len(t))
    # the last frame before the toe is FOOT_CLEARANCE_M up: at most clearance / speed after t0
    assert t0 - 1 / fs <= t[j] <= t0 + FOOT_CLEARANCE_M / 2.0
    # a lift whose rest is cut off by the window start is not reported
    assert _lift_off(h, v, int(t0 * fs) + 2, len(t)) is None
    # no lift at all
    assert _lift_off(np.zeros(50), np.zeros(50), 0, 50) is None


def test_posterior_running_does_not_use_the_lift():
    # from behind the lift raises the foot in the image while moving back lowers it: the image shows
    # TO as an extremum and the world lift is not read (posterior behaviour unchanged)
    from tests.synthetic import make_track
    track, truth = make_track(fps=60.0, stride_s=0.7, duty=0.36, amp=0.3, noise=0.003)
    ev = detect_gait_events(track, view="posterior")
    tru = truth_windows(track.time_s, truth)
    f1, _ = score(ev.single_stances, tru)
    assert f1 >= 0.85
