"""PelvisSymmetry and rotation_at_level on constructed frames with known tilts."""
import cv2
import numpy as np
import pytest

from gaitlab.core.level import rotation_at_level
from gaitlab.measure.geometry import PelvisBand
from gaitlab.measure.symmetry import PelvisSymmetry

H, W = 720, 1280
TORSO_PX = 200.0  # hip-midpoint to shoulder-midpoint distance


def _symmetric_pelvis(seed: int, size: int = 1400) -> np.ndarray:
    """Mirror-symmetric "pelvis" about the vertical line through the centre: cloth-like random
    texture made symmetric, a dark pants region with a curved waistband and hip outlines, on a
    lighter background."""
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 3.0)
    t = (t + t[:, ::-1]) / 2
    t = t / t.std() * 15
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    x = np.abs(xx - c)
    # waistband ~45 px above the hips, dipping toward the midline; hip outline ~75 px out, widening down
    pants = (yy > c - 45 + 0.002 * (x**2) / 2) & (x < 75 + 0.25 * np.clip(yy - c + 45, 0, None))
    base = np.where(pants, 70.0, 150.0).astype(np.float32)
    return cv2.GaussianBlur(base, (0, 0), 1.5) + t


def _frame(tex, angle_deg, centre=(640, 380), noise=2.0, rng=None, hip_offset_px=0.0, light=0.0, clutter=False):
    """tex rotated CCW on screen by angle_deg about its centre, which lands on `centre`; landmarks
    follow the same transform (the hip midpoint displaced by hip_offset_px along the hip line, as a
    landmark error). light: grey-level ramp across the frame's width (one-sided illumination).
    clutter: an asymmetric bright object over the image-right part of the band."""
    rng = rng or np.random.default_rng(0)
    c = np.array(tex.shape[::-1]) / 2
    m = cv2.getRotationMatrix2D(tuple(c), angle_deg, 1.0)
    m[:, 2] += np.asarray(centre) - c
    img = cv2.warpAffine(tex, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    xyz = np.full((33, 3), np.nan)
    body = {23: (-40 + hip_offset_px, 0), 24: (40 + hip_offset_px, 0), 11: (-90, -TORSO_PX), 12: (90, -TORSO_PX)}
    for k, (dx, dy) in body.items():
        xyz[k, :2] = m[:, :2] @ (c + (dx, dy)) + m[:, 2]
        xyz[k, 2] = 0
    if light:
        img = img + np.linspace(-light / 2, light / 2, W, dtype=np.float32)[None, :]
    if clutter:  # an object on one side only (phone, wallet): (grey level, width px, height px)
        grey, cw, ch = clutter
        x0, y0 = int(centre[0] + 20), int(centre[1] - 30)
        img[y0 : y0 + ch, x0 : x0 + cw] = grey
    img = img + rng.normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), xyz, np.ones(33)


@pytest.mark.parametrize("angle", [-10.0, -4.0, 0.0, 2.5, 7.0])
def test_tilt_of_rotated_symmetric_pelvis(angle):
    sym = PelvisSymmetry()
    tilt, q = sym.update(*_frame(_symmetric_pelvis(1), angle))
    assert tilt == pytest.approx(angle, abs=0.3)  # positive = CCW on screen, as PelvisBandTracker
    assert q > 0.5


def test_following_frames_searches_near_the_last_tilt_and_recovers_from_a_jump():
    """One instance over consecutive frames (its coarse search then covers only the tilts near the last one)
    measures what a fresh instance measures on each frame while the tilt changes by a few degrees a frame;
    after an impossible jump (28° in a frame) it is right again within full_search_every frames."""
    pelvis = _symmetric_pelvis(1)
    followed = PelvisSymmetry()
    for angle in (0.0, 2.0, 5.0, 8.0, 11.0, 14.0, 16.0):
        frame = _frame(pelvis, angle)
        tilt, _ = followed.update(*frame)
        assert tilt == pytest.approx(PelvisSymmetry().update(*frame)[0], abs=0.02)
        assert tilt == pytest.approx(angle, abs=0.3)
    jumped = _frame(pelvis, -12.0)
    tilts = [followed.update(*jumped)[0] for _ in range(followed.full_search_every)]
    assert tilts[-1] == pytest.approx(-12.0, abs=0.3)


def test_hip_landmark_off_the_midline():
    """MediaPipe's hip midpoint is often a few cm off the body's midline: the mirror shift absorbs it."""
    sym = PelvisSymmetry()
    tilt, _ = sym.update(*_frame(_symmetric_pelvis(2), 5.0, hip_offset_px=12.0))
    assert tilt == pytest.approx(5.0, abs=0.4)


@pytest.mark.parametrize("angle", [0.0, 6.0])
@pytest.mark.parametrize("offset", [-10.0, 0.0, 12.0])
def test_where_the_mirror_axis_lies_against_the_hip_landmarks(angle, offset):
    """The hip midpoint put `offset` image pixels along the hip line from the body's midline: the axis is found that
    far the other way, in patch pixels (px_per_t a T), at any tilt."""
    sym = PelvisSymmetry()
    sym.update(*_frame(_symmetric_pelvis(2), angle, hip_offset_px=offset))
    assert sym.axis_offset_px == pytest.approx(-offset * sym.shape.px_per_t / TORSO_PX, abs=0.5)
    sym.update(np.zeros((H, W), np.uint8), np.full((33, 3), np.nan), np.zeros(33))
    assert np.isnan(sym.axis_offset_px)


def test_one_sided_illumination_does_not_bias():
    """A 60-grey-level ramp across the frame (light from one side) is not mirror-symmetric; the
    contrast normalisation removes it."""
    sym = PelvisSymmetry()
    tilt, _ = sym.update(*_frame(_symmetric_pelvis(3), -3.0, light=60.0))
    assert tilt == pytest.approx(-3.0, abs=0.4)


@pytest.mark.parametrize("clutter", [(110.0, 40, 30), (230.0, 20, 15)])
def test_asymmetric_clutter_has_bounded_bias(clutter):
    """A mid-grey object covering ~10 % of the band, or a white one covering ~2.5 %, on one side:
    the outlier rejection keeps the bias small. (Known limit, not tested: a saturated object over
    ~10 % of the band captures the registration and biases the tilt by several degrees.)"""
    sym = PelvisSymmetry()
    for angle in (-6.0, 0.0, 6.0):
        tilt, q = sym.update(*_frame(_symmetric_pelvis(4), angle, clutter=clutter))
        assert np.isfinite(tilt) and abs(tilt - angle) < 0.5
        assert q > 0.2


def test_hands_over_most_of_the_band_leave_it_measured():
    """Hands hanging beside the hips at one phase of each stride cover the band's outer parts: with the part
    unmasked in the band and its mirror image between a quarter and a half of it, the tilt is still read (a half
    lost such frames at that phase only, and the level leaned toward the other phases)."""
    for angle in (-5.0, 0.0, 5.0):
        img, xyz, vis = _frame(_symmetric_pelvis(1), angle)
        hip = xyz[[23, 24], :2].mean(axis=0)
        for elbow, wrist, knuckles, side in ((13, 15, (17, 19, 21), -1), (14, 16, (18, 20, 22), 1)):
            x = hip[0] + side * 0.20 * TORSO_PX  # the forearms over the band's outer parts, hanging straight
            xyz[elbow, :2], xyz[wrist, :2] = (x, hip[1] - 0.6 * TORSO_PX), (x, hip[1] + 0.1 * TORSO_PX)
            xyz[list(knuckles), :2] = (x, hip[1] + 0.3 * TORSO_PX)
        sym = PelvisSymmetry()
        band = PelvisBand.locate(sym.shape, xyz)
        m = sym._m
        valid = band.mask()[m:-m, m:-m] > 0
        assert 0.25 < (valid & valid[:, ::-1]).mean() < 0.5
        tilt, q = sym.update(img, xyz, vis)
        assert tilt == pytest.approx(angle, abs=0.3)
        assert q > 0.2


def test_no_person_gives_nan():
    sym = PelvisSymmetry()
    tilt, q = sym.update(np.full((H, W), 128, np.uint8), np.full((33, 3), np.nan), np.zeros(33))
    assert np.isnan(tilt) and q == 0.0


def test_flat_band_gives_nan_or_low_quality():
    sym = PelvisSymmetry()
    flat = np.full((1400, 1400), 128.0, np.float32)
    tilt, q = sym.update(*_frame(flat, 3.0, noise=0.0))
    assert np.isnan(tilt) or q < 0.25


def test_rotation_at_level_recovers_offset_despite_outliers():
    rng = np.random.default_rng(5)
    n = 400
    truth = 6.0 * np.sin(np.arange(n) * 2 * np.pi / 33) + 1.5  # image obliquity (screen convention)
    r_level = -3.7
    rotation = truth + r_level + rng.normal(0, 0.1, n)  # tracker rotation: chain offset, low noise
    tilt = truth + rng.normal(0, 1.5, n)  # symmetry tilt: absolute, noisy
    bad = rng.random(n) < 0.15
    tilt[bad] = rng.uniform(-25, 25, bad.sum())  # failed registrations
    tilt[:30] = np.nan
    est, spread, frames = rotation_at_level(rotation, tilt, np.where(bad, 0.3, 0.9))
    assert est == pytest.approx(r_level, abs=0.3)
    assert frames == n - 30 and 1.0 < spread < 3.0


def test_rotation_at_level_needs_frames():
    est, _, frames = rotation_at_level(np.zeros(10), np.zeros(10))
    assert np.isnan(est) and frames == 10


def test_rgb_frame_reads_like_its_grey_conversion():
    grey, xyz, vis = _frame(_symmetric_pelvis(2), 3.0)
    rgb = np.clip(grey[..., None] * np.array([0.7, 1.0, 1.2]), 0, 255).astype(np.uint8)
    expected = PelvisSymmetry().update(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), xyz, vis)
    assert PelvisSymmetry().update(rgb, xyz, vis) == expected
    assert expected[0] == pytest.approx(3.0, abs=0.3)


def test_pipeline_region_reads_like_the_whole_frame():
    """The pipeline hands the measures only the region they read (with shifted landmarks): same numbers."""
    from gaitlab.measure.band import PelvisBandTracker
    from gaitlab.tracking.pipeline import pelvis_region

    tex = _symmetric_pelvis(4)
    whole = (PelvisBandTracker(), PelvisSymmetry())
    cropped = (PelvisBandTracker(), PelvisSymmetry())
    for angle, centre in ((0.0, (640, 380)), (3.0, (655, 372)), (-2.0, (120, 700))):  # the last at the frame's edge
        grey, xyz, vis = _frame(tex, angle, centre=centre)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        region, shifted = pelvis_region(rgb, xyz, cropped)
        assert region.shape[0] * region.shape[1] < 0.25 * grey.size
        for a, b in zip(whole, cropped):
            assert b.update(region, shifted, vis) == pytest.approx(a.update(grey, xyz, vis), abs=1e-9)
    assert pelvis_region(rgb, np.full((33, 3), np.nan), cropped) is None


def test_coloured_band_is_matched_on_chroma_under_one_sided_light():
    """A symmetric pelvis whose garments differ in colour, lit from one side (shading scales the three
    channels alike): the chroma match reads the tilt."""
    tex = _symmetric_pelvis(3)
    size = tex.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    x = np.abs(xx - size / 2)
    pants = (yy > size / 2 - 45 + 0.001 * x**2) & (x < 75 + 0.25 * np.clip(yy - size / 2 + 45, 0, None))
    tint = np.where(pants[..., None], (0.8, 0.9, 1.3), (1.2, 1.0, 0.8)).astype(np.float32)
    for angle in (-4.0, 2.5):
        grey, xyz, vis = _frame(tex, angle, noise=0.0)
        shade = np.linspace(0.6, 1.2, W, dtype=np.float32)[None, :, None]
        rgb = np.clip(grey[..., None] * shade * cv2.warpAffine(
            tint, _rotation(tex, angle), (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT), 0, 255)
        tilt, q = PelvisSymmetry().update(rgb.astype(np.uint8), xyz, vis)
        assert tilt == pytest.approx(angle, abs=0.3)
        assert q > 0.3


def _rotation(tex, angle_deg, centre=(640, 380)):
    c = np.array(tex.shape[::-1]) / 2
    m = cv2.getRotationMatrix2D(tuple(c), angle_deg, 1.0)
    m[:, 2] += np.asarray(centre) - c
    return m


# --- whether the band's texture can carry the level (interior_texture_snr, gaitlab.core.level) ---

def _plain_dark_pelvis(size: int = 1400, shade: float = 0.0) -> np.ndarray:
    """The mirror-symmetric pelvis of _symmetric_pelvis without its cloth texture: near-black plain trousers and
    top (grey 20, the waistband invisible) against a light background; shade: a smooth grey-level bump over the
    image-right buttock only (light from one side), at most `shade` levels, ~10 cm wide."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    x = np.abs(xx - c)
    body = x < 75 + 0.25 * np.clip(yy - c + 45, 0, None)
    img = cv2.GaussianBlur(np.where(body, 20.0, 150.0).astype(np.float32), (0, 0), 1.5)
    if shade:
        img = img + shade * np.exp(-((xx - c - 40) ** 2 + (yy - c - 10) ** 2) / (2 * 25.0**2)) * body
    return img


def _snr(img: np.ndarray, angle: float = 2.0, noise: float = 1.0) -> float:
    sym = PelvisSymmetry()
    sym.update(*_frame(img, angle, noise=noise))
    return sym.texture_snr


@pytest.mark.parametrize("noise", [0.5, 2.0, 4.0])
def test_plain_dark_band_with_noise_is_unreliable(noise):
    """Dark plain clothing: the interior is noise only, texture over noise ~1, below the least a level needs."""
    from gaitlab.core.level import MIN_TEXTURE_TO_NOISE_RATIO
    assert _snr(_plain_dark_pelvis(), noise=noise) < MIN_TEXTURE_TO_NOISE_RATIO


@pytest.mark.parametrize("noise", [0.5, 2.0, 4.0])
def test_textured_band_is_reliable(noise):
    """Cloth texture of SD ~15 levels (and a waistband): well above the noise, also at 4 levels of sensor noise."""
    from gaitlab.core.level import MIN_TEXTURE_TO_NOISE_RATIO
    assert _snr(_symmetric_pelvis(6), noise=noise) > MIN_TEXTURE_TO_NOISE_RATIO


def test_one_sided_shading_is_not_texture():
    """A 30-level smooth highlight on one buttock (light from one side) does not make a plain band reliable (the
    local mean at the contrast scale takes it out), nor a textured one unreliable."""
    from gaitlab.core.level import MIN_TEXTURE_TO_NOISE_RATIO
    assert _snr(_plain_dark_pelvis(shade=30.0)) < MIN_TEXTURE_TO_NOISE_RATIO
    shaded = _symmetric_pelvis(7) + 0.0
    yy, xx = np.mgrid[0 : shaded.shape[0], 0 : shaded.shape[1]].astype(np.float32)
    shaded += 30.0 * np.exp(-((xx - 740) ** 2 + (yy - 710) ** 2) / (2 * 25.0**2))
    assert _snr(shaded) > MIN_TEXTURE_TO_NOISE_RATIO


def test_noise_is_read_from_the_band_not_assumed():
    """Sensor noise above the floor the normalisation assumes is measured: the same faint texture (SD ~6 levels)
    reads as reliable at 1 level of noise and as unreliable at 8."""
    from gaitlab.core.level import MIN_TEXTURE_TO_NOISE_RATIO
    faint = _plain_dark_pelvis() + (_symmetric_pelvis(8) - cv2.GaussianBlur(_symmetric_pelvis(8), (0, 0), 20)) * 0.4
    assert _snr(faint, noise=1.0) > MIN_TEXTURE_TO_NOISE_RATIO > _snr(faint, noise=8.0)


def test_no_band_has_no_texture_value():
    sym = PelvisSymmetry()
    sym.update(np.full((H, W), 128, np.uint8), np.full((33, 3), np.nan), np.zeros(33))
    assert np.isnan(sym.texture_snr)
