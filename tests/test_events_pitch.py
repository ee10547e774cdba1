"""Anterior walking: foot events from the foot's pitch alone, and anatomical sides through label swaps.

Constructed signals with a known answer."""
import numpy as np

from gaitlab.core.events import _pitch_events, detect_gait_events
from gaitlab.core.view import estimate_view, to_anatomical
from tests.synthetic import make_track
from tests.test_events import score, truth_windows


def _pitch(t, stride_s, ph0, duty=0.6, ic_s=None):
    """A walking foot's pitch (+ = toe lower): its highest at toe-off (phase duty), falling through
    the swing to its lowest at heel strike (phase 0, toes up), a foot-flat shoulder at 10 % of the
    cycle (0.5 stride before toe-off, lower than the toe-off peak), a flat stance in between."""
    phase = ((t - ph0 * stride_s) / stride_s) % 1.0
    x = np.full(t.size, 0.12)
    sw = phase >= duty  # swing: from the TO peak (0.30) down to the IC minimum (0.05)
    u = (phase[sw] - duty) / (1 - duty)
    x[sw] = 0.05 + 0.25 * np.cos(np.pi / 2 * u) ** 2
    ld = phase < 0.1  # loading: rolls flat, overshooting to the shoulder (0.17)
    x[ld] = 0.05 + 0.12 * np.sin(np.pi / 2 * phase[ld] / 0.1)
    mid = (phase >= 0.1) & (phase < 0.2)
    x[mid] = 0.17 - 0.05 * (phase[mid] - 0.1) / 0.1
    push = (phase >= 0.4) & (phase < duty)  # heel-off: pitch rises to its toe-off peak
    x[push] = 0.12 + 0.18 * np.sin(np.pi / 2 * (phase[push] - 0.4) / (duty - 0.4))
    return x


def test_pitch_events_find_toe_off_and_heel_strike():
    fps, stride_s, duty = 25.0, 1.3, 0.6
    t = np.arange(int(8 * fps)) / fps
    rng = np.random.default_rng(1)
    p = {sd: _pitch(t, stride_s, ph0) + 0.003 * rng.standard_normal(t.size)
         for sd, ph0 in (("left", 0.1), ("right", 0.6))}
    n = stride_s * fps
    tos = {sd: _pitch_events(p[sd], n, None, fps, 0.12, 0.8)[1] for sd in p}
    for sd, other, ph0 in (("left", "right", 0.1), ("right", "left", 0.6)):
        ic, to, pairs = _pitch_events(p[sd], n, tos[other], fps, 0.12, 0.8)
        k = np.arange(-1, 8)
        true_ic = (k + ph0) * stride_s
        true_to = (k + ph0 + duty) * stride_s
        assert len(to) >= 5 and len(ic) >= 5
        for got, true in ((to, true_to), (ic, true_ic)):
            err = np.array([t[j] - true[np.argmin(np.abs(true - t[j]))] for j in got])
            assert np.all(np.abs(err) <= 1.5 / fps), (sd, err)  # the shoulder never taken for TO
        for a, b in pairs:
            assert 0.5 < (b - a) / n < 0.7  # contact ~60 % of the stride


def test_swapped_labels_keep_anatomical_sides():
    # MediaPipe swaps left/right in a stretch of frames: after to_anatomical the found stances
    # are those of the unswapped track, side for side
    for view in ("posterior", "anterior"):
        clean, truth = make_track(view=view, fps=30.0, noise=0.002)
        mirror = np.zeros(len(clean), bool)
        mirror[90:150] = True  # 2 s swapped, 3-5 s
        mirror[210:225] = True  # and a short flicker
        swapped, _ = make_track(view=view, fps=30.0, noise=0.002, mirror=mirror)
        est = estimate_view(swapped)
        fixed, n = to_anatomical(swapped, est)
        assert n == mirror.sum()
        ev = detect_gait_events(fixed)
        tru = truth_windows(clean.time_s, truth)
        f1, _ = score(ev.single_stances, tru)
        assert f1 >= 0.85, (view, f1)
        # without the correction the stances in the swapped stretch get the wrong sides
        raw = detect_gait_events(swapped)
        f1_raw, _ = score(raw.single_stances, tru)
        assert f1_raw < f1, (view, f1_raw, f1)
