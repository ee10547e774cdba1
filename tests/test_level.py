"""The band's keyframe chain split where rotation - tilt steps (gaitlab.core.level.split_chain_breaks), on constructed
series with a known answer."""
import numpy as np

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
