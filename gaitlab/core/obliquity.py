"""Pelvis metrics: camera roll, pelvic obliquity per frame, and each step's contralateral drop.

Two measures of obliquity are made and both reported:
- refined: the pelvis band's rotation measured from the pixels (gaitlab.measure.band), which has the
  right size, put on an absolute level by the band's mirror symmetry (gaitlab.core.level) and corrected
  for camera roll;
- baseline: the line through MediaPipe's hip landmarks, corrected for camera roll. It under-reads
  pelvic drop (it follows only part of the pelvis' tilt) and is shown so the difference is visible.
Conventions: see gaitlab.core.result.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gaitlab.core.camera import CameraPose, frame_axes_tilt_deg, frontal_angle_deg, intrinsics
from gaitlab.core.clean import fill_short_gaps, lowpass
from gaitlab.core.events import GaitEvents, StanceWindow, window_frames
from gaitlab.core.level import (
    SYMMETRY_BAND_HALF_HEIGHT_T,
    SYMMETRY_BAND_HALF_WIDTH_T,
    LevelEstimate,
    estimate_pelvis_level,
)
from gaitlab.core.track import (
    LEFT_ANKLE,
    LEFT_HIP,
    LEFT_KNEE,
    LEFT_SHOULDER,
    RIGHT_ANKLE,
    RIGHT_HIP,
    RIGHT_KNEE,
    RIGHT_SHOULDER,
    PoseTrack,
    frame_rate_hz,
)

# A running drop can last as little as a fast contact (~0.12 s): a 12 Hz zero-phase low-pass keeps
# such a peak within 2% (tested) while removing frame-to-frame jitter at 30-60 fps.
OBLIQUITY_CUTOFF_HZ = 12.0
# A frame whose band registration quality is below this fraction of that of the frames within
# QUALITY_WINDOW_S around it is treated as unmeasured (occlusion by a hand, blur).
MIN_RELATIVE_QUALITY = 0.8
QUALITY_WINDOW_S = 1.0  # about one stride: the typical quality of the band in this stretch of the walk
# A step whose single-leg stance was measured in fewer frames than this fraction is left out.
MIN_MEASURED_FRACTION = 0.6
# A camera turned and tilted toward the person skews the frontal plane's axes apart in the image
# (camera.frame_axes_tilt_deg); the mirror axis that best matches the symmetry band's left and right halves
# (gaitlab.core.level's SYMMETRY_BAND_*) then lies between them, weighted by the band's second moments across and
# along: w = half_width^2 / (half_width^2 + half_height^2) toward the lateral axis's normal (mirror pairs lie across
# the band; least squares over pairs spread uniformly over it), 0.83 here.
MIRROR_AXIS_LATERAL_WEIGHT = SYMMETRY_BAND_HALF_WIDTH_T**2 / (SYMMETRY_BAND_HALF_WIDTH_T**2
                                                              + SYMMETRY_BAND_HALF_HEIGHT_T**2)


def image_line_angle_deg(left_xy: np.ndarray, right_xy: np.ndarray) -> np.ndarray:
    """Angle of the left->right line from image horizontal, positive = the right point higher."""
    return np.degrees(np.arctan2(left_xy[..., 1] - right_xy[..., 1], np.abs(right_xy[..., 0] - left_xy[..., 0])))


def _body_axis(xyz: np.ndarray, dims: int) -> np.ndarray:
    """(N, dims) the shoulder midpoint minus the ankle midpoint per frame, in the first dims coordinates of xyz."""
    top = 0.5 * (xyz[:, LEFT_SHOULDER, :dims] + xyz[:, RIGHT_SHOULDER, :dims])
    return top - 0.5 * (xyz[:, LEFT_ANKLE, :dims] + xyz[:, RIGHT_ANKLE, :dims])


def body_axis_tilt_deg(track: PoseTrack) -> np.ndarray:
    """Per frame: the shoulder-midpoint -> ankle-midpoint line from image vertical, positive = top
    toward image right. Over a walk it averages to the camera roll (the body is upright on average)."""
    d = _body_axis(track.image_xyz, 2)
    return np.degrees(np.arctan2(d[:, 0], -d[:, 1]))


def body_length(track: PoseTrack) -> tuple[float, float]:
    """(metres, pixels): the median length of the same shoulder-midpoint -> ankle-midpoint line in MediaPipe's world
    landmarks and in the image (NaN without a frame showing both): their ratio is the image's scale at the person,
    gaitlab.core.camera.estimate_camera_pose's distance."""
    def length(xyz: np.ndarray, dims: int) -> float:
        d = np.linalg.norm(_body_axis(xyz, dims), axis=1)
        return float(np.nanmedian(d)) if np.isfinite(d).any() else float("nan")

    return length(track.world_xyz, 3), length(track.image_xyz, 2)


def estimate_camera_roll_deg(track: PoseTrack) -> float:
    """Camera roll, positive = camera turned counter-clockwise as seen from behind it (the scene
    then appears turned clockwise, tilting the upright body's top toward image right)."""
    tilt = body_axis_tilt_deg(track)
    return float(np.nanmedian(tilt)) if np.isfinite(tilt).any() else 0.0


def view_sign(view: str) -> float:
    """+1 when filmed from behind (the person's right is image right), -1 from in front."""
    return -1.0 if view == "anterior" else 1.0


def image_to_world(image_obliquity_deg: np.ndarray, roll_deg: float, view: str) -> np.ndarray:
    """Undo camera roll: image obliquity = world obliquity - roll from behind, + roll from in front."""
    return image_obliquity_deg + view_sign(view) * roll_deg


def hip_midpoint_px(track: PoseTrack) -> np.ndarray:
    """(N, 2) the hip landmarks' midpoint per frame, pixels; frames without it take the clip's median (NaN if none)."""
    mid = 0.5 * (track.image_xyz[:, LEFT_HIP, :2] + track.image_xyz[:, RIGHT_HIP, :2])
    ok = np.isfinite(mid).all(axis=1)
    if ok.any():
        mid[~ok] = np.median(mid[ok], axis=0)
    return mid


def image_to_frontal(image_obliquity_deg: np.ndarray, track: PoseTrack, camera: CameraPose, view: str,
                     vertical: bool = False) -> np.ndarray:
    """Pelvic obliquity in the body's frontal plane (degrees, gaitlab.core.result) from the hip line's image
    obliquity (+ = the right hip higher in the image, camera roll not removed), back-projected through the hips'
    pixel in each frame with the camera's pose (gaitlab.core.camera.frontal_angle_deg): undoes the roll and the
    perspective of a camera turned or tilted toward the person. vertical: the obliquity was read as the tilt of the
    pelvis' vertical axis (the band's and its mirror symmetry's, gaitlab.core.level) instead of its transverse
    line: a camera turned or tilted toward the person foreshortens the frontal plane's two directions unequally,
    so the two tilts differ (by cos^2 yaw / cos^2 pitch, off-centre more) and each is taken back as what it is.
    NaN where the input is."""
    k = intrinsics(track.width, track.height, camera.focal_px)
    sign = view_sign(view)
    screen = sign * np.asarray(image_obliquity_deg, float) + (90.0 if vertical else 0.0)
    frontal = frontal_angle_deg(screen, hip_midpoint_px(track), camera.rotation, k)
    if vertical:  # the axis' angle from +X is 90° + its tilt (or -90° + it: a line has two directions)
        frontal = frontal % 180.0 - 90.0
    return sign * frontal


def _image_to_body(image_obliquity_deg: np.ndarray, track: PoseTrack, roll_deg: float, view: str,
                   camera: CameraPose | None, vertical: bool = False) -> np.ndarray:
    """A hip line's (vertical: the pelvis' vertical axis') image obliquity as the body's: into the frontal plane
    with the camera's pose (image_to_frontal), or, without one, with the roll removed."""
    if camera is None:
        return image_to_world(image_obliquity_deg, roll_deg, view)
    return image_to_frontal(image_obliquity_deg, track, camera, view, vertical)


def baseline_obliquity_deg(track: PoseTrack, roll_deg: float, view: str, camera: CameraPose | None = None
                           ) -> np.ndarray:
    """Per frame: the baseline pelvic obliquity, degrees (+ = right hip higher, gaitlab.core.result), from the line
    through the hip landmarks (the track's labels, taken as anatomical), with the camera roll roll_deg removed as
    seen from `view` ("anterior", else posterior: the roll's sign in the image depends on it), or, given the
    camera's pose, taken into the frontal plane (image_to_frontal)."""
    io = image_line_angle_deg(track.image_xyz[:, LEFT_HIP, :2], track.image_xyz[:, RIGHT_HIP, :2])
    return _image_to_body(io, track, roll_deg, view, camera)


def trunk_lean_right_deg(track: PoseTrack, roll_deg: float, view: str) -> np.ndarray:
    """Hip-midpoint -> shoulder-midpoint line from vertical, positive = toward the person's right."""
    im = track.image_xyz
    top = 0.5 * (im[:, LEFT_SHOULDER, :2] + im[:, RIGHT_SHOULDER, :2])
    hip = 0.5 * (im[:, LEFT_HIP, :2] + im[:, RIGHT_HIP, :2])
    d = top - hip
    toward_image_right = np.degrees(np.arctan2(d[:, 0], -d[:, 1])) - roll_deg
    return view_sign(view) * toward_image_right


def knee_bend_2d_deg(track: PoseTrack, side: str) -> np.ndarray:
    """180° minus the hip-knee-ankle angle in the image: a hint of a compensation, not a goniometer. A frontal
    view cannot see the knee's sagittal flexion (foreshortening), so the analysis uses it in side views only."""
    hip, knee, ankle = ((LEFT_HIP, LEFT_KNEE, LEFT_ANKLE) if side == "left"
                        else (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE))
    im = track.image_xyz
    a = im[:, hip, :2] - im[:, knee, :2]
    b = im[:, ankle, :2] - im[:, knee, :2]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1, 1)))


def reliable_rotation(track: PoseTrack, window_s: float = QUALITY_WINDOW_S,
                      min_relative_quality: float = MIN_RELATIVE_QUALITY) -> np.ndarray:
    """The band rotation with frames whose registration quality falls well below that of the frames
    around them set to NaN (a hand swinging over the pelvis, motion blur), then short gaps refilled."""
    from scipy.ndimage import median_filter

    q = np.where(np.isfinite(track.pelvis_pixel_rotation_deg), track.pelvis_pixel_quality, np.nan)
    t = track.time_s
    fps = frame_rate_hz(t)
    size = max(3, int(round(window_s * fps)) | 1) if np.isfinite(fps) else 3
    typical = median_filter(np.nan_to_num(q, nan=0.0), size=size, mode="nearest")
    rotation = np.where(q >= min_relative_quality * typical, track.pelvis_pixel_rotation_deg, np.nan)
    return fill_short_gaps(rotation, t)


def refined_obliquity_deg(track: PoseTrack, roll_deg: float, view: str, events: GaitEvents,
                          cutoff_hz: float = OBLIQUITY_CUTOFF_HZ, camera: CameraPose | None = None,
                          roll_sd_deg: float = 0.0) -> tuple[np.ndarray, LevelEstimate, np.ndarray]:
    """Pixel-measured obliquity, levelled and roll-corrected, low-passed at cutoff_hz; given the camera's pose, taken
    into the body's frontal plane instead (image_to_frontal). Returns it, the level, and the image obliquity (the
    same line's angle in the image, + = right hip higher, roll not removed, low-passed alike). roll_sd_deg: one SD
    of the roll estimate, for weighing the level's cues (gaitlab.core.level.estimate_pelvis_level)."""
    track = replace(track, pelvis_pixel_rotation_deg=reliable_rotation(track))
    level = estimate_pelvis_level(track, events, roll_deg, roll_sd_deg)
    image_obliquity = np.full(len(track), np.nan)
    skew = np.zeros(len(track))  # where the mirror axis sits off the vertical's image (MIRROR_AXIS_LATERAL_WEIGHT)
    if camera is not None:
        lateral, vertical = frame_axes_tilt_deg(hip_midpoint_px(track), camera.rotation,
                                                intrinsics(track.width, track.height, camera.focal_px))
        skew = MIRROR_AXIS_LATERAL_WEIGHT * (lateral - vertical)
    for ref, at_level in level.rotation_at_level_deg.items():
        sel = track.pelvis_pixel_reference == ref
        # the level read in the image (camera_weight: all of it from the symmetry, none from a world cue) is the
        # mirror axis', the band's rotation that of the vertical features: both taken as the vertical's
        skewed = level.camera_weight.get(ref, 0.0) * skew[sel]
        image_obliquity[sel] = view_sign(view) * (track.pelvis_pixel_rotation_deg[sel] - at_level - skewed)
    world = _image_to_body(image_obliquity, track, roll_deg, view, camera, vertical=True)
    return (lowpass(world, track.time_s, cutoff_hz), level, lowpass(image_obliquity, track.time_s, cutoff_hz))


def contralateral_drop_deg(obliquity_deg: np.ndarray, stance_side: str) -> np.ndarray:
    """How far the swing-side hip is below the stance-side hip (positive = Trendelenburg direction)."""
    return obliquity_deg if stance_side == "right" else -obliquity_deg


@dataclass(frozen=True)
class StepPeak:
    """The peak of one stance's contralateral drop (degrees, gaitlab.core.result): its time (s) and frame index."""

    peak_drop_deg: float
    peak_time_s: float
    peak_index: int


def step_peak(time_s: np.ndarray, obliquity_deg: np.ndarray, window: StanceWindow,
              min_measured_fraction: float = MIN_MEASURED_FRACTION) -> StepPeak | None:
    """The peak contralateral drop during one single-leg stance, or None if too little was measured.

    The peak is searched from the frame before the window's first: the other foot's toe-off, which starts the
    window, lies somewhere between that frame and the first (a frame's time stands for the interval to the next),
    and in walking the drop peaks just after it (the end of the loading response): a window found a frame late
    starts past the peak. The frame before lies in double support, where the drop is still building, so it can
    only be the peak when the toe-off was found late."""
    idx = np.flatnonzero(window_frames(time_s, window.start_s, window.end_s))
    if idx.size == 0 or np.isfinite(obliquity_deg[idx]).mean() < min_measured_fraction:
        return None
    if idx[0] > 0:
        idx = np.insert(idx, 0, idx[0] - 1)
    drop = contralateral_drop_deg(obliquity_deg[idx], window.side)
    k = int(idx[np.nanargmax(drop)])
    return StepPeak(float(np.nanmax(drop)), float(time_s[k]), k)
