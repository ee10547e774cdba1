"""gaitlab.core.camera on constructed geometry: a known 3D pelvis projected by a known camera, recovered."""
import numpy as np
import pytest

from gaitlab.core.camera import (
    camera_rotation,
    estimate_camera_pose,
    focal_px,
    frontal_angle_deg,
    intrinsics,
    project,
    screen_tilt_of_vertical_deg,
)

W, H = 854, 480


def _pelvis(obliquity_deg: float, turn_deg: float, centre: np.ndarray, half_width_m: float = 0.09):
    """(left-of-image hip, right-of-image hip) in the scene (metres): the hip line tilted by obliquity_deg in the
    frontal plane (+X end higher) and turned by turn_deg about the vertical (+X end away from the camera)."""
    o, t = np.radians(obliquity_deg), np.radians(turn_deg)
    d = half_width_m * np.array([np.cos(o) * np.cos(t), np.cos(o) * np.sin(t), np.sin(o)])
    return centre - d, centre + d


def _seen(obliquity_deg, turn_deg, yaw, pitch, roll, hip_height_m=-0.3, distance_m=2.7):
    """Screen angle of the projected hip line and its midpoint pixel, for a camera at the origin."""
    k = intrinsics(W, H, focal_px(W, H))
    r = camera_rotation(yaw, pitch, roll)
    left, right = _pelvis(obliquity_deg, turn_deg, np.array([0.0, distance_m, hip_height_m]))
    pl, pr = project(left, np.zeros(3), r, k), project(right, np.zeros(3), r, k)
    screen = np.degrees(np.arctan2(pl[1] - pr[1], pr[0] - pl[0]))
    return float(screen), (pl + pr) / 2, r, k


@pytest.mark.parametrize("obliquity", [-7.0, 0.0, 3.0, 8.0])
@pytest.mark.parametrize("turn", [0.0, 6.0])
@pytest.mark.parametrize("yaw,pitch,roll", [(0.0, 0.0, 0.0), (-11.0, 7.5, 0.0), (8.0, -5.0, 2.0),
                                            (15.0, 12.0, -3.0)])
def test_frontal_angle_recovers_the_obliquity(obliquity, turn, yaw, pitch, roll):
    screen, mid, r, k = _seen(obliquity, turn, yaw, pitch, roll)
    assert frontal_angle_deg(screen, mid, r, k, turn) == pytest.approx(obliquity, abs=0.1)


def test_a_turned_and_pitched_camera_biases_the_image_angle_and_the_conversion_removes_it():
    screen, mid, r, k = _seen(0.0, 0.0, -11.0, 7.5, 0.0)
    assert abs(screen) > 1.0  # a level pelvis reads more than a degree off in the image
    assert abs(float(frontal_angle_deg(screen, mid, r, k))) < 0.01


def test_pose_from_the_image_alone_recovers_the_obliquity():
    """The pose estimated from what a clip shows (the hips' pixel, the vertical's tilt there), with the true pitch
    and focal length, gives the obliquity within 0.1° and the camera's yaw and roll."""
    for yaw, pitch, roll in [(-11.0, 7.5, 0.0), (8.0, -5.0, 2.0), (0.0, 3.0, -3.0)]:
        screen, mid, r, k = _seen(5.0, 0.0, yaw, pitch, roll)
        tilt = float(screen_tilt_of_vertical_deg(mid, r, k))
        pose = estimate_camera_pose(np.tile(mid, (50, 1)), np.full(50, tilt), W, H, pitch_deg=pitch)
        assert pose.yaw_deg == pytest.approx(yaw, abs=0.1)
        assert pose.roll_deg == pytest.approx(roll, abs=0.1)
        assert float(frontal_angle_deg(screen, mid, pose.rotation, k)) == pytest.approx(5.0, abs=0.1)


def test_the_wrong_pitch_costs_little_once_the_roll_is_solved_from_the_vertical():
    """Pitch is not seen on a treadmill: taken as level while the camera looks 7.5° down, the roll solved from the
    body's vertical absorbs most of it (first-order cancellation)."""
    screen, mid, r, k = _seen(5.0, 0.0, -11.0, 7.5, 0.0)
    tilt = float(screen_tilt_of_vertical_deg(mid, r, k))
    pose = estimate_camera_pose(np.tile(mid, (50, 1)), np.full(50, tilt), W, H, pitch_deg=0.0)
    assert float(frontal_angle_deg(screen, mid, pose.rotation, k)) == pytest.approx(5.0, abs=0.15)
    assert pose.pitch_sd_deg > 0 and pose.yaw_sd_deg > 0


def test_a_square_camera_changes_nothing_but_the_roll():
    screen, mid, r, k = _seen(4.0, 0.0, 0.0, 0.0, 2.5, hip_height_m=0.0)
    assert screen == pytest.approx(4.0 - 2.5, abs=0.01)
    assert float(frontal_angle_deg(screen, mid, r, k)) == pytest.approx(4.0, abs=1e-6)


def test_focal_length_from_the_35mm_equivalent():
    # 26 mm equivalent on a 1920 x 1080 frame: diagonal 2203 px / 43.27 mm * 26 mm
    assert focal_px(1920, 1080) == pytest.approx(26 * np.hypot(1920, 1080) / np.hypot(36, 24))


def test_no_person_no_pose():
    pose = estimate_camera_pose(np.full((5, 2), np.nan), np.full(5, np.nan), W, H)
    assert np.isnan(pose.yaw_deg) and pose.frames == 0


@pytest.mark.parametrize("yaw, sd, view, says", [
    (11.2, 0.8, "posterior", "camera turned 11° toward the person's right (± 1°)"),
    (11.2, 0.8, "anterior", "camera turned 11° toward the person's left (± 1°)"),
    (0.1, 0.0, "posterior", "camera square to the line of travel, pitch not measured (taken as level)"),
])
def test_the_camera_pose_in_words(yaw, sd, view, says):
    from dataclasses import replace

    from gaitlab.core.camera import CameraPose
    from gaitlab.outputs.wording import camera_pose_text
    from tests.analysis_fixture import make_analysis

    pose = CameraPose(yaw, sd, 0.0, 10.0, 0.3, 0.5, float("nan"), float("nan"), 1500.0, 26.0, yaw, 300)
    text = camera_pose_text(replace(make_analysis(), view=view, camera=pose))
    assert text.startswith(says), text
    assert text.endswith("roll +0.3° (from the body's axis)") and "± 0°" not in text
    room = camera_pose_text(replace(make_analysis(), view=view, camera=replace(pose, pitch_deg=5.6, pitch_sd_deg=0.4,
                                                                               room_lines=7)))
    assert "pitched 6° down" in room and room.endswith("(from 7 vertical lines of the room and the body's axis)")
    floor = camera_pose_text(replace(make_analysis(), view=view, camera=replace(
        pose, pitch_deg=9.6, pitch_sd_deg=0.7, horizon_lines=8, height_above_hips_m=0.33, height_sd_m=0.05)))
    assert ", 0.3 m above the hips, pitched 10° down" in floor
    assert floor.endswith("(from the horizon of 8 horizontal lines and the body's axis)")
    both = camera_pose_text(replace(make_analysis(), view=view, camera=replace(
        pose, pitch_deg=-2.0, pitch_sd_deg=0.3, room_lines=1, horizon_lines=5, height_above_hips_m=-0.24)))
    assert ", 0.2 m below the hips, pitched 2° up" in both
    assert both.endswith("(from 1 vertical line of the room, the horizon of 5 horizontal lines and the body's axis)")
    level = camera_pose_text(replace(make_analysis(), view=view, camera=replace(pose, height_above_hips_m=0.04)))
    assert "at the hips' height" in level


@pytest.mark.parametrize("obliquity", [-6.0, 3.0, 8.0])
def test_the_pelvis_vertical_axis_is_taken_back_as_a_vertical(obliquity):
    """The band reads the tilt of the pelvis' vertical axis (its mirror-symmetry axis sets the level): seen by a
    camera turned 11° and pitched 7.5° down, that tilt is taken back to the frontal-plane obliquity within 0.05°,
    where reading it as the hip line's angle would be off by more."""
    from gaitlab.core.camera import CameraPose
    from gaitlab.core.obliquity import image_to_frontal
    from gaitlab.core.track import LEFT_HIP, RIGHT_HIP, PoseTrack

    yaw, pitch = -11.0, 7.5
    k = intrinsics(W, H, focal_px(W, H))
    r = camera_rotation(yaw, pitch, 0.0)
    centre = np.array([0.0, 2.7, -0.3])
    o = np.radians(obliquity)
    axis = 0.1 * np.array([-np.sin(o), 0.0, np.cos(o)])  # the frontal plane's vertical turned with the pelvis
    top, bottom = project(centre + axis, np.zeros(3), r, k), project(centre - axis, np.zeros(3), r, k)
    tilt = float(np.degrees(np.arctan2(bottom[0] - top[0], bottom[1] - top[1])))  # + = top toward image left: CCW
    left, right = _pelvis(obliquity, 0.0, centre)
    image = np.full((1, 33, 3), np.nan)
    image[0, LEFT_HIP, :2], image[0, RIGHT_HIP, :2] = (project(p, np.zeros(3), r, k) for p in (left, right))
    track = PoseTrack(np.zeros(1), image, np.zeros((1, 33, 3)), np.ones((1, 33)), np.ones((1, 33)), W, H)
    pose = CameraPose(yaw, 0.0, pitch, 0.0, 0.0, 0.0, float("nan"), float("nan"), k[0, 0], 26.0, -yaw, 1)
    as_vertical = float(image_to_frontal(np.array([tilt]), track, pose, "posterior", vertical=True)[0])
    as_hip_line = float(image_to_frontal(np.array([tilt]), track, pose, "posterior")[0])
    assert as_vertical == pytest.approx(obliquity, abs=0.05)
    assert abs(as_hip_line - obliquity) > 0.1


@pytest.mark.parametrize("yaw,pitch,roll", [(-11.0, 7.8, 0.0), (15.0, 12.0, -3.0), (0.0, 6.0, 2.0)])
def test_a_skewed_band_is_mirrored_about_its_axes_weighted_by_its_shape(yaw, pitch, roll):
    """A left-right symmetric band of texture on the frontal plane, seen by a camera turned and tilted toward it:
    the axis that best mirrors its left half onto its right (least squares, searched every 0.005°) lies between the
    images of the vertical and of the lateral axis's normal, MIRROR_AXIS_LATERAL_WEIGHT of the way (the band's
    second moments); the band's own shape is the symmetry measure's."""
    from gaitlab.core.camera import frame_axes_tilt_deg
    from gaitlab.core.level import SYMMETRY_BAND_HALF_HEIGHT_T, SYMMETRY_BAND_HALF_WIDTH_T
    from gaitlab.core.obliquity import MIRROR_AXIS_LATERAL_WEIGHT

    rng = np.random.default_rng(0)
    k, r = intrinsics(W, H, focal_px(W, H)), camera_rotation(yaw, pitch, roll)
    torso_m, centre = 0.5, np.array([0.0, 2.7, -0.3])
    x = rng.uniform(0.0, SYMMETRY_BAND_HALF_WIDTH_T * torso_m, 2000)
    z = rng.uniform(-SYMMETRY_BAND_HALF_HEIGHT_T, SYMMETRY_BAND_HALF_HEIGHT_T, 2000) * torso_m
    left = project(centre + np.stack([-x, 0 * x, z], 1), np.zeros(3), r, k)
    right = project(centre + np.stack([x, 0 * x, z], 1), np.zeros(3), r, k)
    c = np.vstack([left, right]).mean(axis=0)

    def mismatch(tilt_deg: float) -> float:
        d = np.array([-np.sin(np.radians(tilt_deg)), -np.cos(np.radians(tilt_deg))])  # the axis, counter-clockwise
        v = left - c
        return float(np.sum((c + 2 * np.outer(v @ d, d) - v - right) ** 2))

    tilts = np.arange(-10.0, 10.0, 0.005)
    best = tilts[np.argmin([mismatch(t) for t in tilts])]
    lateral, vertical = frame_axes_tilt_deg(project(centre, np.zeros(3), r, k), r, k)
    assert best == pytest.approx(vertical + MIRROR_AXIS_LATERAL_WEIGHT * (lateral - vertical), abs=0.05)
    if yaw:
        assert abs(lateral - vertical) > 0.2  # a turned and tilted camera does skew the axes


def test_the_mirror_band_shape_is_the_symmetry_measures():
    import inspect

    from gaitlab.core.level import SYMMETRY_BAND_HALF_HEIGHT_T, SYMMETRY_BAND_HALF_WIDTH_T
    from gaitlab.measure.geometry import BandShape
    from gaitlab.measure.symmetry import PelvisSymmetry

    assert inspect.signature(PelvisSymmetry).parameters["band_half_width_torso"].default == SYMMETRY_BAND_HALF_WIDTH_T
    assert (BandShape().top + BandShape().bottom) / 2 == pytest.approx(SYMMETRY_BAND_HALF_HEIGHT_T)
