"""The world's vertical from the room's straight lines: the camera's roll and pitch.

A scene vertical (a door frame, a shelf's upright, a treadmill post, the edge of a wall) seen by a pinhole camera
with pitch p and roll r runs toward the vertical vanishing point: in the image it is tilted from the image vertical
by the roll, plus a convergence that grows with its distance from the frame's centre column and with the pitch
(gaitlab.core.camera.screen_tilt_of_vertical_deg; a pan about the vertical, the yaw, does not move it). The tilts of
verticals seen in different columns therefore give both r and p (fit_vertical). Lines in one narrow band of columns
(one wall's edge) show one tilt for two unknowns: there the pitch leans on its prior and the roll's uncertainty says
how far that leaves it open. The body's mean axis at the hips is one more such line
(gaitlab.core.camera.estimate_camera_pose), upright only on average and only for a person who does not lean.

The same lines are found again in every sampled frame (the camera stands still): they are merged into distinct
lines first (distinct_lines), so that a line counts once however often it was seen. Segments lying on the floor in
front of the person (seams, a treadmill's belt edges) run toward the horizon, not up, and are left out.

Angles in degrees, pixels, conventions of gaitlab.core.camera.
"""
from __future__ import annotations

import numpy as np

from gaitlab.core.camera import MIN_SCENE_LINES, fit_vertical
from gaitlab.core.track import LEFT_FOOT_INDEX, LEFT_HEEL, RIGHT_FOOT_INDEX, RIGHT_HEEL, PoseTrack
from gaitlab.core.uncertainty import robust_sd

# Segments of one line seen in different frames (or pieces of one line broken by an occlusion) lie along each other:
# within this angle, degrees (LSD's angle on a segment of 5 % of the frame's height is good to ~1°)...
SAME_LINE_DEG = 1.0
# ...and within this distance across, as a fraction of the frame's height (~5 px at 1080p: the end points' jitter)
SAME_LINE_FRAC = 0.005
# A room's line stands still with the camera: it is found again in at least this share of the sampled frames (the
# person may hide it in the others); an edge found in fewer is a passing one - a shadow, an arm, or the blocks of the
# video's compression, which change with every frame's picture
MIN_LINE_FRAMES_FRAC = 0.5
# A camera has turned during the clip when the roll read in single frames scatters by more than this many of those
# readings' own SDs (3: a chance of ~0.3 % for normal errors), over at least this many frames with enough lines
MOVED_SIGMAS = 3.0
MIN_MOVING_FRAMES = 3


def segment_tilt_deg(segments_px: np.ndarray) -> np.ndarray:
    """(K,) each segment's tilt from the image vertical, degrees, positive = its top toward image right (as
    screen_tilt_of_vertical_deg); segments as x1, y1, x2, y2 with y1 <= y2 (top end first)."""
    s = np.asarray(segments_px, float).reshape(-1, 4)
    return np.degrees(np.arctan2(s[:, 0] - s[:, 2], s[:, 3] - s[:, 1]))


def off_floor(segments_px: np.ndarray, segment_frame: np.ndarray, image_xyz: np.ndarray) -> np.ndarray:
    """(K,) bool: the segment reaches above the person's feet in its frame (a segment wholly below them lies on the
    floor nearer the camera than the person: a seam or a belt's edge running toward the horizon, not up); True where
    the feet were not found."""
    s = np.asarray(segments_px, float).reshape(-1, 4)
    feet = image_xyz[np.asarray(segment_frame, int)][:, [LEFT_HEEL, RIGHT_HEEL, LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX], 1]
    found = np.isfinite(feet).any(axis=1)
    lowest = np.where(found, np.nanmax(np.where(np.isfinite(feet), feet, -np.inf), axis=1), np.inf)
    return s[:, 1] < lowest


def distinct_lines(segments_px: np.ndarray, segment_frame: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The segments merged into distinct lines (module docstring): (tilt_deg (L,), midpoint_px (L, 2)) per line seen
    in at least MIN_LINE_FRAMES_FRAC of the frames the segments come from, its tilt the median of its segments' and
    its midpoint their mean. Longest segments first, each joins the first line it lies along (SAME_LINE_DEG,
    SAME_LINE_FRAC) or starts one."""
    s = np.asarray(segments_px, float).reshape(-1, 4)
    frame = np.asarray(segment_frame).reshape(-1)
    order = np.argsort(-np.hypot(s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]))
    tilt, mid = segment_tilt_deg(s), 0.5 * (s[:, :2] + s[:, 2:])
    lines: list[list[int]] = []
    for i in order:
        for members in lines:
            j = members[0]
            down = np.array([-np.sin(np.radians(tilt[j])), np.cos(np.radians(tilt[j]))])  # along the line, downward
            d = mid[i] - mid[j]
            across = abs(down[0] * d[1] - down[1] * d[0])
            if abs(tilt[i] - tilt[j]) <= SAME_LINE_DEG and across <= SAME_LINE_FRAC * height:
                members.append(i)
                break
        else:
            lines.append([i])
    frames = len(np.unique(frame))
    lines = [m for m in lines if len(np.unique(frame[m])) >= MIN_LINE_FRAMES_FRAC * frames]
    return (np.array([np.median(tilt[m]) for m in lines]), np.array([mid[m].mean(axis=0) for m in lines]).reshape(-1, 2))


def room_lines(track: PoseTrack) -> tuple[np.ndarray, np.ndarray]:
    """The track's room segments (gaitlab.measure.scene, looked for about once a second) off the floor in front of
    the person, as distinct lines found again in at least half the sampled frames (distinct_lines): (tilt_deg (L,),
    midpoint_px (L, 2)), for gaitlab.core.camera.estimate_camera_pose."""
    seg, frame = track.scene_segments_px, track.scene_segment_frame
    kept = off_floor(seg, frame, track.image_xyz)
    return distinct_lines(seg[kept], frame[kept], track.height)


def roll_changes_deg(track: PoseTrack, k: np.ndarray, pitch_prior: tuple[float, float]) -> float | None:
    """How much the camera's roll changes over the clip, degrees (the robust SD of the roll read from the room's lines
    in each sampled frame), where it changes beyond those readings' own uncertainty (MOVED_SIGMAS of their median
    SD) in at least MIN_MOVING_FRAMES frames; else None (a camera that stands still, or a room too bare to tell).

    A tripod does not turn: the same lines give the same roll in every frame. A camera held in the hand, or turned
    to follow the person, tilts as it goes, and the pelvis' tilt, read against the picture, takes in every turn.
    k: the camera's pinhole matrix (gaitlab.core.camera.intrinsics); pitch_prior: (mean, SD), degrees."""
    seg, frame = track.scene_segments_px, track.scene_segment_frame
    up = off_floor(seg, frame, track.image_xyz)
    rolls, sds = [], []
    for f in np.unique(frame):
        this = up & (frame == f)
        tilt, mid = distinct_lines(seg[this], frame[this], track.height)
        fit = fit_vertical(tilt, mid, None, k, pitch_prior) if len(tilt) >= MIN_SCENE_LINES else None
        if fit is not None:
            rolls.append(fit.roll_deg)
            sds.append(fit.roll_sd_deg)
    if len(rolls) < MIN_MOVING_FRAMES:
        return None
    spread = robust_sd(np.array(rolls))
    return spread if spread > MOVED_SIGMAS * float(np.median(sds)) else None
