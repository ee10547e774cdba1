"""The pelvis' absolute level: the band rotation at which the hip line is level in the image.

The band tracker (gaitlab.measure.band) gives a precise but relative rotation; the mirror symmetry of the pelvis
region (gaitlab.measure.symmetry) gives a noisy absolute tilt each frame. Here, from those per-frame series alone
(no pixels), the two are put together. Conventions: see gaitlab.core.result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitlab.core.events import GaitEvents
from gaitlab.core.track import PoseTrack
from gaitlab.core.uncertainty import FALLBACK_LEVEL_SD_DEG, median_sd_deg, stride_s


def rotation_at_level(
    rotation_deg: np.ndarray, tilt_deg: np.ndarray, quality: np.ndarray | None = None, min_frames: int = 20
) -> tuple[float, float, int]:
    """Tracker rotation at which the pelvis is level in the image, from per-frame series of
    PelvisBandTracker rotation and PelvisSymmetry tilt (same frames, same screen convention).

    Returns (r_level_deg, spread_deg, frames): r_level = quality-weighted median of rotation - tilt
    (the median because registration failures and pose asymmetries give heavy tails); spread = the
    robust per-frame scatter (1.4826 x weighted MAD), not an error of r_level (per-frame errors are
    correlated over the gait cycle); NaN when fewer than min_frames frames measure both.
    Image obliquity (+ = the person's right hip higher) = sign * (rotation - r_level), sign +1 from
    behind, -1 from in front; world obliquity = image obliquity + roll (behind) or - roll (in front).
    Valid only within one tracker chain (PelvisBandTracker restarts lose the reference)."""
    r = np.asarray(rotation_deg, float)
    t = np.asarray(tilt_deg, float)
    w = np.ones_like(r) if quality is None else np.asarray(quality, float)
    ok = np.isfinite(r) & np.isfinite(t) & np.isfinite(w) & (w > 0)
    if ok.sum() < min_frames:
        return float("nan"), float("nan"), int(ok.sum())
    d, w = r[ok] - t[ok], w[ok]
    centre = _weighted_median(d, w)
    spread = 1.4826 * _weighted_median(np.abs(d - centre), w)
    return centre, spread, int(ok.sum())


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """Value where the cumulative weight crosses half (midpoint interpolation between samples)."""
    order = np.argsort(x)
    x, w = x[order], w[order]
    cum = np.cumsum(w) - 0.5 * w
    return float(np.interp(0.5 * w.sum(), cum, x))


@dataclass(frozen=True)
class LevelEstimate:
    """Where the pelvis is level in the image (estimate_pelvis_level): rotations in degrees, in the band's
    screen convention (gaitlab.core.track), one per rotation reference."""

    method: str  # how the pelvis' level was found, in words for the report
    from_symmetry: bool  # False: a fallback that assumes something about the gait (said in a warning)
    rotation_at_level_deg: dict[int, float]  # per rotation reference: the band rotation of a level pelvis
    # per rotation reference: how its level was found ("symmetry" | "flight" | "mean") and one SD of that level,
    # degrees (the symmetry's per-frame spread over its independent samples, or a fallback's stated uncertainty)
    method_by_reference: dict[int, str] = field(default_factory=dict)
    level_sd_deg: dict[int, float] = field(default_factory=dict)


def estimate_pelvis_level(track: PoseTrack, events: GaitEvents, roll_deg: float) -> LevelEstimate:
    """The band rotation at which the hip line is level in the image, per rotation reference.

    The pelvis region is left-right mirror-symmetric: the tilt of its symmetry axis is an absolute (if
    noisy) pelvis angle each frame, and the median of rotation - tilt over the clip puts the precise but
    relative band rotation on that absolute level (gaitlab.measure.symmetry). Where too few frames measure
    the symmetry: in running, the pelvis passes through level in every flight phase; in walking the
    clip's mean angle is taken as level, which assumes both sides drop alike. Those two are levels in
    the world: the image's level differs from them by the camera roll (a screen rotation of -roll).

    Each level's uncertainty (one SD, degrees; gaitlab.core.uncertainty): from the symmetry, that of a median
    of its per-frame spread over two independent samples per stride the frames cover (per-frame errors are
    correlated over the gait cycle); from a fallback, its stated FALLBACK_LEVEL_SD_DEG."""
    flight = ~events.left_contact & ~events.right_contact & events.valid
    rotation = track.pelvis_pixel_rotation_deg
    t = track.time_s
    fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 30.0
    stride = stride_s(events.cadence_steps_per_min)
    levels, methods, by_ref, sds = {}, set(), {}, {}
    for ref in np.unique(track.pelvis_pixel_reference[track.pelvis_pixel_reference >= 0]):
        sel = (track.pelvis_pixel_reference == ref) & np.isfinite(rotation)
        if not sel.any():  # every frame of this reference was rejected: nothing to put on a level
            continue
        level, spread, frames = rotation_at_level(rotation[sel], track.pelvis_symmetry_tilt_deg[sel],
                                                  track.pelvis_symmetry_quality[sel])
        if np.isfinite(level):
            how = "symmetry"
        elif events.activity == "run" and (sel & flight).sum() >= 3:
            level, how = float(np.median(rotation[sel & flight])) + roll_deg, "flight"
        else:
            level, how = float(np.mean(rotation[sel])) + roll_deg, "mean"
        methods.add(how)
        levels[int(ref)], by_ref[int(ref)] = float(level), how
        sds[int(ref)] = median_sd_deg(spread, frames, fps, stride) if how == "symmetry" else FALLBACK_LEVEL_SD_DEG[how]
    words = {"symmetry": "the left-right symmetry of the pelvis region",
             "flight": "the pelvis angle in flight phases",
             "mean": "the mean pelvis angle over the clip (assumes both sides drop alike)"}
    method = "level from " + " and ".join(words[m] for m in sorted(methods)) if methods else "not measured"
    return LevelEstimate(method, methods <= {"symmetry"}, levels, by_ref, sds)
