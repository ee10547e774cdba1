"""benchmarks/surface.py on constructed patches: a band turned as one body reads its turn in every region."""
import cv2
import numpy as np
import pytest

from benchmarks.surface import region_tilts, stance_gain_pairs
from gaitlab.measure.geometry import BandShape

SHAPE = BandShape().widened(0.12)
TURNS_DEG = (0.0, 2.0, -3.0, 4.0)  # counter-clockwise on screen; the first frame is the reference


def _turned_patches() -> list[np.ndarray]:
    """A cloth-like texture (band-limited noise) turned about the hip midpoint by each of TURNS_DEG."""
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (400, 400)).astype(np.float32), (0, 0), 2.0)
    texture = np.clip(texture / texture.std() * 30 + 128, 0, 255)
    hip = (200.0, 200.0)
    x0, y0 = hip[0] - SHAPE.hip_px[0], hip[1] - SHAPE.hip_px[1]
    patches = []
    for turn in TURNS_DEG:
        m = cv2.getRotationMatrix2D(hip, turn, 1.0)
        m[:, 2] -= (x0, y0)  # crop the band around the hip midpoint
        patches.append(cv2.warpAffine(texture, m, (SHAPE.width_px, SHAPE.height_px)).astype(np.uint8))
    return patches


@pytest.mark.parametrize("from_behind", [True, False])
def test_every_region_of_a_rigidly_turned_band_reads_the_turn(from_behind):
    pairs, columns = region_tilts(_turned_patches(), SHAPE, 0, from_behind)
    sign = 1.0 if from_behind else -1.0  # from in front the person's right is on the image left
    for frame, turn in enumerate(TURNS_DEG):
        for tilts in (pairs[frame].ravel(), columns[frame]):
            assert np.median(tilts) == pytest.approx(sign * turn, abs=0.15)
            assert np.quantile(np.abs(tilts - sign * turn), 0.9) < 0.5


def test_stance_gains_tell_a_stance_read_short_from_an_offset():
    t = np.linspace(0, 10, 301)
    obliquity = 6 * np.sin(2 * np.pi * t / 1.1)
    stance = {"left": obliquity < -1, "right": obliquity > 1}
    tilt = np.where(stance["left"], 0.6 * obliquity, obliquity) + 0.8
    tilts = np.stack([tilt, obliquity - 2.0], axis=1)  # two regions: one reads left stances short, one is offset
    gains = stance_gain_pairs(tilts, obliquity, stance)
    np.testing.assert_allclose(gains, [[0.6, 1.0], [1.0, 1.0]], atol=1e-9)
