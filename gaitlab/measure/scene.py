"""The room's straight lines around the person: door frames, shelves, treadmill posts and rails, the edges of walls,
the floor's seams and tiles. The world's vertical and horizon are read from them (gaitlab.core.scene): the camera's
roll and pitch.

Per sampled frame the frame is turned grey and reduced so that its longer side is at most SCENE_MAX_SIDE_PX (a
long line's angle needs no more, and the detector's time grows with the pixels: ~20 ms a frame at that size), line
segments are found by the LSD detector (von Gioi et al. 2012, "LSD: a line segment detector", IPOL 2:35-55; no
parameters to tune), and kept when they are long and clear of the person (gaitlab.core.scene sorts them).

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
# The person's landmarks' box is widened by this fraction of their height on each side (hair, clothes, shoes and
# swinging hands reach beyond the landmarks): no edge of the body is taken for the room's.
PERSON_MARGIN_FRAC = 0.15
# ...and below the lowest landmark by this fraction (~5 cm): the heel and toe landmarks sit a few centimetres above
# the sole, and below the shoes there is only floor.
FLOOR_MARGIN_FRAC = 0.03


def room_segments(rgb: np.ndarray, person_xyz: np.ndarray | None) -> np.ndarray:
    """(K, 4) float: the frame's long line segments clear of the person, as x1, y1, x2, y2 pixels of the full frame
    with y1 <= y2 (the top end first).

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
    long = np.hypot(dx, dy) >= MIN_SEGMENT_HEIGHT_FRAC * h
    if person_xyz is None or np.shape(person_xyz) != (NUM_LANDMARKS, 3) or not np.isfinite(person_xyz[:, :2]).any():
        return seg[long]
    lo, hi = np.nanmin(person_xyz[:, :2], axis=0), np.nanmax(person_xyz[:, :2], axis=0)
    below = seg[:, 1] > hi[1] + FLOOR_MARGIN_FRAC * (hi[1] - lo[1])
    margin = PERSON_MARGIN_FRAC * (hi[1] - lo[1])
    lo, hi = lo - margin, hi + margin
    clear = (np.maximum(seg[:, 0], seg[:, 2]) < lo[0]) | (np.minimum(seg[:, 0], seg[:, 2]) > hi[0]) | \
        (seg[:, 3] < lo[1]) | below
    return seg[long & clear]
