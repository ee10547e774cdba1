"""The pelvis' level on constructed series with a known answer: the band's keyframe chain split where rotation - tilt
steps (split_chain_breaks), and in running the symmetry's level and the flight phases' (flight_level)."""
from dataclasses import replace

import numpy as np
import pytest

from gaitlab.core.analysis import analyze_track
from gaitlab.core.level import MIN_LEVEL_FRAMES, split_chain_breaks
from gaitlab.core.result import WarningCode
from gaitlab.outputs.wording import warning_texts

FPS, STRIDE_S = 60.0, 0.7


def _series(seconds: float = 8.0, seed: int = 0):
    """A running pelvis: obliquity swinging ±6° at the stride, measured by a tilt with 1.5° per-frame noise and a
    band rotation = obliquity + 30° (its keyframe's offset)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / FPS)
    obliquity = 6 * np.sin(2 * np.pi * t / STRIDE_S * 2)
    tilt = obliquity + rng.normal(0, 1.5, t.size)
    return t, obliquity + 30.0, tilt, np.zeros(t.size, int)


def test_a_steady_chain_is_not_split():
    for seed in range(5):
        t, rotation, tilt, ref = _series(seed=seed)
        assert np.array_equal(split_chain_breaks(t, rotation, tilt, ref, STRIDE_S), ref)


def test_a_keyframe_registered_16_degrees_off_starts_a_reference_there():
    t, rotation, tilt, ref = _series()
    broken = (t >= 4.0) & (t < 4.55)  # a later keyframe 16° off, then one right again
    rotation[broken] += 16.0
    out = split_chain_breaks(t, rotation, tilt, ref, STRIDE_S)
    first, second, third = out[t < 3.9], out[(t >= 4.05) & (t < 4.5)], out[t >= 4.6]
    for piece in (first, second, third):
        assert len(set(piece)) == 1 and piece[0] >= 0
    assert len({first[0], second[0], third[0]}) == 3
    # the cuts lie within a few frames of the true breaks
    changes = t[1:][np.diff(out) != 0]
    assert np.allclose(changes, [4.0, 4.55], atol=3 / FPS)


def test_a_piece_too_short_to_level_is_not_measured():
    t, rotation, tilt, ref = _series()
    head = t < (MIN_LEVEL_FRAMES - 5) / FPS  # the clip's first frames on a keyframe 16° off
    rotation[head] += 16.0
    out = split_chain_breaks(t, rotation, tilt, ref, STRIDE_S)
    assert (out[head] == -1).all()
    assert (out[~head][5:] >= 0).all() and len(set(out[~head][5:])) == 1


def test_frames_without_a_reference_stay_without():
    t, rotation, tilt, ref = _series()
    ref[:100] = -1
    rotation[:100] = np.nan
    out = split_chain_breaks(t, rotation, tilt, ref, STRIDE_S)
    assert (out[:100] == -1).all() and (out[100:] == 0).all()


# --- the level's reliability from the band's interior texture (issue 23) ---

def test_texture_reliable_is_the_median_against_the_least_ratio():
    from gaitlab.core.level import MIN_TEXTURE_TO_NOISE_RATIO, texture_reliable
    assert texture_reliable(np.array([0.9, 1.0, 1.1, np.nan])) == (1.0, False)
    snr, ok = texture_reliable(np.array([1.0, 3.0, 3.5, 4.0, 5.0]))
    assert snr == 3.5 and ok
    assert texture_reliable(np.full(3, MIN_TEXTURE_TO_NOISE_RATIO))[1]
    snr, ok = texture_reliable(np.full(4, np.nan))  # a track from before it was measured: trusted as before
    assert np.isnan(snr) and ok


def _with_texture(track, snr):
    from dataclasses import replace
    return replace(track, pelvis_symmetry_texture_snr=np.where(np.isfinite(track.pelvis_symmetry_tilt_deg), snr,
                                                               np.nan))


def _levels_apart(ref, track, events):
    """The whole-stride mean's level of a reference of the track, and a function giving the level and SD a symmetry
    level (with its SD) gets combined with it (as gaitlab.core.level._with_world_cue does)."""
    from gaitlab.core.level import over_whole_strides
    from gaitlab.core.obliquity import reliable_rotation
    from gaitlab.core.uncertainty import FALLBACK_LEVEL_SD_DEG, Z95, stride_s
    rotation = reliable_rotation(track)
    sel = (track.pelvis_pixel_reference == ref) & np.isfinite(rotation)
    mean = over_whole_strides(lambda m: float(np.mean(rotation[m])), track.time_s, sel,
                              stride_s(events.cadence_steps_per_min))

    def combined(level, sd):
        c_sd = FALLBACK_LEVEL_SD_DEG["mean"]
        w = c_sd**2 / (sd**2 + c_sd**2)
        own = np.hypot(w * sd, (1 - w) * c_sd)
        agree = abs(level - mean) <= Z95 * np.hypot(sd, c_sd)
        return w * level + (1 - w) * mean, own if agree else max(own, abs(level - mean) / 2)
    return mean, combined


def test_a_symmetry_level_on_plain_clothing_is_combined_with_the_mean_over_whole_strides():
    """On plain clothing the symmetry is no surer than the mean angle over whole strides (UNRELIABLE_LEVEL_SD_DEG is
    the mean's stated SD): the two are combined by their uncertainties, even where they disagree (here the clothing
    misleads the symmetry by 3°), and where they disagree the level's SD is at least half their difference."""
    from gaitlab.core.events import detect_gait_events
    from gaitlab.core.level import estimate_pelvis_level
    from gaitlab.core.uncertainty import UNRELIABLE_LEVEL_SD_DEG
    from tests.synthetic import make_track
    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    events = detect_gait_events(track, view="posterior")
    good = estimate_pelvis_level(_with_texture(track, 4.0), events, 0.0)
    (ref,) = good.level_sd_deg
    mean, combined = _levels_apart(ref, track, events)
    misled = replace(track, pelvis_symmetry_tilt_deg=track.pelvis_symmetry_tilt_deg - 3.0)
    for tilt_track, sym_level in ((track, good.rotation_at_level_deg[ref]),
                                  (misled, good.rotation_at_level_deg[ref] + 3.0)):
        weak = estimate_pelvis_level(_with_texture(tilt_track, 1.0), events, 0.0)
        assert weak.texture_unreliable[ref] and weak.unreliable_texture_snr() == 1.0
        assert weak.method_by_reference[ref] == "symmetry+mean" and weak.from_symmetry
        level, sd = combined(sym_level, np.hypot(good.level_sd_deg[ref], UNRELIABLE_LEVEL_SD_DEG))
        assert weak.rotation_at_level_deg[ref] == pytest.approx(level, abs=0.02)
        assert weak.level_sd_deg[ref] == pytest.approx(sd, abs=0.02)
        assert min(sym_level, mean) < weak.rotation_at_level_deg[ref] < max(sym_level, mean)
    assert not good.texture_unreliable[ref] and good.unreliable_texture_snr() is None
    assert good.method_by_reference[ref] == "symmetry"  # a symmetry that carries the level is not combined
    assert abs(weak.rotation_at_level_deg[ref] - good.rotation_at_level_deg[ref]) < 2.0  # the 3° halved
    assert weak.level_sd_deg[ref] >= abs(good.rotation_at_level_deg[ref] + 3.0 - mean) / 2 > 1.5  # they disagree


def test_a_symmetry_level_on_a_band_too_few_pixels_tall_gets_the_stated_uncertainty():
    """The same walk with the person shrunk about the hips: the symmetry band's height in pixels is
    2 x SYMMETRY_BAND_HALF_HEIGHT_T x T; under MIN_LEVEL_BAND_PX (~21 px: one pixel tilts it by 2.7°) the level keeps
    its value and gets a pixel's tilt over that height more uncertainty (atan(1 / height)), and the analysis says why
    and what would help."""
    from gaitlab.core.clip import VideoInfo
    from gaitlab.core.events import detect_gait_events
    from gaitlab.core.level import MIN_LEVEL_BAND_PX, SYMMETRY_BAND_HALF_HEIGHT_T, band_height_px, estimate_pelvis_level
    from tests.synthetic import make_track
    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    track = _with_texture(track, 4.0)
    events = detect_gait_events(track, view="posterior")
    hips = np.nanmedian(track.image_xyz[:, [23, 24], :2].mean(axis=1), axis=0)
    full = estimate_pelvis_level(track, events, 0.0)
    (ref,) = full.level_sd_deg
    factor = 0.9 * MIN_LEVEL_BAND_PX / full.band_px[ref]  # just under the least height
    image = track.image_xyz.copy()
    image[:, :, :2] = hips + (image[:, :, :2] - hips) * factor
    small_track = replace(track, image_xyz=image)
    small = estimate_pelvis_level(small_track, events, 0.0)
    every = np.ones(len(track), bool)
    assert full.band_px[ref] == pytest.approx(band_height_px(track, every), rel=0.05)
    assert full.band_px[ref] > 2 * SYMMETRY_BAND_HALF_HEIGHT_T * 100  # the synthetic trunk is ~150 px
    assert not full.band_too_small[ref] and full.too_small_band_px() is None
    assert small.band_too_small[ref] and small.too_small_band_px() == pytest.approx(0.9 * MIN_LEVEL_BAND_PX, rel=0.01)
    one_pixel = np.degrees(np.arctan(1 / small.band_px[ref]))
    assert one_pixel == pytest.approx(2.7 / 0.9, rel=0.01)  # just over the smallest detectable difference
    # the symmetry, a pixel's tilt less sure, combined with the mean over whole strides (as on plain clothing)
    _, combined = _levels_apart(ref, track, events)
    level, sd = combined(full.rotation_at_level_deg[ref], np.hypot(full.level_sd_deg[ref], one_pixel))
    assert small.method_by_reference[ref] == "symmetry+mean"
    assert small.rotation_at_level_deg[ref] == pytest.approx(level, abs=0.02)
    assert small.level_sd_deg[ref] == pytest.approx(sd, abs=0.02)
    a = analyze_track(small_track, VideoInfo("clip.mp4", 30.0, 300, 10.0, 1280, 720, 0, "h264"))
    (w,) = [w for w in a.warnings if w.code == WarningCode.PELVIS_TOO_SMALL]
    text = warning_texts([w])[0]
    assert "too small in the picture" in text and "Film closer" in text
    assert a.steps and all(s.level_fallback and s.level_small_band for s in a.steps)
    from gaitlab.outputs.report import _card
    assert "pelvis level" in _card(a, "left", "5°")["parts"] and "(too few pixels)" in _card(a, "left", "5°")["parts"]
    b = analyze_track(track, VideoInfo("clip.mp4", 30.0, 300, 10.0, 1280, 720, 0, "h264"))
    assert WarningCode.PELVIS_TOO_SMALL not in [w.code for w in b.warnings]
    assert not any(s.level_small_band for s in b.steps)


# ---- running: the symmetry's level and the flight phases' -------------------------------------------------------

def test_the_flight_level_is_the_median_rotation_in_flight_plus_the_roll():
    from gaitlab.core.level import MIN_FLIGHT_PHASES, flight_level
    from gaitlab.core.uncertainty import FALLBACK_LEVEL_SD_DEG

    t = np.arange(600) / 60.0
    flight = (t % 0.35) < 0.08  # a flight phase every step of a run at ~171 steps/min
    rotation = np.where(flight, 12.0, 30.0) + np.random.default_rng(0).normal(0, 0.5, t.size)
    level, sd = flight_level(rotation, flight, roll_deg=2.0)
    assert level == pytest.approx(14.0, abs=0.1)
    assert FALLBACK_LEVEL_SD_DEG["flight"] <= sd < FALLBACK_LEVEL_SD_DEG["flight"] + 0.05  # many phases: the stated
    few = flight & (t < (MIN_FLIGHT_PHASES - 1) * 0.35 - 0.1)  # one phase too few
    assert np.isnan(flight_level(rotation, few, 0.0)[0])


def _run(offset_deg: float, view: str):
    """A constructed run (left hip falls 3° in right stance, right hip 7° in left) whose pelvis is also tilted by
    offset_deg all the time (right hip higher: a leg-length difference), seen by the band and its symmetry alike."""
    from tests.synthetic import make_track
    from tests.test_core import INFO, RUN

    track, _ = make_track(view=view, drops={"left": 3.0, "right": 7.0}, noise=0.002, symmetry_noise_deg=1.0, **RUN)
    s = 1.0 if view == "posterior" else -1.0
    track = replace(track, pelvis_pixel_rotation_deg=track.pelvis_pixel_rotation_deg + s * offset_deg,
                    pelvis_symmetry_tilt_deg=track.pelvis_symmetry_tilt_deg + s * offset_deg)
    return analyze_track(track, INFO)


@pytest.mark.parametrize("view", ["posterior", "anterior"])
def test_a_run_without_a_constant_tilt_combines_the_two_levels(view):
    a = _run(0.0, view)
    assert "and its angle in flight phases, which agree" in a.pelvis_level_method
    assert not [w for w in a.warnings if w.code == WarningCode.LEVEL_CUES_DISAGREE]
    assert a.sides["right"].mean_drop_deg == pytest.approx(7.0, abs=0.5)
    assert a.sides["left"].mean_drop_deg == pytest.approx(3.0, abs=0.5)


@pytest.mark.parametrize("view", ["posterior", "anterior"])
def test_a_constant_pelvic_tilt_is_kept_and_the_disagreement_reported(view):
    """A leg-length difference tilts the pelvis in flight too: the flight phases' level would take it out as if it
    were the camera's; the symmetry sees it, the cues disagree, and the symmetry is kept: the tilt stays in the
    drops (right stance +3°, left stance -3°)."""
    a = _run(3.0, view)
    apart = [w for w in a.warnings if w.code == WarningCode.LEVEL_CUES_DISAGREE]
    assert apart and apart[0].values["difference_deg"] == pytest.approx(3.0, abs=0.6)
    assert "which agree" not in a.pelvis_level_method
    assert a.sides["right"].mean_drop_deg == pytest.approx(7.0 + 3.0, abs=0.5)
    assert a.sides["left"].mean_drop_deg == pytest.approx(3.0 - 3.0, abs=0.5)
    assert "leg-length difference" in " ".join(warning_texts(a.warnings))


# ---- walking without the symmetry: the mean over whole strides ---------------------------------------------------

def test_a_level_is_read_over_whole_strides_and_not_over_part_of_one():
    """A pelvis that drops alike on both sides (level at 30°) averages to its level over any whole number of strides,
    not over part of one: over 1.25 strides the plain mean is off by the unfinished stride's drop."""
    from gaitlab.core.level import over_whole_strides, whole_strides

    stride = 1.1
    t = np.arange(0, 1.25 * stride, 1 / 30)
    phase = 2 * np.pi * t / stride
    rotation = 30.0 + 5.0 * np.maximum(np.sin(2 * phase), 0) * np.sign(np.sin(phase))  # one drop each way a stride
    every = np.ones(t.size, bool)
    assert abs(np.mean(rotation) - 30.0) > 0.5
    assert np.mean(rotation[whole_strides(t, every, stride)]) == pytest.approx(30.0, abs=0.1)
    assert not whole_strides(t, t < 0.45 * stride, stride).any()
    one = t < stride  # frames spanning a stride less one frame interval: one whole stride
    assert np.array_equal(whole_strides(t, one, stride), one)
    later = (t > 0.1) & np.isfinite(rotation)  # counted from the first measured frame
    assert whole_strides(t, later, stride)[t > 0.1].sum() == round(30 * stride)
    back = whole_strides(t, every, stride, from_end=True)  # or back from the last
    assert back.sum() == round(30 * stride) and back[-1] and not back[: t.size - back.sum()].any()
    assert np.mean(rotation[back]) == pytest.approx(30.0, abs=0.1)
    assert over_whole_strides(lambda m: float(np.mean(rotation[m])), t, every, stride) == pytest.approx(30.0, abs=0.1)
    assert np.isnan(over_whole_strides(lambda m: float(np.mean(rotation[m])), t, t < 0.45 * stride, stride))


def test_a_reference_shorter_than_a_stride_without_the_symmetry_is_not_measured():
    """Without the symmetry a walk's level is its mean over whole strides. The band's chain restarting for 0.45 s (a
    keyframe 10° off, its offset unknown) leaves a piece too short for that: its frames are not measured, rather than
    read against the mean of the part of a stance they hold; the rest keeps its drops."""
    from tests.synthetic import make_track
    from tests.test_core import INFO

    track, _ = make_track(drops={"left": 5.0, "right": 5.0})
    short = (track.time_s >= 4.0) & (track.time_s < 4.45)
    reference = np.where(short, 1, track.pelvis_pixel_reference)
    rotation = np.where(short, track.pelvis_pixel_rotation_deg + 10.0, track.pelvis_pixel_rotation_deg)
    a = analyze_track(replace(track, pelvis_pixel_reference=reference, pelvis_pixel_rotation_deg=rotation), INFO)
    assert "over whole strides" in a.pelvis_level_method
    assert np.isnan(a.frames.obliquity_deg[short]).all()
    assert np.isfinite(a.frames.obliquity_deg[~short]).mean() > 0.9
    assert not [s for s in a.steps if s.start_s < 4.45 and s.end_s > 4.0]
    assert all(s.peak_drop_deg == pytest.approx(5.0, abs=0.6) for s in a.steps)
