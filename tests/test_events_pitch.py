"""Anterior walking: foot events from the foot's pitch alone, and anatomical sides through label swaps.

Constructed signals with a known answer."""
import numpy as np
from scipy.signal import find_peaks

from gaitlab.core.clean import lowpass
from gaitlab.core.events import _pitch_events, _toe_offs, detect_gait_events
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


def _guessed_toe(t, stride_s, ph0, duty=0.62, hump=True):
    """A walking toe's backward position as MediaPipe's guess from behind can give it (+ = backward, trunk
    units): planted, it moves back steadily until the toe-off (phase duty), then swings forward fast (a
    half-cosine to the next contact).  hump: from heel-off (phase duty - 0.25) the guess, led by the rising heel,
    stops moving back: it rises a little, drifts forward and comes back up to a lower peak at the toe-off."""
    phase = ((t - ph0 * stride_s) / stride_s) % 1.0
    ho = duty - 0.25
    p_ho = -0.2 + 0.4 * ho / duty
    if hump:
        knots = [(0.0, -0.2), (ho, p_ho), (ho + 0.06, p_ho + 0.03), (ho + 0.16, p_ho - 0.02), (duty, p_ho + 0.01)]
    else:
        knots = [(0.0, -0.2), (duty, 0.2)]
    p = np.interp(phase, *zip(*knots))
    top = knots[-1][1]
    sw = phase >= duty
    p[sw] = top - (top + 0.2) * (1 - np.cos(np.pi * (phase[sw] - duty) / (1 - duty))) / 2
    return p


def test_walking_toe_off_is_the_swing_onset_not_a_heel_off_hump():
    fps, stride_s, duty = 30.0, 1.1, 0.62
    t = np.arange(int(8 * fps)) / fps
    true_to = (np.arange(-1, 9) + 0.1 + duty) * stride_s
    for hump in (True, False):
        p = lowpass(_guessed_toe(t, stride_s, 0.1, duty, hump), t, 8.0)
        peaks, _ = find_peaks(p, distance=int(0.55 * fps), prominence=0.1)
        to = _toe_offs(p, None, t, fps, 0.55, 0.1, running=False)
        err = np.array([t[j] - true_to[np.argmin(np.abs(true_to - t[j]))] for j in to])
        assert len(to) >= 6 and np.all(np.abs(err) <= 1.5 / fps), (hump, err)
        if hump:  # the highest point is the heel-off, well before the toe-off
            err_peak = np.array([t[j] - true_to[np.argmin(np.abs(true_to - t[j]))] for j in peaks])
            assert np.all(err_peak < -0.15), err_peak


def test_one_spurious_toe_maximum_does_not_change_the_stride():
    """The stride both feet walk, from both toes' backward maxima: one foot's extra maximum (a far walker's toe,
    mirrored: 28 frames against 33) would move that foot's own median and with it the lag at which its pitch is
    checked to repeat; pooled with the other foot's, it does not."""
    from gaitlab.core.events import _repeats_with_stride, _stride_samples

    left = np.array([10, 43, 60, 76, 109])  # an extra maximum at 60: own intervals 33, 17, 16, 33 (median 25)
    right = np.array([26, 59, 92, 125, 158])
    assert float(np.median(np.diff(left))) == 25
    assert _stride_samples({"left": left, "right": right}) == 33
    assert _stride_samples({"left": left[:1], "right": right}) is None  # a foot without two maxima
    t = np.arange(200)
    pitch = np.sin(2 * np.pi * t / 33.0) + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    assert _repeats_with_stride(pitch, 33, 0.5)
    assert not _repeats_with_stride(pitch, 25, 0.5)  # checked a quarter stride off, a walking pitch looks random


def _heel_forward(t, stride_s, ph0, duty=0.6, pause=0.08, loading=0.12):
    """A walking heel's forward position filmed from the front (+ = toward the camera = down the image, trunk
    units), heel strike at phase 0: in stance (phase 0 to duty) it rolls down onto the floor over `loading`
    (a fraction of the cycle: the first rocker) and then moves back steadily; in swing it moves forward fast
    and pauses over the last `pause` of the cycle (terminal swing, toes up, reaching the ground)."""
    phase = ((t - ph0 * stride_s) / stride_s) % 1.0
    knots = [(0.0, 0.0), (loading, 0.15), (duty, -0.25), (1.0 - pause, 0.0), (1.0, 0.0)]
    x = np.interp(phase, *zip(*knots))
    sw = (phase >= duty) & (phase < 1.0 - pause)  # the swing's smooth forward motion
    u = (phase[sw] - duty) / (1.0 - pause - duty)
    x[sw] = -0.25 + 0.25 * (1 - np.cos(np.pi * u)) / 2
    return x


def test_heel_loading_onset_marks_the_heel_strike_where_the_pitch_dips_early():
    """A far walker's foot from the front: the pitch is lowest in a one-frame dip ~0.12 s before the heel strike
    and flat within its noise from there to foot flat (as MediaPipe reads a ~40 px foot); the heel's descent
    onto the floor after the pause of terminal swing still marks the heel strike."""
    fps, stride_s, duty = 25.0, 1.36, 0.6
    t = np.arange(int(8 * fps)) / fps
    rng = np.random.default_rng(3)
    n = stride_s * fps
    pitch, fwd, true_ic = {}, {}, {}
    for sd, ph0 in (("left", 0.1), ("right", 0.6)):
        x = _pitch(t, stride_s, ph0)
        phase = ((t - ph0 * stride_s) / stride_s) % 1.0
        x[(phase > 0.9) | (phase < 0.1)] = 0.12  # flat from terminal swing to foot flat
        x[np.abs(phase - (1.0 - 0.12 / stride_s)) < 0.5 / fps / stride_s] = 0.05  # the early one-frame dip
        pitch[sd] = x + 0.003 * rng.standard_normal(t.size)
        heel = lowpass(_heel_forward(t, stride_s, ph0, duty) + 0.003 * rng.standard_normal(t.size), t, 8.0)
        fwd[sd] = np.gradient(heel, t)
        true_ic[sd] = (np.arange(-1, 8) + ph0) * stride_s
    tos = {sd: _pitch_events(pitch[sd], n, None, fps, 0.12, 0.8)[1] for sd in pitch}
    for sd, other in (("left", "right"), ("right", "left")):
        for heel_fwd, most_err_s in ((fwd[sd], 1.5 / fps), (None, None)):
            ic, _, _ = _pitch_events(pitch[sd], n, tos[other], fps, 0.12, 0.8, heel_fwd)
            err = np.array([t[j] - true_ic[sd][np.argmin(np.abs(true_ic[sd] - t[j]))] for j in ic])
            assert len(ic) >= 4
            if heel_fwd is not None:
                assert np.all(np.abs(err) <= most_err_s), (sd, err)
            else:  # the pitch alone takes the dip
                assert np.median(err) < -2.5 / fps, (sd, err)
    # the clip ends 0.2 s after a heel strike: the other foot's toe-off 0.14 s after it is too near the end for its
    # peak to be seen; the last landing is still the heel's loading onset, not the pitch's early dip
    last = true_ic["left"][5]
    cut = int(round((last + 0.2) * fps))
    seen = tos["right"][t[tos["right"]] < last]
    ic, _, _ = _pitch_events(pitch["left"][:cut], n, seen, fps, 0.12, 0.8, fwd["left"][:cut])
    assert abs(t[ic[-1]] - last) <= 1.5 / fps, (t[ic[-1]], last)


def test_stride_from_how_the_toes_repeat_when_several_maxima_are_spurious():
    """A far, small foot gives several spurious toe maxima (a 540p clip: the left toe's first four 14-19 frames
    apart): the maxima's median stride is 28 frames, the toes repeat every 33; the stride is taken where they
    repeat best."""
    from gaitlab.core.events import _stride_samples

    left = np.array([10, 24, 40, 59, 84, 116, 150])
    right = np.array([7, 41, 76, 110, 133])
    assert _stride_samples({"left": left, "right": right}) == 28
    t = np.arange(200)
    rng = np.random.default_rng(2)
    toes = {sd: np.sin(2 * np.pi * (t - ph) / 33.0) + 0.4 * np.sin(4 * np.pi * (t - ph) / 33.0)
            + 0.2 * rng.standard_normal(t.size) for sd, ph in (("left", 0), ("right", 16.5))}
    assert _stride_samples({"left": left, "right": right}, toes) == 33
