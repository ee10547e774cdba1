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

LSD fits each segment to the pixels of its region, on the reduced frame: an edge that drifts across fewer than a pixel
or two over a run of rows comes out along one pixel column or one staircase step of it, its tilt snapped (on the bench's
treadmill run a wall's edge at 1.4° gave a 68-px piece at exactly 0.000°, and short edges of a constructed wall at 0.5°
read 0.34-0.39°). The camera's roll and pitch are read from tilts of a fraction of a degree, so each segment kept is
fitted again to the edge it lies on, in the full frame: on every pixel along it, where the grey level's change across it
is centred (the centroid of its magnitude near its peak, to a fraction of a pixel: sub-pixel edge location, as in
Canny's and Devernay's detectors), then a straight line through those points (trimmed of outliers, a corner or a
crossing edge), between the segment's own ends.

Pixels of the full frame, x right, y down (gaitlab.core.track).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

from gaitlab.core.scene import (
    MIN_LINE_FROM_HORIZONTAL_DEG,
    SAME_LINE_DEG,
    SAME_LINE_FRAC,
    segment_length_px,
    segment_tilt_deg,
)
from gaitlab.core.track import NUM_LANDMARKS
from gaitlab.core.uncertainty import OUTLIER_SIGMAS, robust_sd

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
# The edge under a segment is looked for this far to either side of it, in pixels of the reduced frame LSD saw (its
# segments lie within about a pixel of their edge there)...
EDGE_SEARCH_PX = 2.0
# ...at this spacing across, full-frame pixels...
EDGE_SAMPLE_PX = 0.5
# ...and where the grey level's change across is largest, its centroid within this distance, full-frame pixels: an edge
# blurred by the lens and the compression spreads over 2-3 pixels; a parallel edge further off is left out.
EDGE_WINDOW_PX = 2.0
# Edge points off the refitted line by more than OUTLIER_SIGMAS robust SDs are dropped (a corner, a crossing edge);
# that SD is taken as no less than this, full-frame pixels (how well an edge's position is found on one row).
EDGE_POSITION_SD_PX = 0.1


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
    full = grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    here = _long(_lsd(grey) / scale, h)
    mirrored = _lsd(np.ascontiguousarray(grey[:, ::-1]))
    mirrored[:, [0, 2]] = grey.shape[1] - 1 - mirrored[:, [0, 2]]
    there = _long(mirrored / scale, h)
    seg = _top_first(np.vstack([here[_seen_in(here, there, h)], there[_seen_in(there, here, h)]]))
    if person_xyz is not None and np.shape(person_xyz) == (NUM_LANDMARKS, 3) and np.isfinite(person_xyz[:, :2]).any():
        seg = seg[_clear_of(seg, person_xyz)]
    return _top_first(_refined(full, seg, EDGE_SEARCH_PX / scale))


def _top_first(seg: np.ndarray) -> np.ndarray:
    """The segments with their top end (the smaller y) first."""
    return np.where((seg[:, 1] <= seg[:, 3])[:, None], seg, seg[:, [2, 3, 0, 1]])


def _clear_of(seg: np.ndarray, person_xyz: np.ndarray) -> np.ndarray:
    """(K,) bool: each segment (top end first) lies clear of the person's widened box, or wholly on the floor below
    their feet."""
    lo, hi = np.nanmin(person_xyz[:, :2], axis=0), np.nanmax(person_xyz[:, :2], axis=0)
    below = seg[:, 1] > hi[1] + FLOOR_MARGIN_FRAC * (hi[1] - lo[1])
    margin = PERSON_MARGIN_FRAC * (hi[1] - lo[1])
    lo, hi = lo - margin, hi + margin
    return (np.maximum(seg[:, 0], seg[:, 2]) < lo[0]) | (np.minimum(seg[:, 0], seg[:, 2]) > hi[0]) | \
        (seg[:, 3] < lo[1]) | below


def _refined(grey: np.ndarray, seg: np.ndarray, search_px: float) -> np.ndarray:
    """The segments (K, 4) fitted again to their edges in the full-frame grey picture (uint8), within search_px
    either side (module docstring); a segment with fewer than half of its points on one straight edge keeps LSD's
    ends, and so does one within MIN_LINE_FROM_HORIZONTAL_DEG of the horizontal, which gaitlab.core.scene leaves
    out."""
    out = seg.copy()
    length = segment_length_px(seg)
    steep = np.abs(segment_tilt_deg(seg)) <= 90.0 - MIN_LINE_FROM_HORIZONTAL_DEG
    todo = np.flatnonzero(steep & (length > 4.0))
    if not len(todo):
        return out
    # every pixel along each segment, a pixel in from each end (where a corner begins), as rows of one array
    along = [np.arange(1.0, length[k] - 1.0) for k in todo]
    owner = np.repeat(np.arange(len(todo)), [len(a) for a in along])
    t = np.concatenate(along)
    start, u = seg[todo, :2], (seg[todo, 2:] - seg[todo, :2]) / length[todo, None]
    normal = np.stack([-u[:, 1], u[:, 0]], -1)
    across = np.arange(-search_px, search_px + EDGE_SAMPLE_PX / 2, EDGE_SAMPLE_PX)
    between = 0.5 * (across[:-1] + across[1:])
    points = (start[owner] + t[:, None] * u[owner])[:, None, :] + across[None, :, None] * normal[owner][:, None, :]
    # bilinear in double precision (OpenCV's remap rounds positions to 1/32 pixel, not alike both ways round), read
    # straight from the 8-bit picture: no copy of the whole frame
    profile = map_coordinates(grey, [points[..., 1], points[..., 0]], order=1, mode="nearest", output=float)
    change = np.abs(np.diff(profile, axis=1))
    centre = between[np.argmax(change, axis=1)]
    for _ in range(3):  # the centroid of the change near its peak, moved to where it is
        weight = change * (np.abs(between[None, :] - centre[:, None]) <= EDGE_WINDOW_PX)
        total = weight.sum(axis=1)
        centre = np.where(total > 0, (weight * between).sum(axis=1) / np.where(total > 0, total, 1.0), centre)
    bounds = np.cumsum([0] + [len(a) for a in along])
    for i, k in enumerate(todo):
        tt, cc, found = t[bounds[i]:bounds[i + 1]], centre[bounds[i]:bounds[i + 1]], total[bounds[i]:bounds[i + 1]] > 0
        keep, enough = found, max(len(tt) / 2, 2)
        for _ in range(2):  # fit, trim the outliers (a corner, a crossing edge)
            if keep.sum() < enough:
                break
            off = cc - _line(tt[keep], cc[keep], tt)
            keep = found & (np.abs(off) <= OUTLIER_SIGMAS * max(robust_sd(off[keep]), EDGE_POSITION_SD_PX))
        if keep.sum() < enough:
            continue
        ends = _line(tt[keep], cc[keep], np.array([0.0, length[k]]))  # fit again: across at the two ends
        out[k, :2] = start[i] + ends[0] * normal[i]
        out[k, 2:] = start[i] + length[k] * u[i] + ends[1] * normal[i]
    return out


def _line(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The least-squares straight line through the points (x, y), at the abscissae `at`."""
    dx = x - x.mean()
    return y.mean() + (dx @ (y - y.mean())) / (dx @ dx) * (at - x.mean())


def _lsd(grey: np.ndarray) -> np.ndarray:
    """(K, 4) float: LSD's segments in a grey picture, x1, y1, x2, y2 pixels (none where it finds none)."""
    try:  # a detector of its own: two spans look for lines at once, and a detector keeps state between calls
        found = cv2.createLineSegmentDetector().detect(grey)[0]
    except cv2.error:  # a failed internal check of OpenCV's LSD: that picture shows no lines
        found = None
    return np.zeros((0, 4)) if found is None else found.reshape(-1, 4).astype(float)


def _long(seg: np.ndarray, height: int) -> np.ndarray:
    """The segments at least MIN_SEGMENT_HEIGHT_FRAC of the frame's height long."""
    return seg[segment_length_px(seg) >= MIN_SEGMENT_HEIGHT_FRAC * height]


def _seen_in(seg: np.ndarray, other: np.ndarray, height: int) -> np.ndarray:
    """(K,) bool: each segment lies along one of `other` (within SAME_LINE_DEG, and SAME_LINE_FRAC of the frame's
    height across, measured at the other's midpoint)."""
    if not len(seg) or not len(other):
        return np.zeros(len(seg), bool)
    # modulo a half turn: which end of a segment comes first does not matter here
    turn = np.abs(segment_tilt_deg(seg)[:, None] - segment_tilt_deg(other)[None, :]) % 180.0
    along = np.minimum(turn, 180.0 - turn) <= SAME_LINE_DEG
    length = segment_length_px(seg)[:, None]
    mid = 0.5 * (other[:, :2] + other[:, 2:])
    d = mid[None, :, :] - seg[:, None, :2]
    across = np.abs((seg[:, None, 2] - seg[:, None, 0]) * d[..., 1] - (seg[:, None, 3] - seg[:, None, 1]) * d[..., 0])
    return (along & (across / length <= SAME_LINE_FRAC * height)).any(axis=1)
