"""The room's straight lines around the person: door frames, shelves, treadmill posts and rails, the edges of walls,
the floor's seams and tiles. The world's vertical and horizon are read from them (gaitlab.core.scene): the camera's
roll and pitch.

Per sampled frame the frame is turned grey and reduced so that its longer side is at most SCENE_MAX_SIDE_PX (a
long line's angle needs no more, and the detector's time grows with the pixels: ~20 ms a frame at that size), line
segments are found by the LSD detector (von Gioi et al. 2012, "LSD: a line segment detector", IPOL 2:35-55; no
parameters to tune), and kept when they are long and clear of the person (gaitlab.core.scene sorts them).

LSD is not mirror-symmetric (its gradients are taken on 2x2 pixel blocks, half a pixel off each pixel's centre, and
its regions grow in scan order): an edge near its detection limit can be found in a picture and not in its mirror
image (faint constructed edges: 32 segments one way, 36 the other), and whether a line is counted decides whether
the camera's roll comes from the room (gaitlab.core.camera.MIN_SCENE_LINES). So LSD runs on the frame and on its
mirror image, and a segment is kept only where the other pass found the same line (gaitlab.core.scene's
SAME_LINE_DEG, SAME_LINE_FRAC): what is kept then does not depend on which way the picture was mirrored.

Pixels of the full frame, x right, y down (gaitlab.core.track).
"""
from __future__ import annotations

import cv2
import numpy as np

from gaitlab.core.scene import SAME_LINE_DEG, SAME_LINE_FRAC
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
    here = _long(_lsd(grey) / scale, h)
    mirrored = _lsd(np.ascontiguousarray(grey[:, ::-1]))
    mirrored[:, [0, 2]] = grey.shape[1] - 1 - mirrored[:, [0, 2]]
    there = _long(mirrored / scale, h)
    seg = np.vstack([here[_seen_in(here, there, h)], there[_seen_in(there, here, h)]])
    top_first = seg[:, 1] <= seg[:, 3]
    seg = np.where(top_first[:, None], seg, seg[:, [2, 3, 0, 1]])
    if person_xyz is None or np.shape(person_xyz) != (NUM_LANDMARKS, 3) or not np.isfinite(person_xyz[:, :2]).any():
        return seg
    lo, hi = np.nanmin(person_xyz[:, :2], axis=0), np.nanmax(person_xyz[:, :2], axis=0)
    below = seg[:, 1] > hi[1] + FLOOR_MARGIN_FRAC * (hi[1] - lo[1])
    margin = PERSON_MARGIN_FRAC * (hi[1] - lo[1])
    lo, hi = lo - margin, hi + margin
    clear = (np.maximum(seg[:, 0], seg[:, 2]) < lo[0]) | (np.minimum(seg[:, 0], seg[:, 2]) > hi[0]) | \
        (seg[:, 3] < lo[1]) | below
    return seg[clear]


def _lsd(grey: np.ndarray) -> np.ndarray:
    """(K, 4) float: LSD's segments in a grey picture, x1, y1, x2, y2 pixels (none where it finds none)."""
    try:  # a detector of its own: two spans look for lines at once, and a detector keeps state between calls
        found = cv2.createLineSegmentDetector().detect(grey)[0]
    except cv2.error:  # a failed internal check of OpenCV's LSD: that picture shows no lines
        found = None
    return np.zeros((0, 4)) if found is None else found.reshape(-1, 4).astype(float)


def _long(seg: np.ndarray, height: int) -> np.ndarray:
    """The segments at least MIN_SEGMENT_HEIGHT_FRAC of the frame's height long."""
    return seg[np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]) >= MIN_SEGMENT_HEIGHT_FRAC * height]


def _seen_in(seg: np.ndarray, other: np.ndarray, height: int) -> np.ndarray:
    """(K,) bool: each segment lies along one of `other` (within SAME_LINE_DEG, and SAME_LINE_FRAC of the frame's
    height across, measured at the other's midpoint)."""
    if not len(seg) or not len(other):
        return np.zeros(len(seg), bool)
    angle = np.degrees(np.arctan2(seg[:, 3] - seg[:, 1], seg[:, 2] - seg[:, 0]))[:, None]
    other_angle = np.degrees(np.arctan2(other[:, 3] - other[:, 1], other[:, 2] - other[:, 0]))[None, :]
    turn = np.abs(angle - other_angle) % 180.0
    along = np.minimum(turn, 180.0 - turn) <= SAME_LINE_DEG
    length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])[:, None]
    mid = 0.5 * (other[:, :2] + other[:, 2:])
    d = mid[None, :, :] - seg[:, None, :2]
    across = np.abs((seg[:, None, 2] - seg[:, None, 0]) * d[..., 1] - (seg[:, None, 3] - seg[:, None, 1]) * d[..., 0])
    return (along & (across / length <= SAME_LINE_FRAC * height)).any(axis=1)
