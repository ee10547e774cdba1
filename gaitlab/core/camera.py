"""The camera's pose relative to the person, and the pelvis line taken from the image into the body's frontal plane.

A phone that is not square to the walk (panned, yawed) or not at hip height sees the pelvis' frontal plane at an
angle: the image angle of the hip line then mixes the frontal-plane tilt with perspective. Here a pinhole camera is
posed relative to a scene frame and the image line is back-projected onto the frontal plane.

Frames and conventions (angles in degrees, lengths in pixels unless said otherwise):
- scene frame: X horizontal, to the right as the camera sees the person; Y horizontal, from the camera toward the
  person (the viewing direction in the horizontal plane); Z up. The person's frontal plane is the X-Z plane (its
  normal is the direction of travel, +Y walking away from the camera, -Y toward it);
- camera frame: x image right, y image down, z forward (optical axis);
- camera pose: yaw (pan) = the optical axis turned toward scene +X (the person then appears left of the image
  centre ... the bearing of the person is minus the yaw when the camera is behind the line of travel), pitch =
  the optical axis tilted down below the horizontal, roll = the camera turned counter-clockwise as seen from
  behind it (gaitlab.core.result);
- screen angle of a line: from image horizontal, positive = counter-clockwise on screen (its image-right end
  higher), as the pelvis band's rotation (gaitlab.core.track); a frontal-plane angle likewise, in the X-Z plane
  (positive = its +X end higher).
Pure numpy.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# A phone's main camera: 26 mm 35-mm-equivalent focal length (Apple iPhone 11-16 main "wide" camera, 26 mm;
# Samsung Galaxy S20-S24 main camera 24-26 mm; Google Pixel 6-8 main camera 25-26 mm, from the makers' spec sheets).
PHONE_FOCAL_35MM = 26.0
# One SD of that assumption, mm: main cameras span about 23-28 mm; a 2x crop or telephoto (48-77 mm) is not covered
# and makes the perspective correction too large by (f_true / 26)^2 - gaitlab cannot tell it from the clip.
PHONE_FOCAL_35MM_SD = 2.0
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)  # the 35-mm film frame that "35-mm-equivalent" refers to


def focal_px(width: int, height: int, focal_35mm: float = PHONE_FOCAL_35MM) -> float:
    """Focal length in pixels of a frame width x height (pixels) filmed at a 35-mm-equivalent focal length (mm):
    the equivalent is defined on the diagonal (the frame's diagonal field of view equals that of a 36 x 24 mm
    frame at that focal length), so f_px = f_35 * diagonal_px / 43.27 mm. Digital zoom or cropping (a 4:3 sensor
    filming 16:9) changes it; the uncertainty is PHONE_FOCAL_35MM_SD."""
    return float(focal_35mm * math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM)


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# scene (X right, Y forward, Z up) -> camera (x right, y down, z forward) for a level camera looking along +Y
_SCENE_TO_LEVEL_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def camera_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3x3 rotation taking scene vectors into camera coordinates (module docstring): the camera is first panned
    by yaw_deg toward +X (about the vertical), then tilted down by pitch_deg (about its own x axis), then rolled
    counter-clockwise, as seen from behind it, by roll_deg (about its optical axis)."""
    # a level camera panned toward +X: its axis z = (sin yaw, cos yaw, 0) in the scene
    pan = _ry(-math.radians(yaw_deg))  # in camera coordinates of the level camera: turn about y (down)
    tilt = _rx(math.radians(pitch_deg))  # the axis tilted down: about x (image right), scene up moves toward -z
    # a camera turned counter-clockwise (as seen from behind it) sees the scene turned clockwise
    roll = _rz(math.radians(roll_deg))
    return roll @ tilt @ pan @ _SCENE_TO_LEVEL_CAMERA


def intrinsics(width: int, height: int, f_px: float) -> np.ndarray:
    """The 3x3 pinhole matrix: focal length f_px (pixels, square pixels), principal point at the frame's centre
    (as in phone videos, which are not cropped off-centre)."""
    return np.array([[f_px, 0.0, width / 2.0], [0.0, f_px, height / 2.0], [0.0, 0.0, 1.0]])


def project(points_scene: np.ndarray, camera_centre: np.ndarray, rotation: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) of scene points (..., 3) (metres) seen by a camera at camera_centre (3,) (metres) with the
    rotation camera_rotation gives and the pinhole matrix k."""
    cam = (np.asarray(points_scene, float) - camera_centre) @ rotation.T
    uvw = cam @ k.T
    return uvw[..., :2] / uvw[..., 2:3]


def rays(pixels_xy: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Camera-frame directions (..., 3) of the rays through pixels (..., 2)."""
    p = np.asarray(pixels_xy, float)
    return np.stack([(p[..., 0] - k[0, 2]) / k[0, 0], (p[..., 1] - k[1, 2]) / k[1, 1], np.ones(p.shape[:-1])], -1)


def frontal_angle_deg(screen_angle_deg: np.ndarray, at_xy: np.ndarray, rotation: np.ndarray, k: np.ndarray,
                      plane_turn_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """The frontal-plane angle (degrees, module docstring) of lines seen in the image at screen_angle_deg through
    the pixel at_xy (..., 2), back-projected onto the plane through that point that holds the scene's vertical
    and the X axis turned by plane_turn_deg about the vertical (toward +Y: the plane the hip line lies in when the
    pelvis is turned in the transverse plane; 0 = the frontal plane itself).

    Exact for a pinhole camera: the image line and the camera centre span a plane, the line in space lies in it
    and in the frontal plane, so its direction is the cross product of the two planes' normals. Needs no distance
    to the person (a plane's directions do not depend on how far it is). NaN where the input is NaN."""
    a = np.radians(np.asarray(screen_angle_deg, float))
    p = np.asarray(at_xy, float)
    a, _ = np.broadcast_arrays(a, p[..., 0])
    step = np.stack([np.cos(a), -np.sin(a)], -1)  # image direction (y down) of a counter-clockwise angle
    line_normal = np.cross(rays(p, k), rays(p + step, k))
    turn = np.radians(np.asarray(plane_turn_deg, float))
    lateral = np.stack([np.cos(turn), np.sin(turn), np.zeros_like(turn)], -1) @ rotation.T
    up = rotation @ np.array([0.0, 0.0, 1.0])
    plane_normal = np.cross(lateral, up)
    direction = np.cross(plane_normal, line_normal)
    along, rise = np.sum(direction * lateral, -1), direction @ up
    flip = np.where(along < 0, -1.0, 1.0)  # the line's +X end
    return np.degrees(np.arctan2(flip * rise, flip * along))


def _screen_direction(at_xy: np.ndarray, direction_scene: np.ndarray, rotation: np.ndarray, k: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(du, dv): the image direction (pixels, y down) of a scene direction through the pixel at_xy (..., 2), the
    projection's derivative along it at the ray's point (depth 1)."""
    d = rotation @ direction_scene
    r = rays(np.asarray(at_xy, float), k)
    return k[0, 0] * (d[0] - r[..., 0] * d[2]), k[1, 1] * (d[1] - r[..., 1] * d[2])


def screen_tilt_of_vertical_deg(at_xy: np.ndarray, rotation: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Where a scene-vertical line passes through the pixel at_xy (..., 2): its image direction's tilt from image
    vertical, degrees, positive = its top toward image right (as gaitlab.core.obliquity.body_axis_tilt_deg): the
    camera roll, plus the perspective of a pitched camera away from the image's centre column."""
    du, dv = _screen_direction(at_xy, np.array([0.0, 0.0, 1.0]), rotation, k)
    return np.degrees(np.arctan2(du, -dv))


def frame_axes_tilt_deg(at_xy: np.ndarray, rotation: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The screen angles (degrees, counter-clockwise, module docstring) at the pixel at_xy (..., 2) of the frontal
    plane's two axes: the lateral X axis from image horizontal and the vertical from image vertical (minus
    screen_tilt_of_vertical_deg, whose positive is clockwise). Equal under a camera square to the walk (both are the
    roll); a camera turned and tilted toward the person skews them apart."""
    du, dv = _screen_direction(at_xy, np.array([1.0, 0.0, 0.0]), rotation, k)
    return np.degrees(np.arctan2(-dv, du)), -screen_tilt_of_vertical_deg(at_xy, rotation, k)


@dataclass(frozen=True)
class VanishingPoint:
    """Where a family of parallel lines meets in the image (gaitlab.core.scene.vanishing_point): xy, pixels
    (x right, y down); cov_px2, its 2x2 covariance, pixels squared; lines: how many lines the fit kept."""

    xy: np.ndarray
    cov_px2: np.ndarray
    lines: int


def horizon_pitch_deg(point_xy: np.ndarray, roll_deg: float, k: np.ndarray) -> float:
    """The pitch (degrees, down positive) of a camera with roll roll_deg that sees the pixel point_xy (2,) on the
    horizon: the vanishing point of a horizontal direction (gaitlab.core.scene.vanishing_point). A pan does
    not move the horizon, so the yaw is not needed: with the roll undone, the point's ray (x, y, 1) is horizontal
    once the camera is tilted up by atan(-y / 1)."""
    ray = rays(np.asarray(point_xy, float), k)
    unrolled = _rz(math.radians(roll_deg)).T @ ray
    return math.degrees(math.atan2(-unrolled[1], unrolled[2]))


@dataclass(frozen=True)
class CameraPose:
    """The camera's pose relative to the person and their line of travel over a clip (estimate_camera_pose).

    Angles in degrees (module docstring), each with one SD; height_above_hips_m: the camera's height above the
    hip-joint centres, metres (NaN when not measured); focal_px: the focal length used, pixels, and the
    35-mm-equivalent it stands for: PHONE_FOCAL_35MM assumed, or fitted where the room shows both its verticals and
    its horizon (focal_fitted)."""

    yaw_deg: float
    yaw_sd_deg: float
    pitch_deg: float
    pitch_sd_deg: float
    roll_deg: float
    roll_sd_deg: float
    height_above_hips_m: float
    height_sd_m: float
    focal_px: float
    focal_35mm: float
    bearing_deg: float  # where the hips are, horizontally, from the optical axis (positive = image right)
    frames: int  # frames the pose was estimated on
    room_lines: int = 0  # the room's vertical lines the roll and pitch were read from with the body's axis (0: none)
    horizon_lines: int = 0  # the room's horizontal lines whose vanishing point gave the horizon, the pitch (0: none)
    # the body's mean axis' tilt from the room's vertical, degrees, positive = its top toward image right (as the
    # roll); NaN without the room's lines
    body_lean_deg: float = float("nan")
    focal_fitted: bool = False
    # how far apart the horizon's pitch and the room's verticals' are at the focal length within the lens prior that
    # brings them closest, in SDs of the two, + where a longer lens would bring them together (horizon_apart_sd);
    # beyond OUTLIER_SIGMAS either way the horizon was left out where the verticals read the pitch the more precisely
    # (then horizon_lines is 0). NaN unless both were seen
    horizon_apart_sd: float = float("nan")

    @property
    def horizon_left_out(self) -> bool:
        """Whether the room's horizon was seen with its verticals and left out for disagreeing with them
        (estimate_camera_pose: a horizon kept has its lines counted)."""
        return math.isfinite(self.horizon_apart_sd) and not self.horizon_lines

    @property
    def rotation(self) -> np.ndarray:
        """camera_rotation of this pose."""
        return camera_rotation(self.yaw_deg, self.pitch_deg, self.roll_deg)

    def vertical_tilt_deg(self, at_xy: np.ndarray, width: int, height: int) -> float:
        """The scene vertical's tilt in the image at the pixel at_xy (screen_tilt_of_vertical_deg) under this pose:
        the camera roll as a line through that pixel sees it."""
        return float(screen_tilt_of_vertical_deg(np.asarray(at_xy, float), self.rotation,
                                                 intrinsics(width, height, self.focal_px)))


PITCH_PRIOR_SD_DEG = 10.0  # a phone propped or on a tripod "about level": where the clip cannot measure the pitch
# One SD of the person's size relative to MediaPipe's world landmarks, a fraction: the world landmarks take one
# typical adult body (their shoulder-to-ankle length is ~1.2 m whoever walks), while adults' statures span about
# 1.50-1.90 m (+-12 % as a 95 % range, ~6 % SD), and the landmarks' own metric error adds to it.
BODY_SCALE_SD_FRAC = 0.1
# Distinct vertical lines of the room needed to read the camera's roll and pitch from them: two unknowns and a spare
# to find an outlier with.
MIN_SCENE_LINES = 4
# A line's tilt is never known better than this, degrees (one SD): door frames and shelves are built plumb to about
# 1 mm in 50 cm, and LSD's end points are good to about a pixel on segments of 5 % of the frame's height.
MIN_LINE_SD_DEG = 0.1
FIT_ROUNDS = 4  # fit, drop outliers, refit: the kept set settles in two or three rounds
# The SD, degrees, of the body's mean axis as a vertical line (stated, not validated): a person walks upright to about
# a degree on average over whole strides (the trunk's lateral lean swings a few degrees either way about upright); a
# cane or a painful hip can lean them more, which the room's lines, where seen, show (CameraPose.body_lean_deg).
BODY_AXIS_LEAN_SD_DEG = 1.0


@dataclass(frozen=True)
class VerticalFit:
    """The camera's roll and pitch from vertical lines, each with one SD (degrees), the lines the fit kept, and the
    focal length (pixels, with its SD: 0 where it was not fitted but given)."""

    roll_deg: float
    roll_sd_deg: float
    pitch_deg: float
    pitch_sd_deg: float
    lines: int
    focal_px: float = float("nan")
    focal_sd_px: float = 0.0


def fit_vertical(tilt_deg: np.ndarray, at_xy: np.ndarray, sd_deg: np.ndarray | None, k: np.ndarray,
                 pitch_prior: tuple[float, float], horizon: VanishingPoint | None = None,
                 focal_sd_px: float = 0.0) -> VerticalFit | None:
    """Roll and pitch (degrees) of the camera whose scene vertical has the image tilts tilt_deg (L,) at the pixels
    at_xy (L, 2), by least squares with the pitch's prior (mean, SD).

    sd_deg: each line's SD (degrees); where it is NaN (the room's lines) it is the lines' own robust scatter about
    the fit (at least MIN_LINE_SD_DEG), and lines off by more than OUTLIER_SIGMAS of it are dropped (not the world's
    verticals: a leaning object, an edge of a shadow); None: all NaN.
    horizon: a vanishing point of horizontal lines (gaitlab.core.scene.vanishing_point), with focal_sd_px > 0 the
    focal length's SD about k's: the focal length is then fitted as well, with that prior. The verticals' convergence
    across the frame measures tan(pitch) / f and the horizon's height f x tan(pitch); with an assumed focal length
    the two disagree by (f_true / f)^2 (the vertical and horizontal vanishing points of one camera are orthogonal
    directions: Caprile & Torre 1990, IJCV 4:127-139), and lines at one edge of the frame then put that disagreement
    into the roll.
    None when fewer than MIN_SCENE_LINES such lines are kept (lines of a given SD alone are never enough)."""
    from scipy.optimize import least_squares

    # here: gaitlab.core.result, which gaitlab.core.uncertainty imports, imports this module
    from gaitlab.core.uncertainty import OUTLIER_SIGMAS, robust_sd

    tilt, xy = np.asarray(tilt_deg, float), np.asarray(at_xy, float).reshape(-1, 2)
    given = np.full(len(tilt), np.nan) if sd_deg is None else np.asarray(sd_deg, float)
    free = ~np.isfinite(given)
    f0 = float(k[0, 0])
    with_focal = horizon is not None and focal_sd_px > 0
    if horizon is not None:  # the horizon's pitch SD from the point's covariance alone (the focal length is fitted)
        horizon_sd = max(_point_pitch_sd_deg(horizon, float(np.median(tilt)), k), MIN_LINE_SD_DEG)

    def camera(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # p: roll, pitch (degrees)[, focal / f0]
        kk = k if not with_focal else intrinsics(2 * k[0, 2], 2 * k[1, 2], p[2] * f0)
        return camera_rotation(0.0, p[1], p[0]), kk

    def solve(keep: np.ndarray, scatter: float, start: list[float]):
        sd = np.where(free, scatter, given)[keep]

        def residual(p: np.ndarray) -> np.ndarray:
            r, kk = camera(p)
            parts = [(screen_tilt_of_vertical_deg(xy[keep], r, kk) - tilt[keep]) / sd,
                     [(p[1] - pitch_prior[0]) / pitch_prior[1]]]
            if horizon is not None:
                parts.append([(horizon_pitch_deg(horizon.xy, p[0], kk) - p[1]) / horizon_sd])
            if with_focal:
                parts.append([(p[2] - 1.0) * f0 / focal_sd_px])
            return np.concatenate(parts)

        return least_squares(residual, start, xtol=1e-10, ftol=1e-10)

    start = [float(np.median(tilt)), pitch_prior[0]] + ([1.0] if with_focal else [])
    keep, scatter = np.ones(len(tilt), bool), MIN_LINE_SD_DEG
    for _ in range(FIT_ROUNDS):
        if (keep & free).sum() < MIN_SCENE_LINES:
            return None
        sol = solve(keep, scatter, start)
        off = screen_tilt_of_vertical_deg(xy, *camera(sol.x)) - tilt
        scatter = max(robust_sd(off[keep & free]), MIN_LINE_SD_DEG)
        keep = ~free | (np.abs(off) <= OUTLIER_SIGMAS * scatter)
    if (keep & free).sum() < MIN_SCENE_LINES:
        return None
    sol = solve(keep, scatter, start)
    sd = np.sqrt(np.diag(np.linalg.inv(sol.jac.T @ sol.jac)))
    return VerticalFit(float(sol.x[0]), float(sd[0]), float(sol.x[1]), float(sd[1]), int((keep & free).sum()),
                       float(sol.x[2]) * f0 if with_focal else f0, float(sd[2]) * f0 if with_focal else 0.0)


def pose_from_image(hip_xy: tuple[float, float], vertical_tilt_deg: float, k: np.ndarray,
                    pitch_deg: float = 0.0, roll_deg: float | None = None) -> tuple[float, float]:
    """(yaw_deg, roll_deg) of a camera with pitch pitch_deg that sees the hips at the pixel hip_xy on the line of
    travel (the hips' ray lies in the vertical plane of the walk: a camera behind or in front of the walk, turned
    about its own axes) and the scene's vertical there tilted by vertical_tilt_deg (screen_tilt_of_vertical_deg); a
    roll_deg given (read elsewhere: the room's lines) is kept and only the yaw solved."""
    from scipy.optimize import least_squares

    ray = rays(np.asarray(hip_xy, float), k)

    def residual(p: np.ndarray) -> np.ndarray:
        r = camera_rotation(p[0], pitch_deg, p[1] if roll_deg is None else roll_deg)
        lateral = np.degrees((r.T @ ray)[0] / np.linalg.norm(ray))
        if roll_deg is not None:
            return np.array([lateral])
        return np.array([lateral, float(screen_tilt_of_vertical_deg(np.asarray(hip_xy, float), r, k)) - vertical_tilt_deg])

    start = [-math.degrees(math.atan(ray[0]))] + ([vertical_tilt_deg] if roll_deg is None else [])
    sol = least_squares(residual, start, xtol=1e-12, ftol=1e-12)
    return float(sol.x[0]), float(sol.x[1]) if roll_deg is None else float(roll_deg)


def estimate_camera_pose(hip_xy: np.ndarray, body_axis_tilt_deg: np.ndarray, width: int, height: int,
                         focal_35mm: float = PHONE_FOCAL_35MM, pitch_deg: float = 0.0,
                         pitch_sd_deg: float = PITCH_PRIOR_SD_DEG,
                         room_lines: tuple[np.ndarray, np.ndarray] | None = None,
                         horizon_point: VanishingPoint | None = None,
                         body_length: tuple[float, float] | None = None) -> CameraPose:
    """The camera's pose relative to the person and their line of travel, from the image landmarks and, where the
    room shows them, its vertical lines.

    Parameters
    ----------
    hip_xy : numpy.ndarray
        (N, 2) the hip-landmark midpoint per frame, pixels (NaN where not found).
    body_axis_tilt_deg : numpy.ndarray
        (N,) the shoulder-midpoint -> ankle-midpoint line's tilt from image vertical per frame, degrees, positive =
        top toward image right (gaitlab.core.obliquity.body_axis_tilt_deg): over a walk the person is upright on
        average, so its median is the image of the scene's vertical at the hips.
    width, height : int
        The upright frame, pixels.
    focal_35mm : float
        The assumed 35-mm-equivalent focal length, mm (PHONE_FOCAL_35MM).
    pitch_deg, pitch_sd_deg : float
        The pitch's prior (down positive) and its SD, degrees: the body's vertical seen off the image's centre
        column tilts by about roll + tan(yaw) * tan(pitch), one line for two unknowns. The frontal-plane angle of the
        pelvis depends on the pitch only to second order once the roll is solved from that same line (the two
        perspective terms cancel to first order).
    room_lines : (numpy.ndarray, numpy.ndarray) or None
        The room's distinct near-vertical lines, (tilt_deg (L,), midpoint_px (L, 2)) (gaitlab.core.scene.room_lines):
        with at least MIN_SCENE_LINES of them, roll and pitch are fitted to them and the body's axis together
        (fit_vertical; the body as one line of SD BODY_AXIS_LEAN_SD_DEG), and body_lean_deg says how far the body's
        axis leans from the room's vertical.
    horizon_point : VanishingPoint or None
        Where the room's horizontal lines meet (gaitlab.core.scene.vanishing_point), a point of the horizon. With the
        room's verticals it is fitted with them, and the focal length with both (fit_vertical); alone it sets the
        pitch (horizon_pitch_deg at the roll found, its SD from the point's and the focal length's) in place of
        pitch_deg and pitch_sd_deg.
    body_length : (float, float) or None
        The same body line's length in metres (MediaPipe's world landmarks) and in pixels
        (gaitlab.core.obliquity.body_length): the image's scale at the hips, which with a measured pitch gives
        the camera's height above the hips (with the pitch from the horizon the focal length cancels to first
        order: the hips' rows below the horizon times metres per pixel); its SD from BODY_SCALE_SD_FRAC and the
        pitch's. NaN where the pitch is only the prior.

    Returns
    -------
    CameraPose
        yaw from where the hips are (the camera taken to be on the line of travel, turned about its own axes: the
        ray to the hips lies in the vertical plane of the walk); roll and pitch from the room's lines and the body's
        axis (and the focal length, where the horizon is seen too), or, without the room's verticals, the roll
        solved so that the scene's vertical at the hips has the body axis' median tilt and the pitch from the horizon
        or as given; SDs from the fit and the focal length's uncertainty (and the pitch's, without the room; the body
        axis' own scatter is counted apart: gaitlab.core.analysis); the height above the hips where the pitch was
        measured. NaN angles when no frame shows the person.
    """
    # here: gaitlab.core.result, which gaitlab.core.uncertainty imports, imports this module
    from gaitlab.core.uncertainty import OUTLIER_SIGMAS

    hip_xy = np.asarray(hip_xy, float)
    tilt = np.asarray(body_axis_tilt_deg, float)
    ok = np.isfinite(hip_xy).all(axis=1) & np.isfinite(tilt)
    f = focal_px(width, height, focal_35mm)
    nan = float("nan")
    if not ok.any():
        return CameraPose(nan, nan, pitch_deg, pitch_sd_deg, nan, nan, nan, nan, f, focal_35mm, nan, 0)
    hip = np.median(hip_xy[ok], axis=0)
    tau = float(np.median(tilt[ok]))
    bearing = math.degrees(math.atan((hip[0] - width / 2.0) / f))
    prior = (pitch_deg, pitch_sd_deg)

    def with_room(f35: float, horizon: VanishingPoint | None = None) -> VerticalFit | None:
        if room_lines is None or len(room_lines[0]) < MIN_SCENE_LINES:
            return None
        lines_tilt, lines_xy = room_lines
        return fit_vertical(np.append(lines_tilt, tau), np.vstack([lines_xy, hip]),
                            np.append(np.full(len(lines_tilt), np.nan), BODY_AXIS_LEAN_SD_DEG),
                            intrinsics(width, height, focal_px(width, height, f35)), prior, horizon, focal_prior_sd)

    focal_prior_sd = focal_sd = focal_px(width, height, focal_35mm + PHONE_FOCAL_35MM_SD) - f
    k = k_assumed = intrinsics(width, height, f)
    k_f = intrinsics(width, height, f + focal_sd)
    apart = horizon_apart_sd(horizon_point, with_room, width, height, focal_35mm) if horizon_point is not None else nan
    # Apart, one of the two is wrong or the lens is not a main camera's. Where the verticals read the pitch the more
    # precisely (lines across the frame), the horizon is left out: fitted together, the lines' scatter would swell to
    # hold both and the roll move. Where the horizon does (the verticals along one wall, which trade roll for pitch),
    # it stays in the fit, which then drops the verticals that disagree with it.
    if abs(apart) > OUTLIER_SIGMAS:
        verticals = with_room(focal_35mm)
        if verticals.pitch_sd_deg < _point_pitch_sd_deg(horizon_point, verticals.roll_deg, k):
            horizon_point = None
    room = with_room(focal_35mm, horizon_point)
    if room is None and horizon_point is not None:  # the horizon alone: its pitch at the body's roll
        roll = tau
        for _ in range(3):  # the horizon's pitch moves with the roll only through the point's distance from centre
            prior = _horizon_prior(horizon_point, roll, width, height, focal_35mm)
            roll = pose_from_image(hip, tau, k, prior[0])[1]
        pitch_deg, pitch_sd_deg = prior
    if room is None:
        yaw, roll = pose_from_image(hip, tau, k, pitch_deg)
        # one SD from each uncertain input, by finite differences: the focal length, the pitch
        yaw_f, roll_f = pose_from_image(hip, tau, k_f, pitch_deg)
        yaw_p, roll_p = pose_from_image(hip, tau, k, pitch_deg + pitch_sd_deg)
        above, above_sd = (_height_above_hips(hip, k, (yaw, pitch_deg, roll), pitch_sd_deg, body_length)
                           if horizon_point is not None else (nan, nan))
        return CameraPose(yaw, math.hypot(yaw_f - yaw, yaw_p - yaw), pitch_deg, pitch_sd_deg, roll,
                          math.hypot(roll_f - roll, roll_p - roll), above, above_sd, f, focal_35mm, bearing,
                          int(ok.sum()), horizon_lines=horizon_point.lines if horizon_point is not None else 0,
                          horizon_apart_sd=apart)
    pitch, roll = room.pitch_deg, room.roll_deg
    if horizon_point is not None:  # the focal length fitted with roll and pitch: their SDs hold its uncertainty
        f, focal, focal_sd = room.focal_px, room, room.focal_sd_px
        k, k_f = intrinsics(width, height, f), intrinsics(width, height, f + focal_sd)
    else:
        focal = with_room(focal_35mm + PHONE_FOCAL_35MM_SD) or room
    yaw = pose_from_image(hip, tau, k, pitch, roll)[0]
    yaw_f = pose_from_image(hip, tau, k_f, focal.pitch_deg, focal.roll_deg)[0]
    yaw_p = pose_from_image(hip, tau, k, pitch + room.pitch_sd_deg, roll)[0]
    # the body's lean from the room: its axis' roll at the room's pitch minus the room's own roll (without the body)
    alone = fit_vertical(*room_lines, None, k_assumed, prior, horizon_point, focal_prior_sd)
    lean = nan if alone is None else \
        pose_from_image(hip, tau, intrinsics(width, height, alone.focal_px), alone.pitch_deg)[1] - alone.roll_deg
    pitch_sd = math.hypot(room.pitch_sd_deg, focal.pitch_deg - pitch)
    above, above_sd = _height_above_hips(hip, k, (yaw, pitch, roll), pitch_sd, body_length)
    return CameraPose(yaw, math.hypot(yaw_f - yaw, yaw_p - yaw), pitch, pitch_sd, roll,
                      math.hypot(room.roll_sd_deg, focal.roll_deg - roll), above, above_sd, f,
                      f * FULL_FRAME_DIAGONAL_MM / math.hypot(width, height), bearing, int(ok.sum()), room.lines,
                      horizon_point.lines if horizon_point is not None else 0, lean, horizon_point is not None, apart)


def horizon_apart_sd(point: VanishingPoint, verticals: Callable[[float], VerticalFit | None], width: int, height: int,
                     focal_35mm: float) -> float:
    """How far apart, in SDs, the pitch the horizon gives (horizon_pitch_deg of point) and the pitch the room's
    verticals give (verticals(f35): their fit at that 35-mm-equivalent focal length, None with too few lines: NaN)
    are, at the focal length within OUTLIER_SIGMAS SDs of the lens prior that brings them closest; positive where a
    longer lens would bring them together (a zoomed clip), negative where a shorter one would (a wide-angle lens).

    The verticals' convergence measures tan(pitch) / f and the horizon's height f x tan(pitch) (fit_vertical), so
    their difference shrinks monotonically toward the focal length they agree at: one within that range gives 0;
    else the difference at the nearer end, over the two pitches' SDs from the lines alone. Beyond OUTLIER_SIGMAS no
    phone's main camera explains them: the lens is another (zoomed, wide-angle), the lines taken for level are not,
    or the verticals kept are not the room's (estimate_camera_pose decides which by their precision)."""
    from gaitlab.core.uncertainty import OUTLIER_SIGMAS

    ends = []
    for f35 in (focal_35mm - OUTLIER_SIGMAS * PHONE_FOCAL_35MM_SD, focal_35mm + OUTLIER_SIGMAS * PHONE_FOCAL_35MM_SD):
        fit = verticals(f35)
        if fit is None:
            return float("nan")
        k = intrinsics(width, height, focal_px(width, height, f35))
        ends.append((horizon_pitch_deg(point.xy, fit.roll_deg, k) - fit.pitch_deg,
                     math.hypot(_point_pitch_sd_deg(point, fit.roll_deg, k), fit.pitch_sd_deg)))
    (d_short, sd_short), (d_long, sd_long) = ends
    if d_short * d_long <= 0:
        return 0.0
    return abs(d_long) / sd_long if abs(d_long) < abs(d_short) else -abs(d_short) / sd_short


def _height_above_hips(hip_xy: np.ndarray, k: np.ndarray, pose: tuple[float, float, float], pitch_sd_deg: float,
                       body_length: tuple[float, float] | None) -> tuple[float, float]:
    """(metres, SD): how far the camera with pose (yaw, pitch, roll), degrees, is above the hips seen at hip_xy, at
    the depth where body_length's (metres, pixels) line has its length (depth = f x metres / pixels); NaN without a
    body_length."""
    if body_length is None or not all(math.isfinite(x) and x > 0 for x in body_length):
        return float("nan"), float("nan")
    depth = k[0, 0] * body_length[0] / body_length[1]

    def above(pitch: float, scale: float) -> float:
        offset = camera_rotation(pose[0], pitch, pose[2]).T @ (scale * depth * rays(hip_xy, k))
        return float(-offset[2])

    h = above(pose[1], 1.0)
    return h, math.hypot(above(pose[1] + pitch_sd_deg, 1.0) - h, above(pose[1], 1.0 + BODY_SCALE_SD_FRAC) - h)


def _horizon_prior(point: VanishingPoint, roll_deg: float, width: int, height: int, focal_35mm: float
                   ) -> tuple[float, float]:
    """(pitch, SD), degrees: horizon_pitch_deg of the horizontal lines' vanishing point at this roll, its SD from the
    point's covariance and from PHONE_FOCAL_35MM_SD."""
    k = intrinsics(width, height, focal_px(width, height, focal_35mm))
    pitch = horizon_pitch_deg(point.xy, roll_deg, k)
    k_f = intrinsics(width, height, focal_px(width, height, focal_35mm + PHONE_FOCAL_35MM_SD))
    return pitch, math.hypot(_point_pitch_sd_deg(point, roll_deg, k), horizon_pitch_deg(point.xy, roll_deg, k_f) - pitch)


def _point_pitch_sd_deg(point: VanishingPoint, roll_deg: float, k: np.ndarray) -> float:
    """One SD, degrees, of horizon_pitch_deg from the vanishing point's covariance (its gradient over a pixel each
    way)."""
    pitch = horizon_pitch_deg(point.xy, roll_deg, k)
    grad = np.array([horizon_pitch_deg(point.xy + d, roll_deg, k) - pitch for d in np.eye(2)])
    return math.sqrt(max(float(grad @ point.cov_px2 @ grad), 0.0))


def conversion_sd_deg(pose: CameraPose, hip_xy: tuple[float, float], screen_angle_deg: float, width: int,
                      height: int, tilt_deg: float) -> float:
    """One SD, degrees, of the frontal-plane angle of a line at screen_angle_deg through hip_xy that the pose's
    uncertain inputs give (the focal length's PHONE_FOCAL_35MM_SD and the pitch's SD, each re-solving yaw and roll
    from the same image: estimate_camera_pose, the roll kept where the room's lines gave it); shared by every step of
    the clip. tilt_deg: the body axis' median tilt the pose was solved with. The roll's own part (the body axis'
    spread, or the room's fit) is counted apart."""
    if not (math.isfinite(pose.yaw_deg) and math.isfinite(screen_angle_deg)):
        return 0.0
    hip = np.asarray(hip_xy, float)
    k = intrinsics(width, height, pose.focal_px)
    base = float(frontal_angle_deg(screen_angle_deg, hip, pose.rotation, k))
    parts = []
    for f35, pitch in ((pose.focal_35mm + PHONE_FOCAL_35MM_SD, pose.pitch_deg),
                       (pose.focal_35mm, pose.pitch_deg + pose.pitch_sd_deg)):
        kk = intrinsics(width, height, focal_px(width, height, f35))
        yaw, roll = pose_from_image(hip, tilt_deg, kk, pitch, pose.roll_deg if pose.room_lines else None)
        parts.append(float(frontal_angle_deg(screen_angle_deg, hip, camera_rotation(yaw, pitch, roll), kk)) - base)
    return float(math.hypot(*parts))
