"""PelvisBandTracker on constructed frames with known rotations."""
import cv2
import numpy as np
import pytest

from gaitlab.measure.band import PelvisBandTracker
from gaitlab.measure.geometry import facing_away

H, W = 720, 1280
TORSO_PX = 200.0  # hip-midpoint to shoulder-midpoint distance at scale 1


def _texture(seed: int, size: int = 1400) -> np.ndarray:
    """Cloth-like random texture: band-limited noise, ~30 grey levels std."""
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 3.0)
    return t / t.std() * 30 + 128


def _frame(tex, angle_deg, scale, centre, noise, rng, hand=None, size=(H, W)):
    """Texture rotated CCW on screen by angle_deg and scaled about its centre, which lands on
    `centre` (the hip midpoint); landmarks follow the same similarity transform."""
    c = np.array(tex.shape[::-1]) / 2
    m = cv2.getRotationMatrix2D(tuple(c), angle_deg, scale)
    m[:, 2] += np.asarray(centre) - c
    img = cv2.warpAffine(tex, m, size[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    xyz = np.full((33, 3), np.nan)
    body = {23: (-40, 0), 24: (40, 0), 11: (-90, -TORSO_PX), 12: (90, -TORSO_PX)}
    for k, (dx, dy) in body.items():
        xyz[k, :2] = m[:, :2] @ (c + (dx, dy)) + m[:, 2]
        xyz[k, 2] = 0
    if hand is not None:  # a bright hand over the band, with its landmarks
        wrist = np.asarray(hand, float)
        cv2.circle(img, tuple(int(v) for v in wrist + (0, 25)), int(30 * scale), 255.0, -1)
        xyz[15, :2], xyz[13, :2] = wrist, wrist - (0, 120 * scale)
        xyz[[17, 19, 21], :2] = wrist + (0, 40 * scale)
    img = img + rng.normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), xyz, np.ones(33)


def test_sign_and_magnitude_of_single_rotations():
    rng = np.random.default_rng(0)
    tex = _texture(1)
    for angle in (-8.0, -3.0, 1.0, 5.0, 10.0):
        trk = PelvisBandTracker()
        rot0, q0 = trk.update(*_frame(tex, 0.0, 1.0, (640, 380), 2.0, rng))
        assert rot0 == 0.0 and q0 > 0.5
        rot, q = trk.update(*_frame(tex, angle, 1.0, (652, 371), 2.0, rng))
        assert rot == pytest.approx(angle, abs=0.3)  # positive = CCW on screen
        assert q > 0.5


def test_rotation_through_translation_and_shrinking_subject():
    """Walking away: the subject drifts and shrinks to 55 %, the pelvis rocks ±6 deg."""
    rng = np.random.default_rng(2)
    tex = _texture(3)
    trk = PelvisBandTracker()
    errors = []
    n = 120
    for i in range(n):
        angle = 6.0 * np.sin(2 * np.pi * i / 30)
        scale = 1.0 - 0.45 * i / (n - 1)
        centre = (640 + 80 * np.sin(i / 17), 400 - 60 * i / n)
        rot, q = trk.update(*_frame(tex, angle, scale, centre, 3.0, rng))
        assert q > 0.3
        errors.append(rot - angle)
    assert np.max(np.abs(errors)) < 0.3


def test_4k_frame_and_fine_scale():
    rng = np.random.default_rng(4)
    tex = _texture(5, size=2600)
    trk = PelvisBandTracker()
    for angle in (0.0, -4.0):
        rot, _ = trk.update(*_frame(tex, angle, 2.5, (1900, 1100), 2.0, rng, size=(2160, 3840)))
    assert rot == pytest.approx(-4.0, abs=0.3)


def test_hand_over_band_is_masked():
    rng = np.random.default_rng(6)
    tex = _texture(7)
    trk = PelvisBandTracker()
    trk.update(*_frame(tex, 0.0, 1.0, (640, 380), 2.0, rng, hand=(570, 380)))
    rot, _ = trk.update(*_frame(tex, 4.0, 1.0, (640, 380), 2.0, rng, hand=(700, 360)))
    assert rot == pytest.approx(4.0, abs=0.3)


def test_no_person_gives_nan_and_zero_quality():
    trk = PelvisBandTracker()
    gray = np.full((H, W), 128, np.uint8)
    rot, q = trk.update(gray, np.full((33, 3), np.nan), np.zeros(33))
    assert np.isnan(rot) and q == 0.0


def test_person_lost_then_found_keeps_measuring():
    rng = np.random.default_rng(8)
    tex = _texture(9)
    trk = PelvisBandTracker()
    trk.update(*_frame(tex, 0.0, 1.0, (640, 380), 2.0, rng))
    rot, q = trk.update(np.zeros((H, W), np.uint8), np.full((33, 3), np.nan), np.zeros(33))
    assert np.isnan(rot) and q == 0.0
    rot, q = trk.update(*_frame(tex, 3.0, 1.0, (630, 390), 2.0, rng))
    assert rot == pytest.approx(3.0, abs=0.3) and q > 0.5


def test_low_texture_band_has_low_quality():
    rng = np.random.default_rng(10)
    flat = np.full((1400, 1400), 128.0, np.float32)
    trk = PelvisBandTracker()
    qs = [trk.update(*_frame(flat, a, 1.0, (640, 380), 0.4, rng))[1] for a in (0.0, 2.0, 4.0)]
    assert max(qs) < 0.25


def _waist_strained_frame(tex, angle_deg, strain, centre, noise, rng, from_behind=True):
    """The texture rotated CCW on screen by angle_deg about `centre` (the hip midpoint), except that
    above the hips the soft tissue takes up part of the side-bend: there horizontal lines tilt by
    only (1 - strain * s) * angle, s rising from 0 at the hip level to 1 at the band top (0.22 T above)
    and beyond, while vertical lines keep the full angle. Landmarks as in _frame (mirrored from in
    front: the person's right hip then on the image left)."""
    a = np.deg2rad(angle_deg)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    x, y = xs - centre[0], ys - centre[1]
    s = np.clip(-y / (0.22 * TORSO_PX), 0.0, 1.0)
    y = y - strain * a * x * s  # undo the waist's extra vertical shift (v = +strain * a * x * s) ...
    c = np.array(tex.shape[::-1], np.float32) / 2
    map_x = c[0] + np.cos(a) * x - np.sin(a) * y  # ... then the rigid rotation
    map_y = c[1] + np.sin(a) * x + np.cos(a) * y
    img = cv2.remap(tex, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT)
    img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    m = cv2.getRotationMatrix2D((0.0, 0.0), angle_deg, 1.0)
    side = 1.0 if from_behind else -1.0
    xyz = np.full((33, 3), np.nan)
    for k, (dx, dy) in {23: (-40 * side, 0), 24: (40 * side, 0), 11: (-90 * side, -TORSO_PX),
                        12: (90 * side, -TORSO_PX)}.items():
        xyz[k, :2] = m[:, :2] @ (dx, dy) + centre
        xyz[k, 2] = 0
    return img, xyz, np.ones(33)


def _waistband_texture(seed):
    """Cloth texture with a waistband: a darker garment from 0.14 T above the hip midpoint down."""
    tex = _texture(seed)
    tex[700 - int(0.14 * TORSO_PX):] -= 50
    return np.clip(tex, 0, 255)


def test_waist_strain_from_behind_reads_the_pelvis_tilt():
    """From behind the rotation is the tilt of the band's vertical lines (the midline over the sacrum),
    which the waist's vertical strain leaves alone; a Euclidean fit (kept from in front) is pulled
    toward the waistband's smaller tilt."""
    angle, strain = 8.0, 0.6
    readings = {}
    for from_behind in (True, False):
        rng = np.random.default_rng(11)
        tex = _waistband_texture(12)
        trk = PelvisBandTracker()
        trk.update(*_waist_strained_frame(tex, 0.0, strain, (640, 380), 2.0, rng, from_behind))
        readings[from_behind], q = trk.update(
            *_waist_strained_frame(tex, angle, strain, (646, 376), 2.0, rng, from_behind))
        assert q > 0.5
    assert readings[True] == pytest.approx(angle, abs=0.3)
    assert readings[False] < angle - 0.5  # the under-read the affine reading avoids


def test_rigid_rotation_from_in_front():
    rng = np.random.default_rng(13)
    tex = _texture(14)
    trk = PelvisBandTracker()
    trk.update(*_waist_strained_frame(tex, 0.0, 0.0, (640, 380), 2.0, rng, from_behind=False))
    rot, q = trk.update(*_waist_strained_frame(tex, -5.0, 0.0, (632, 384), 2.0, rng, from_behind=False))
    assert rot == pytest.approx(-5.0, abs=0.3) and q > 0.5


def _front_frame_with_thighs(tex, angle_deg, thigh_deg, centre, noise, rng):
    """From in front: above the hip midpoint's line the texture turns CCW on screen by angle_deg about it (the
    pelvis), below it by thigh_deg (the thighs and groin folds, moving with the legs); landmarks as in
    _waist_strained_frame from in front."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    x, y = xs - centre[0], ys - centre[1]
    a = np.deg2rad(np.where(y < 0, angle_deg, thigh_deg)).astype(np.float32)
    c = np.array(tex.shape[::-1], np.float32) / 2
    map_x = c[0] + np.cos(a) * x - np.sin(a) * y
    map_y = c[1] + np.sin(a) * x + np.cos(a) * y
    img = cv2.remap(tex, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    _, xyz, vis = _waist_strained_frame(tex, angle_deg, 0.0, centre, 0.0, rng, from_behind=False)
    return img, xyz, vis


def test_from_in_front_the_thighs_below_the_hips_are_not_read():
    """A running pelvis tilted 6° while the thighs below the hip joints' line turn 8° the other way: from in
    front the rotation is read above that line only, so the thighs do not pull it (a rigid fit over the whole
    band reads 4.2°)."""
    rng = np.random.default_rng(21)
    tex = _texture(22)
    trk = PelvisBandTracker()
    trk.update(*_front_frame_with_thighs(tex, 0.0, 0.0, (640, 380), 2.0, rng))
    rot, q = trk.update(*_front_frame_with_thighs(tex, 6.0, -8.0, (644, 377), 2.0, rng))
    assert rot == pytest.approx(6.0, abs=0.3) and q > 0.5


def test_turning_round_starts_a_new_reference_and_a_label_swap_does_not():
    """The landmarks' facing flipped for fewer than facing_frames frames is MediaPipe swapping left and right, not a
    turn: the band is read as before, on the same reference; held that long, it is the other side of the body."""
    rng = np.random.default_rng(15)
    tex = _texture(16)
    trk = PelvisBandTracker()
    rot, _ = trk.update(*_waist_strained_frame(tex, 0.0, 0.0, (640, 380), 2.0, rng, from_behind=True))
    assert rot == 0.0 and trk.reference_id == 0
    for _ in range(trk.facing_frames - 1):
        rot, _ = trk.update(*_waist_strained_frame(tex, 3.0, 0.0, (640, 380), 2.0, rng, from_behind=False))
        assert rot == pytest.approx(3.0, abs=0.3) and trk.reference_id == 0
    rot, _ = trk.update(*_waist_strained_frame(tex, 2.0, 0.0, (640, 380), 2.0, rng, from_behind=True))
    assert rot == pytest.approx(2.0, abs=0.3) and trk.reference_id == 0
    for _ in range(trk.facing_frames):
        rot, _ = trk.update(*_waist_strained_frame(tex, 3.0, 0.0, (640, 380), 2.0, rng, from_behind=False))
    assert rot == 0.0 and trk.reference_id == 1  # the other side of the body: a new reference


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_the_band_calls_a_turn_what_the_analysis_facing_filter_keeps(fps):
    """A facing held for facing_frames frames survives the analysis' median filter (gaitlab.core.view), one frame
    fewer does not: the band restarts its chain exactly where the analysis sees a turn (at 25 fps, 7 frames: a label
    swap of 3, as MediaPipe makes on a far walk re-encoded at CRF 33, is not one)."""
    from scipy.ndimage import median_filter

    from gaitlab.core.view import facing_filter_frames

    hold = PelvisBandTracker(frame_rate_hz=fps).facing_frames
    for run, survives in ((hold, True), (hold - 1, False)):
        facing = np.ones(200)
        facing[100:100 + run] = -1
        assert (median_filter(facing, size=facing_filter_frames(fps), mode="nearest") < 0).any() == survives
    assert PelvisBandTracker(frame_rate_hz=25.0).facing_frames > 3


def test_after_a_turn_the_old_facing_must_be_held_again_before_the_next():
    """The frames counted against the old keyframe's facing do not count against the new one's: one frame of the old
    facing right after a turn is a label swap on the new reference (before: it restarted the chain at once; on a far
    walk re-encoded at CRF 33 that made a keyframe of a frame with both forearms across the band)."""
    rng = np.random.default_rng(21)
    tex = _texture(22)
    trk = PelvisBandTracker()
    trk.update(*_waist_strained_frame(tex, 0.0, 0.0, (640, 380), 2.0, rng, from_behind=True))
    for _ in range(trk.facing_frames):
        trk.update(*_waist_strained_frame(tex, 1.0, 0.0, (640, 380), 2.0, rng, from_behind=False))
    assert trk.reference_id == 1
    rot, _ = trk.update(*_waist_strained_frame(tex, 3.0, 0.0, (640, 380), 2.0, rng, from_behind=True))
    assert trk.reference_id == 1 and rot == pytest.approx(2.0, abs=0.3)


def test_a_frame_whose_band_is_mostly_masked_does_not_become_the_keyframe():
    """Both forearms across the band (arms folded over the hips) leave too little of it to register against: that
    frame is not measured, and the next becomes the keyframe (before: it became the keyframe, and no later frame could
    be registered to it until the subject's image size had changed by half)."""
    rng = np.random.default_rng(23)
    tex = _texture(24)
    img, xyz, vis = _frame(tex, 0.0, 1.0, (640, 380), 2.0, rng)
    for elbow, wrist, y in ((13, 15, 380 - 0.11 * TORSO_PX), (14, 16, 380 + 0.07 * TORSO_PX)):
        xyz[elbow], xyz[wrist] = (640 - 150, y, 0), (640 + 150, y, 0)
    trk = PelvisBandTracker()
    rot, q = trk.update(img, xyz, vis)
    assert np.isnan(rot) and q == 0.0 and trk.keyframe is None
    assert trk.update(*_frame(tex, 0.0, 1.0, (640, 380), 2.0, rng))[0] == 0.0
    rot, _ = trk.update(*_frame(tex, 3.0, 1.0, (636, 383), 2.0, rng))
    assert rot == pytest.approx(3.0, abs=0.3) and trk.reference_id == 0


def test_a_frame_that_cannot_be_registered_leaves_the_chain_whole():
    """A frame whose band is something else (here another texture: a hand, blur) is not measured, and the next is
    read against the same keyframe: one reference, its rotations comparable across the gap."""
    rng = np.random.default_rng(17)
    tex, other = _texture(18), _texture(19)
    trk = PelvisBandTracker()
    trk.update(*_frame(tex, 0.0, 1.0, (640, 380), 2.0, rng))
    rot, q = trk.update(*_frame(other, 30.0, 1.0, (640, 380), 2.0, rng))
    assert np.isnan(rot) and q == 0.0
    rot, q = trk.update(*_frame(tex, 4.0, 1.0, (636, 383), 2.0, rng))
    assert rot == pytest.approx(4.0, abs=0.3) and trk.reference_id == 0


def test_facing_from_landmarks():
    xyz = np.full((33, 3), np.nan)
    xyz[[23, 24, 11, 12], 0] = (500, 580, 470, 610)  # left hip/shoulder on the image left: from behind
    assert facing_away(xyz)
    xyz[[23, 24, 11, 12], 0] = (580, 500, 610, 470)
    assert not facing_away(xyz)


def test_rgb_frame_reads_like_its_grey_conversion():
    """The pipeline hands over RGB frames and only the band's region is greyed: same numbers as grey frames."""
    rng = np.random.default_rng(7)
    tex = _texture(8)
    tint = np.array([0.8, 1.0, 1.3])
    grey_trk, rgb_trk = PelvisBandTracker(), PelvisBandTracker()
    for angle in (0.0, 2.0, -4.0):
        grey, xyz, vis = _frame(tex, angle, 1.0, (640, 380), 2.0, rng)
        rgb = np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)
        expected = grey_trk.update(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), xyz, vis)
        assert rgb_trk.update(rgb, xyz, vis) == expected
    assert expected[0] == pytest.approx(-4.0, abs=0.3)


def test_adopted_keyframe_measures_on_the_same_reference():
    """A tracker started on another's keyframe (a later span of the clip) reads the other's rotations; a
    keyframe of a much different subject size is not adopted."""
    rng = np.random.default_rng(11)
    tex = _texture(12)
    first = PelvisBandTracker()
    first.update(*_frame(tex, 0.0, 1.0, (640, 380), 2.0, rng))
    later = _frame(tex, 4.0, 1.05, (660, 372), 2.0, rng)
    second = PelvisBandTracker()
    assert second.adopt(first.keyframe, later[1])
    assert second.update(*later)[0] == pytest.approx(first.update(*later)[0], abs=0.05)
    assert second.update(*later)[0] == pytest.approx(4.0, abs=0.3)
    far = _frame(tex, 4.0, 0.6, (660, 372), 2.0, rng)
    assert not PelvisBandTracker().adopt(first.keyframe, far[1])


def _shifted(frame, dx_px, dy_px):
    """A frame whose landmarks are all put (dx_px, dy_px) image pixels away from where the body is."""
    img, xyz, vis = frame
    return img, xyz + (dx_px, dy_px, 0.0), vis


def _patch_difference(a, b):
    return float(np.mean(np.abs(a - b)))


def test_a_first_keyframe_placed_off_by_its_landmarks_settles_where_they_put_it_on_average():
    """The first frame's landmarks 7 px low and 5 px aside, every later frame's right: after settle_frames the
    keyframe is the band where the landmarks put it on average, and the frames measured meanwhile are given again,
    measured from it."""
    rng = np.random.default_rng(13)
    tex = _texture(14)
    trk = PelvisBandTracker(frame_rate_hz=30.0, settle_s=0.5)
    assert trk.settle_frames == 15
    angles = 4.0 * np.sin(np.arange(20) / 3.0)
    frames = [_frame(tex, a, 1.0, (640 + 3 * i, 380), 2.0, rng) for i, a in enumerate(angles)]
    right = PelvisBandTracker()
    right.update(*frames[0])
    trk.update(*_shifted(frames[0], 5.0, 7.0), frame=0)
    assert not trk.settled
    misplaced = _patch_difference(trk.keyframe.patch, right.keyframe.patch)
    given = {}
    for i in range(1, 20):
        given[i] = trk.update(*frames[i], frame=i)
        for frame, rotation, quality, reference in trk.take_revisions():
            given[frame] = (rotation, quality)
            assert reference == trk.reference_id
    assert trk.settled
    settled = _patch_difference(trk.keyframe.patch, right.keyframe.patch)
    assert settled < 0.2 * misplaced
    assert np.max(np.abs([given[i][0] - angles[i] for i in range(1, 20)])) < 0.3


def test_the_settled_keyframe_is_centred_on_the_bodys_mirror_axis():
    """Landmarks 9 px to one side of a mirror-symmetric band in every frame (MediaPipe's are not mirror-symmetric):
    told where the axis lies, the keyframe settles centred on it, mirror-symmetric; not told, it stays where the
    landmarks put it."""
    rng = np.random.default_rng(15)
    t = _texture(16)
    tex = (t + t[:, ::-1]) / 2
    frames = [_shifted(_frame(tex, 2.0 * np.sin(i / 2.0), 1.0, (640, 380), 1.0, rng), 9.0, 0.0) for i in range(12)]
    told, not_told = (PelvisBandTracker(frame_rate_hz=30.0, settle_s=0.3) for _ in range(2))
    axis_px = -9.0 * told.shape.px_per_t / TORSO_PX
    for i, frame in enumerate(frames):
        told.update(*frame, frame=i, midline_px=axis_px)
        not_told.update(*frame, frame=i)
    assert told.settled and not_told.settled

    def asymmetry(patch):
        return _patch_difference(patch, patch[:, ::-1])

    assert asymmetry(told.keyframe.patch) < 0.3 * asymmetry(not_told.keyframe.patch)
