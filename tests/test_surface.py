"""benchmarks/surface.py on constructed patches: a band turned as one body reads its turn in every region."""
import cv2
import numpy as np
import pytest

from benchmarks.surface import region_gains, region_tilts
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


def test_each_region_is_scored_against_the_image_obliquity_in_each_stance():
    t = np.arange(0, 4, 1 / 30)
    image = 6.0 * np.sin(2 * np.pi * t)  # right hip higher in right stance (the first half of each second)
    steps = [{"stance_side": "right" if k % 2 == 0 else "left", "start_s": k / 2 + 0.05, "end_s": k / 2 + 0.45,
              "peak_drop_deg": 6.0} for k in range(8)]
    # the world obliquity (here half the picture's) is not what a region of the picture is scored against
    truth = {"steps": steps, "frames_truth": {"time_s": list(t), "obliquity_deg": list(0.5 * image),
                                              "image_obliquity_deg": list(image)}}
    left_stance = (t % 1) > 0.5
    tilts = np.stack([np.where(left_stance, 0.6, 1.0) * image + 0.8, image - 2.0], axis=1)
    np.testing.assert_allclose(region_gains(tilts, t, truth), [[0.6, 1.0], [1.0, 1.0]], atol=0.01)
