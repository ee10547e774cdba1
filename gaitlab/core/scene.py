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

The room's other straight lines are, nearly all, horizontal: the floor's seams and tiles, skirting boards, shelves,
a treadmill's rails (the "Manhattan world" of Coughlan & Yuille 2003, Neural Computation 15:1063-1088). Parallel
horizontal lines meet in the image at one vanishing point (vanishing_point), and the vanishing point of every
horizontal direction lies on the horizon, whose height in the image is the camera's pitch
(gaitlab.core.camera.horizon_pitch_deg), whichever way the lines run: neither the floor's pattern nor the walk need
be square to the camera. A clip without the room's verticals (a bare wall, a treadmill filmed against the sky)
still has its pitch from the floor.

Angles in degrees, pixels, conventions of gaitlab.core.camera.
"""
from __future__ import annotations

import bisect

import numpy as np

from gaitlab.core.camera import FIT_ROUNDS, MIN_LINE_SD_DEG, MIN_SCENE_LINES, VanishingPoint, fit_vertical
from gaitlab.core.track import LEFT_FOOT_INDEX, LEFT_HEEL, RIGHT_FOOT_INDEX, RIGHT_HEEL, PoseTrack
from gaitlab.core.uncertainty import OUTLIER_SIGMAS, robust_sd

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
# Tilt from the image vertical, degrees, within which a segment may be the image of a scene vertical: the camera
# roll gaitlab corrects (gaitlab.core.analysis.MAX_ROLL_DEG, 10°) plus the convergence of verticals at the frame's
# edge under a camera pitched by up to ~15° (tan 15° x half the frame's width over the focal length, ~8°).
MAX_TILT_FROM_VERTICAL_DEG = 20.0
# Pairs of lines whose meeting point is tried as the vanishing point, at most: with a share w of the lines in the
# family, a pair of two of them turns up among n random pairs with a chance 1 - (1 - w^2)^n, above 99.9 % for w down
# to 6 % (Fischler & Bolles 1981, RANSAC); a room of a few dozen lines is tried whole.
MAX_CANDIDATE_PAIRS = 2000
# Horizontal lines within this angle of the image horizontal, degrees, are left out of the vanishing point: the
# lines across the view meet far out to the side, where a degree of their angle moves the meeting point by a
# frame's width. A camera turned by 11° (the bench's largest yaw) meets them ~5 focal lengths from the centre, which
# tilts them by at most ~8° in a phone's frame, and a roll of up to 10° (gaitlab.core.analysis.MAX_ROLL_DEG) adds
# its own; the lines running away from the camera reach the frame's bottom steeper than this unless far to the side.
MIN_LINE_FROM_HORIZONTAL_DEG = 20.0


def segment_tilt_deg(segments_px: np.ndarray) -> np.ndarray:
    """(K,) each segment's tilt from the image vertical, degrees, positive = its top toward image right (as
    screen_tilt_of_vertical_deg); segments as x1, y1, x2, y2 with y1 <= y2 (top end first)."""
    s = np.asarray(segments_px, float).reshape(-1, 4)
    return np.degrees(np.arctan2(s[:, 0] - s[:, 2], s[:, 3] - s[:, 1]))


def segment_length_px(segments_px: np.ndarray) -> np.ndarray:
    """(K,) each segment's length, pixels; segments as x1, y1, x2, y2."""
    s = np.asarray(segments_px, float).reshape(-1, 4)
    return np.hypot(s[:, 2] - s[:, 0], s[:, 3] - s[:, 1])


def upright(segments_px: np.ndarray, segment_frame: np.ndarray, image_xyz: np.ndarray) -> np.ndarray:
    """(K,) bool: the segment may be the image of a scene vertical: within MAX_TILT_FROM_VERTICAL_DEG of the image
    vertical and off the floor in front of the person (off_floor)."""
    near = np.abs(segment_tilt_deg(segments_px)) <= MAX_TILT_FROM_VERTICAL_DEG
    return near & off_floor(segments_px, segment_frame, image_xyz)


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
    order = np.argsort(-segment_length_px(s))
    tilt, mid = segment_tilt_deg(s), 0.5 * (s[:, :2] + s[:, 2:])
    down = np.stack([-np.sin(np.radians(tilt)), np.cos(np.radians(tilt))], -1)  # along each segment, downward
    # the lines so far, by their first (longest) segment's tilt, so that only those within SAME_LINE_DEG are looked
    # at: a clip filmed in the hand sees thousands of passing edges, and comparing each with every line is quadratic
    by_tilt: list[float] = []
    line_ids: list[int] = []
    firsts = np.empty(len(s), int)  # each line's first segment, by line number
    count = 0
    line_of = np.empty(len(s), int)
    for i in order:
        lo = bisect.bisect_left(by_tilt, tilt[i] - SAME_LINE_DEG)
        hi = bisect.bisect_right(by_tilt, tilt[i] + SAME_LINE_DEG)
        if hi > lo:
            ids = np.array(line_ids[lo:hi])
            j = firsts[ids]
            d = mid[i] - mid[j]
            along = np.abs(down[j, 0] * d[:, 1] - down[j, 1] * d[:, 0]) <= SAME_LINE_FRAC * height
            if along.any():
                line_of[i] = ids[along].min()  # the first line it lies along
                continue
        at = bisect.bisect_right(by_tilt, tilt[i])
        by_tilt.insert(at, float(tilt[i]))
        line_ids.insert(at, count)
        firsts[count], line_of[i] = i, count
        count += 1
    frames = len(np.unique(frame))
    grouped = np.argsort(line_of, kind="stable")
    lines = np.split(grouped, np.cumsum(np.bincount(line_of, minlength=count))[:-1]) if count else []
    lines = [m for m in lines if len(np.unique(frame[m])) >= MIN_LINE_FRAMES_FRAC * frames]
    return (np.array([np.median(tilt[m]) for m in lines]), np.array([mid[m].mean(axis=0) for m in lines]).reshape(-1, 2))


def room_lines(track: PoseTrack) -> tuple[np.ndarray, np.ndarray]:
    """The track's room segments (gaitlab.measure.scene, looked for about once a second) off the floor in front of
    the person, as distinct lines found again in at least half the sampled frames (distinct_lines): (tilt_deg (L,),
    midpoint_px (L, 2)), for gaitlab.core.camera.estimate_camera_pose."""
    seg, frame = track.scene_segments_px, track.scene_segment_frame
    kept = upright(seg, frame, track.image_xyz)
    return distinct_lines(seg[kept], frame[kept], track.height)


def roll_changes_deg(track: PoseTrack, k: np.ndarray, pitch_prior: tuple[float, float]) -> float | None:
    """How much the camera's roll changes over the clip, degrees (the robust SD of the roll read from the room's lines
    in each sampled frame), where it changes beyond those readings' own uncertainty (MOVED_SIGMAS of their median
    SD) in at least MIN_MOVING_FRAMES frames; else None (a camera that stands still, or a room too bare to tell).

    A tripod does not turn: the same lines give the same roll in every frame. A camera held in the hand, or turned
    to follow the person, tilts as it goes, and the pelvis' tilt, read against the picture, takes in every turn.
    k: the camera's pinhole matrix (gaitlab.core.camera.intrinsics); pitch_prior: (mean, SD), degrees."""
    seg, frame = track.scene_segments_px, track.scene_segment_frame
    up = upright(seg, frame, track.image_xyz)
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


def horizontal_lines(track: PoseTrack) -> tuple[np.ndarray, np.ndarray]:
    """The track's segments that are taken for the room's horizontal lines (module docstring): those that cannot be
    verticals (upright's complement: far from the image vertical, or on the floor in front of the person) and are
    steeper than MIN_LINE_FROM_HORIZONTAL_DEG, as distinct lines found again in at least half the sampled frames
    (distinct_lines): (tilt_deg (L,), midpoint_px (L, 2))."""
    seg, frame = track.scene_segments_px, track.scene_segment_frame
    steep = np.abs(segment_tilt_deg(seg)) <= 90.0 - MIN_LINE_FROM_HORIZONTAL_DEG
    kept = ~upright(seg, frame, track.image_xyz) & steep
    return distinct_lines(seg[kept], frame[kept], track.height)


def _angle_off_deg(v: np.ndarray, tilt_deg: np.ndarray, mid_px: np.ndarray) -> np.ndarray:
    """(L,) the angle, degrees, between each line (its tilt from the image vertical through its midpoint) and the
    direction from its midpoint to the point v (2,), whichever end of the line v lies beyond (the floor's lines run
    up to the horizon, the ceiling's and the upper shelves' down to it); signed by the side of the line v is on."""
    t = np.radians(tilt_deg)
    down = np.stack([-np.sin(t), np.cos(t)], -1)
    to_v = v - mid_px
    across = down[:, 0] * to_v[:, 1] - down[:, 1] * to_v[:, 0]
    return np.degrees(np.arcsin(np.clip(across / np.maximum(np.hypot(to_v[:, 0], to_v[:, 1]), 1e-9), -1.0, 1.0)))


def vanishing_point(tilt_deg: np.ndarray, mid_px: np.ndarray) -> VanishingPoint | None:
    """The point most of the lines (tilt_deg (L,) from the image vertical, through mid_px (L, 2)) run toward, by
    consensus then least squares.

    Every pair's meeting point (at most MAX_CANDIDATE_PAIRS of them) is a candidate; the one most lines pass within
    SAME_LINE_DEG of (a short segment's angle is good to about that) wins: a floor of tiles has two families of
    lines, a room a few strays. Then the point is fitted to those lines by least squares on their angles, with the
    lines' own robust scatter about it (at least MIN_LINE_SD_DEG), lines off by more than OUTLIER_SIGMAS of it
    dropped and the point refitted, as gaitlab.core.camera.fit_vertical does. None with fewer than MIN_SCENE_LINES
    lines kept (lines parallel in the image meet nowhere)."""
    from scipy.optimize import least_squares

    tilt, mid = np.asarray(tilt_deg, float).reshape(-1), np.asarray(mid_px, float).reshape(-1, 2)
    if len(tilt) < MIN_SCENE_LINES:
        return None
    t = np.radians(tilt)
    normal = np.stack([np.cos(t), np.sin(t)], -1)  # across each line: normal . (p - mid) = 0 along it
    i, j = np.triu_indices(len(tilt), 1)
    if len(i) > MAX_CANDIDATE_PAIRS:  # a room full of lines: a fixed sample of pairs, the same on every run
        pick = np.sort(np.random.default_rng(0).choice(len(i), MAX_CANDIDATE_PAIRS, replace=False))
        i, j = i[pick], j[pick]
    det = normal[i, 0] * normal[j, 1] - normal[i, 1] * normal[j, 0]
    meets = np.abs(det) >= 1e-6  # lines parallel in the image meet at no finite point
    if not meets.any():
        return None
    i, j, det = i[meets], j[meets], det[meets]
    ci, cj = np.sum(normal[i] * mid[i], 1), np.sum(normal[j] * mid[j], 1)  # Cramer's rule for each pair's point
    points = np.stack([(ci * normal[j, 1] - cj * normal[i, 1]) / det, (normal[i, 0] * cj - normal[j, 0] * ci) / det], -1)
    counts = [int(np.sum(np.abs(_angle_off_deg(v, tilt, mid)) <= SAME_LINE_DEG)) for v in points]
    best = points[int(np.argmax(counts))]  # the first of the most supported, as pairs come in order

    def fit(keep: np.ndarray, start: np.ndarray, scatter: float):
        return least_squares(lambda p: _angle_off_deg(p, tilt[keep], mid[keep]) / scatter, start,
                             xtol=1e-12, ftol=1e-12)

    keep, scatter, v = np.abs(_angle_off_deg(best, tilt, mid)) <= SAME_LINE_DEG, MIN_LINE_SD_DEG, best
    for _ in range(FIT_ROUNDS):
        if keep.sum() < MIN_SCENE_LINES:
            return None
        v = fit(keep, v, scatter).x
        off = _angle_off_deg(v, tilt, mid)
        scatter = max(robust_sd(off[keep]), MIN_LINE_SD_DEG)
        keep = np.abs(off) <= OUTLIER_SIGMAS * scatter
    if keep.sum() < MIN_SCENE_LINES:
        return None
    sol = fit(keep, v, scatter)
    return VanishingPoint(sol.x, np.linalg.inv(sol.jac.T @ sol.jac), int(keep.sum()))
