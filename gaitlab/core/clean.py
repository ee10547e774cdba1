"""Signal cleaning: drop low-visibility landmarks, fill only short gaps, low-pass without shaving peaks."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.signal import butter, filtfilt

from gaitlab.core.track import (
    LEFT_ANKLE,
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    RIGHT_ANKLE,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    PoseTrack,
    frame_rate_hz,
)

MIN_VISIBILITY = 0.5  # MediaPipe's own cut for "visible"
MAX_GAP_S = 0.1  # longer gaps are left as gaps: a drop peak can hide in 0.1 s of running
# A heel or toe hidden while its ankle is seen is carried by the ankle (the foot is rigid: heel and toe sit 5-20 cm
# from the ankle, turning with the foot's pitch) for at most this long: about a running contact or a walking
# single-leg stance (0.2-0.4 s), within which the foot turns through at most one phase of its pitch, so the offset
# from the ankle interpolated between the gap's ends misses the landmark by a few cm at most - a fraction of the
# foot's travel in a step (tens of cm). Longer, the foot's own motion relative to the ankle (its pitch, which
# times the contacts) would be invented.
MAX_FOOT_CARRY_S = 0.3
_FOOT_PARTS = ((LEFT_ANKLE, (LEFT_HEEL, LEFT_FOOT_INDEX)), (RIGHT_ANKLE, (RIGHT_HEEL, RIGHT_FOOT_INDEX)))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(start, stop_exclusive)] of the True runs of a boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def fill_short_gaps(x: np.ndarray, time_s: np.ndarray, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """Linearly interpolate NaN runs whose missing frames span at most max_gap_s (e.g. 3 frames at 30 fps)."""
    x = np.array(x, dtype=float)
    finite = np.isfinite(x)
    frame_s = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 0.0
    for a, b in runs(~finite):
        if a == 0 or b == len(x):
            continue
        if time_s[b] - time_s[a - 1] - frame_s <= max_gap_s + 1e-6:
            x[a:b] = np.interp(time_s[a:b], [time_s[a - 1], time_s[b]], [x[a - 1], x[b]])
    return x


def carry_by_anchor(x: np.ndarray, anchor: np.ndarray, time_s: np.ndarray,
                    max_gap_s: float = MAX_FOOT_CARRY_S) -> np.ndarray:
    """x with its NaN runs filled as anchor + the offset (x - anchor) interpolated linearly between the run's two
    ends, where the run lasts at most max_gap_s (from the last frame before it to the first after, less a frame
    interval, as fill_short_gaps), is bounded by x on both sides and the anchor is seen throughout it."""
    x = np.array(x, dtype=float)
    frame_s = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 0.0
    for a, b in runs(~np.isfinite(x)):
        if a == 0 or b == len(x) or not np.isfinite(anchor[a - 1:b + 1]).all():
            continue
        if time_s[b] - time_s[a - 1] - frame_s <= max_gap_s + 1e-6:
            off = np.interp(time_s[a:b], [time_s[a - 1], time_s[b]], [x[a - 1] - anchor[a - 1], x[b] - anchor[b]])
            x[a:b] = anchor[a:b] + off
    return x


def lowpass(x: np.ndarray, time_s: np.ndarray, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass applied to each NaN-free run separately (NaNs stay NaN)."""
    out = np.array(x, dtype=float)
    fs = frame_rate_hz(time_s)
    if not cutoff_hz < 0.45 * fs:  # also no frame rate (fewer than two frames)
        return out
    b, a = butter(order, cutoff_hz / (fs / 2))
    pad = 3 * max(len(a), len(b))
    for s, e in runs(np.isfinite(out)):
        if e - s > pad:
            out[s:e] = filtfilt(b, a, out[s:e], padlen=pad)
    return out


def clean_track(track: PoseTrack, min_visibility: float = MIN_VISIBILITY,
                max_gap_s: float = MAX_GAP_S) -> PoseTrack:
    """Landmarks below min_visibility, and heels and toes outside the picture, become NaN; gaps up to max_gap_s
    are interpolated; a heel or toe hidden for up to MAX_FOOT_CARRY_S while its ankle is seen is carried by the
    ankle (carry_by_anchor)."""
    image = track.image_xyz.copy()
    world = track.world_xyz.copy()
    hidden = track.visibility < min_visibility
    for _, parts in _FOOT_PARTS:  # a foot landmark outside the picture is MediaPipe's guess, not seen
        for part in parts:
            x, y = track.image_xyz[:, part, 0], track.image_xyz[:, part, 1]
            with np.errstate(invalid="ignore"):
                hidden[:, part] |= (x < 0) | (x > track.width) | (y < 0) | (y > track.height)
    image[hidden] = np.nan
    world[hidden] = np.nan
    for arr in (image, world):
        n, k, d = arr.shape
        flat = arr.reshape(n, k * d)
        for j in range(k * d):
            flat[:, j] = fill_short_gaps(flat[:, j], track.time_s, max_gap_s)
        for ankle, parts in _FOOT_PARTS:
            for part in parts:
                for c in range(d):
                    arr[:, part, c] = carry_by_anchor(arr[:, part, c], arr[:, ankle, c], track.time_s)
    pixel = fill_short_gaps(track.pelvis_pixel_rotation_deg, track.time_s, max_gap_s)
    return replace(track, image_xyz=image, world_xyz=world, pelvis_pixel_rotation_deg=pixel)
