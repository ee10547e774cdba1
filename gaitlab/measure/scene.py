"""The room's near-vertical straight lines around the person: door frames, shelves, treadmill posts, the edges of
walls. The world's vertical is read from them (gaitlab.core.scene): the camera's roll and pitch.

Per sampled frame the frame is turned grey and reduced so that its longer side is at most SCENE_MAX_SIDE_PX (a
long line's angle needs no more, and the detector's time grows with the pixels: ~20 ms a frame at that size), line
segments are found by the LSD detector (von Gioi et al. 2012, "LSD: a line segment detector", IPOL 2:35-55; no
parameters to tune), and kept when they are long, near the image vertical and clear of the person.

Pixels of the full frame, x right, y down (gaitlab.core.track).
"""
from __future__ import annotations

import cv2
import numpy as np

from gaitlab.core.track import NUM_LANDMARKS

SCENE_MAX_SIDE_PX = 960
# A segment shorter than this fraction of the frame's height is texture (tiles, fabric, shelves' books) more often
# than structure, and its angle is poor: LSD's end points are good to about a pixel, ~1° on 60 px.
MIN_SEGMENT_HEIGHT_FRAC = 0.05
# Tilt from the image vertical, degrees, within which a segment may be the image of a scene vertical: the camera
# roll gaitlab corrects (gaitlab.core.analysis.MAX_ROLL_DEG, 10°) plus the convergence of verticals at the frame's
# edge under a camera pitched by up to ~15° (tan 15° x half the frame's width over the focal length, ~8°).
MAX_TILT_FROM_VERTICAL_DEG = 20.0
# The person's landmarks' box is widened by this fraction of their height on each side (hair, clothes, shoes and
# swinging hands reach beyond the landmarks): no edge of the body is taken for the room's.
PERSON_MARGIN_FRAC = 0.15


def near_vertical_segments(rgb: np.ndarray, person_xyz: np.ndarray | None) -> np.ndarray:
    """(K, 4) float: the frame's long near-vertical line segments clear of the person, as x1, y1, x2, y2 pixels of
    the full frame with y1 <= y2 (the top end first).

    Parameters
    ----------
    rgb : numpy.ndarray
        (H, W, 3) uint8 frame.
    person_xyz : numpy.ndarray or None
        (33, 3) the person's image landmarks, pixels (NaN where not found), or None: no person in the frame.
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, SCENE_MAX_SIDE_PX / max(h, w))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    try:  # a detector of its own: two spans look for lines at once, and a detector keeps state between calls
        found = cv2.createLineSegmentDetector().detect(grey)[0]
    except cv2.error:  # a failed internal check of OpenCV's LSD: that frame shows no lines
        found = None
    if found is None:
        return np.zeros((0, 4))
    seg = found.reshape(-1, 4).astype(float) / scale
    top_first = seg[:, 1] <= seg[:, 3]
    seg = np.where(top_first[:, None], seg, seg[:, [2, 3, 0, 1]])
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    keep = (np.hypot(dx, dy) >= MIN_SEGMENT_HEIGHT_FRAC * h) & \
        (np.degrees(np.abs(np.arctan2(dx, dy))) <= MAX_TILT_FROM_VERTICAL_DEG)
    if person_xyz is not None and np.shape(person_xyz) == (NUM_LANDMARKS, 3) and np.isfinite(person_xyz[:, :2]).any():
        lo, hi = np.nanmin(person_xyz[:, :2], axis=0), np.nanmax(person_xyz[:, :2], axis=0)
        margin = PERSON_MARGIN_FRAC * (hi[1] - lo[1])
        lo, hi = lo - margin, hi + margin
        clear = (np.maximum(seg[:, 0], seg[:, 2]) < lo[0]) | (np.minimum(seg[:, 0], seg[:, 2]) > hi[0]) | \
            (seg[:, 3] < lo[1]) | (seg[:, 1] > hi[1])
        keep &= clear
    return seg[keep]
