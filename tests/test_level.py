"""The band's keyframe chain split where rotation - tilt steps (gaitlab.core.level.split_chain_breaks), on constructed
series with a known answer."""
import numpy as np
import pytest

from gaitlab.core.level import MIN_LEVEL_FRAMES, split_chain_breaks

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


def test_a_symmetry_level_on_plain_clothing_gets_the_stated_uncertainty():
    from gaitlab.core.events import detect_gait_events
    from gaitlab.core.level import estimate_pelvis_level
    from gaitlab.core.uncertainty import UNRELIABLE_LEVEL_SD_DEG
    from tests.synthetic import make_track
    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    events = detect_gait_events(track, view="posterior")
    good = estimate_pelvis_level(_with_texture(track, 4.0), events, 0.0)
    weak = estimate_pelvis_level(_with_texture(track, 1.0), events, 0.0)
    (ref,) = good.level_sd_deg
    assert not good.texture_unreliable[ref] and good.unreliable_texture_snr() is None
    assert weak.texture_unreliable[ref] and weak.unreliable_texture_snr() == 1.0
    assert weak.rotation_at_level_deg == good.rotation_at_level_deg  # the same level, only less sure
    assert weak.level_sd_deg[ref] == pytest.approx(np.hypot(good.level_sd_deg[ref], UNRELIABLE_LEVEL_SD_DEG))
