"""The pelvis' absolute level: the band rotation at which the hip line is level in the image.

The band tracker (gaitlab.measure.band) gives a precise but relative rotation; the mirror symmetry of the pelvis
region (gaitlab.measure.symmetry) gives a noisy absolute tilt each frame. Here, from those per-frame series alone
(no pixels), the two are put together. Conventions: see gaitlab.core.result.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gaitlab.core.events import GaitEvents
from gaitlab.core.result import SMALLEST_DETECTABLE_DIFFERENCE_DEG
from gaitlab.core.track import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER, PoseTrack
from gaitlab.core.uncertainty import (
    FALLBACK_LEVEL_SD_DEG,
    MEDIAN_SE_FACTOR,
    SAMPLES_PER_STRIDE,
    UNRELIABLE_LEVEL_SD_DEG,
    Z95,
    robust_sd,
    stride_median_sd_deg,
    stride_s,
)

# A jump in rotation - tilt larger than this many SDs of a difference of two one-stride medians is a break in the
# band's keyframe chain (a keyframe registered to the last one at a wrong angle), not noise: a 4-sigma test.
CHAIN_BREAK_SIGMAS = 4.0
MIN_LEVEL_FRAMES = 20  # frames measuring both rotation and tilt that a level needs (rotation_at_level)
# Flight phases a running level needs (flight_level): two strides' worth, the fewest whose median and spread
# mean something.
MIN_FLIGHT_PHASES = 4
# The least texture over noise (robust SDs of grey levels, a ratio: gaitlab.measure.symmetry.PelvisSymmetry.
# interior_texture_snr) of the band's interior, median over a level's frames, for its mirror symmetry to carry the
# level. The mirror match is made on the band contrast-normalised with the noise as its floor: texture at k times
# the noise keeps k / sqrt(k^2 + 1) of the weight of a strong edge (the hip outlines, the gluteal cleft), 0.71 at
# k = 1, 0.89 at k = 2, and at k = 2 four fifths of the interior's variance is texture, not noise. Below 2 the
# interior is too faint against the noise for the match to be the body's texture rather than its outlines.
# Chosen from that reasoning; on the 15 bench clips (all looked at: the near-black walk_post_treadmill_dark_i reads
# ~1.0, every other clip 2.6 or more, the far anterior walk c the lowest of them) it has a factor 2 of margin below
# and 1.3 above (docs/uncertainty.md).
MIN_TEXTURE_TO_NOISE_RATIO = 2.0
# The band the mirror symmetry is read on (gaitlab.measure.symmetry.PelvisSymmetry's band_half_width_torso and
# gaitlab.measure.geometry.BandShape's top + bottom), in T, the hip-to-shoulder distance.
SYMMETRY_BAND_HALF_WIDTH_T = 0.40
SYMMETRY_BAND_HALF_HEIGHT_T = 0.18
# The least height of that band in the picture, pixels, for its symmetry to carry the level: the mirror axis' tilt is
# read over the band's height, so an offset of one pixel between its top and its bottom (an edge blurred or
# compressed more on one side, the sampling grid) tilts it by atan(1 / height); below this height that is more than
# the smallest detectable difference of a drop (SMALLEST_DETECTABLE_DIFFERENCE_DEG, 2.7°): ~21 px, a person about
# 60 px from hip to shoulder (a 480p clip halved, or a far walker at 480p).
MIN_LEVEL_BAND_PX = 1.0 / math.tan(math.radians(SMALLEST_DETECTABLE_DIFFERENCE_DEG))


def rotation_at_level(
    rotation_deg: np.ndarray, tilt_deg: np.ndarray, quality: np.ndarray | None = None,
    min_frames: int = MIN_LEVEL_FRAMES,
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


def split_chain_breaks(time_s: np.ndarray, rotation_deg: np.ndarray, tilt_deg: np.ndarray, reference: np.ndarray,
                       stride: float, sigmas: float = CHAIN_BREAK_SIGMAS, min_frames: int = MIN_LEVEL_FRAMES
                       ) -> np.ndarray:
    """Rotation references split where the band's chain broke; frames of a piece too short to level get -1.

    Within one reference the band rotation and the symmetry tilt measure the same pelvis angle, one relative to
    the reference's keyframe, one absolute: rotation - tilt is constant but for noise. When a later keyframe was
    registered to the one before at a wrong angle, every rotation after it carries that error: rotation - tilt
    steps. A step is found where the medians of rotation - tilt over one stride before and one stride after a
    frame differ by more than `sigmas` SDs of such a difference (the per-frame spread about a one-stride running
    median, two independent samples a stride, gaitlab.core.uncertainty), the largest first, at least half a
    stride apart. Each piece of a split reference is then a reference of its own (new ids after the largest),
    levelled by its own symmetry; a piece with fewer than `min_frames` frames measuring both is not measured (-1).
    A reference that is not split keeps its id (and its fallback level where the symmetry is missing)."""
    t = np.asarray(time_s, float)
    d_all = np.asarray(rotation_deg, float) - np.asarray(tilt_deg, float)
    out = np.array(reference, dtype=int, copy=True)
    next_id = int(out.max(initial=-1)) + 1
    for ref in np.unique(out[out >= 0]):
        idx = np.flatnonzero((out == ref) & np.isfinite(d_all))
        cuts = _chain_cuts(t[idx], d_all[idx], stride, sigmas, min_frames // 2)
        members = np.flatnonzero(out == ref)
        for start, end in zip([-np.inf, *cuts], [*cuts, np.inf]) if cuts else []:
            piece = members[(t[members] >= start) & (t[members] < end)]
            enough = np.isfinite(d_all[piece]).sum() >= min_frames
            out[piece] = next_id if enough else -1
            next_id += 1
    return out


def _chain_cuts(t: np.ndarray, d: np.ndarray, stride: float, sigmas: float, min_side: int) -> list[float]:
    """Times where rotation - tilt (d, at increasing times t, finite) steps (split_chain_breaks), sorted."""
    if d.size < 2 * min_side:
        return []
    lo, mid_lo = np.searchsorted(t, t - stride), np.searchsorted(t, t - stride / 2)
    hi, mid_hi = np.searchsorted(t, t + stride), np.searchsorted(t, t + stride / 2, side="right")
    running = np.array([np.median(d[a:b]) for a, b in zip(mid_lo, mid_hi)])
    spread = 1.4826 * float(np.median(np.abs(d - running)))
    # one SD of a one-stride median (SAMPLES_PER_STRIDE independent samples), times sqrt(2) for a difference of two
    noise = math.sqrt(2.0) * MEDIAN_SE_FACTOR * spread / math.sqrt(SAMPLES_PER_STRIDE)
    k = np.arange(d.size)
    jump = np.array([abs(np.median(d[i:b]) - np.median(d[a:i])) if i - a >= min_side and b - i >= min_side else 0.0
                     for a, i, b in zip(lo, k, hi)])
    cuts: list[float] = []
    for i in np.argsort(-jump, kind="stable"):
        if jump[i] <= sigmas * noise or jump[i] == 0.0:
            break
        if all(abs(t[i] - c) >= stride / 2 for c in cuts):
            cuts.append(float(t[i]))
    cuts.sort()
    return [_best_cut(t, d, c, cuts, stride) for c in cuts]


def _best_cut(t: np.ndarray, d: np.ndarray, cut: float, cuts: list[float], stride: float) -> float:
    """The frame near `cut` that best splits d into two constant pieces (least absolute deviations from each
    piece's median, within one stride either side and not past the neighbouring cuts): the one-stride medians
    differ over a plateau of frames around the step, not just at it."""
    lo = max([cut - stride] + [c for c in cuts if c < cut])
    hi = min([cut + stride] + [c for c in cuts if c > cut])
    idx = np.flatnonzero((t >= lo) & (t < hi))
    best, best_cost = cut, np.inf
    for j in range(3, idx.size - 2):
        left, right = d[idx[:j]], d[idx[j:]]
        cost = np.abs(left - np.median(left)).sum() + np.abs(right - np.median(right)).sum()
        if cost < best_cost:
            best, best_cost = float(t[idx[j]]), cost
    return best


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
    # per rotation reference read from the symmetry: the median texture over noise of the band's interior over its
    # frames (NaN: not measured), and whether it is below MIN_TEXTURE_TO_NOISE_RATIO (the level then has
    # UNRELIABLE_LEVEL_SD_DEG more uncertainty, and counts as stated: texture_unreliable)
    texture_snr: dict[int, float] = field(default_factory=dict)
    texture_unreliable: dict[int, bool] = field(default_factory=dict)
    # per rotation reference: the share of the camera roll estimate's error its level carries (1 read in the image
    # from the symmetry alone, 0 found in the world by a fallback, between for the two cues combined), and, in
    # running, the symmetry's level minus the flight phases' as an obliquity (degrees; NaN: not compared)
    camera_weight: dict[int, float] = field(default_factory=dict)
    flight_difference_deg: dict[int, float] = field(default_factory=dict)
    # per rotation reference read from the symmetry: the symmetry band's median height in the picture (pixels), and
    # whether it is under MIN_LEVEL_BAND_PX (the level then has a pixel's tilt over that height more uncertainty,
    # pixel_tilt_deg, and counts as stated, as with a texture too faint)
    band_px: dict[int, float] = field(default_factory=dict)
    band_too_small: dict[int, bool] = field(default_factory=dict)

    def cue_disagreement_deg(self) -> float | None:
        """The largest difference between the symmetry's and the flight phases' level where the two disagree (the
        symmetry is then kept alone), degrees; None where they agree or were not compared."""
        apart = [abs(d) for r, d in self.flight_difference_deg.items() if self.method_by_reference.get(r) == "symmetry"
                 and math.isfinite(d)]
        return max(apart) if apart else None

    def unreliable_texture_snr(self) -> float | None:
        """The lowest texture over noise of a level read from a symmetry that could not carry it; None if none."""
        low = [self.texture_snr[r] for r, bad in self.texture_unreliable.items() if bad]
        return min(low) if low else None

    def too_small_band_px(self) -> float | None:
        """The smallest band height (pixels) of a level read from a symmetry too few pixels tall; None if none."""
        low = [self.band_px[r] for r, bad in self.band_too_small.items() if bad]
        return min(low) if low else None

    def unreliable(self, reference: int) -> bool:
        """Whether this reference's level was read from a symmetry the pixels could not carry (texture, size)."""
        return self.texture_unreliable.get(reference, False) or self.band_too_small.get(reference, False)


def texture_reliable(texture_snr: np.ndarray) -> tuple[float, bool]:
    """(median texture over noise of the frames that measured it, whether it reaches MIN_TEXTURE_TO_NOISE_RATIO).
    Frames without a value (tracks from before it was measured) count as reliable: (NaN, True)."""
    v = np.asarray(texture_snr, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return float("nan"), True
    median = float(np.median(v))
    return median, median >= MIN_TEXTURE_TO_NOISE_RATIO


def band_height_px(track: PoseTrack, frames: np.ndarray) -> float:
    """The symmetry band's median height in the picture over `frames` (a boolean mask), pixels: 2 x
    SYMMETRY_BAND_HALF_HEIGHT_T times T, the hip-midpoint to shoulder-midpoint distance; NaN without those landmarks."""
    xy = track.image_xyz[frames][:, :, :2]
    torso = np.linalg.norm(0.5 * (xy[:, LEFT_SHOULDER] + xy[:, RIGHT_SHOULDER]) - 0.5 * (xy[:, LEFT_HIP] + xy[:, RIGHT_HIP]),
                           axis=1)
    torso = torso[np.isfinite(torso)]
    return float(2 * SYMMETRY_BAND_HALF_HEIGHT_T * np.median(torso)) if torso.size else float("nan")


def pixel_tilt_deg(height_px: float) -> float:
    """The tilt, degrees, of a one-pixel offset over height_px pixels: what the level of a band that short is known
    to (MIN_LEVEL_BAND_PX)."""
    return math.degrees(math.atan(1.0 / height_px))


def flight_level(rotation_deg: np.ndarray, flight: np.ndarray, roll_deg: float) -> tuple[float, float]:
    """The band rotation of a level pelvis from running's flight phases, where the pelvis passes through level (in
    the world: the image's level is the rotation there plus the roll), and one SD of it: the robust spread of the
    rotation over those frames over the square root of the flight phases (each phase one sample: the frames of a
    phase are correlated), times the median's factor, and in quadrature the stated uncertainty of the assumption
    itself (FALLBACK_LEVEL_SD_DEG["flight"]: how level a runner's pelvis is in flight is not measured here).
    (NaN, NaN) with fewer than MIN_FLIGHT_PHASES phases."""
    r = np.asarray(rotation_deg, float)
    sel = np.asarray(flight, bool) & np.isfinite(r)
    phases = int(np.count_nonzero(np.diff(np.concatenate([[0], sel.astype(int)])) == 1))
    if phases < MIN_FLIGHT_PHASES:
        return float("nan"), float("nan")
    sd = MEDIAN_SE_FACTOR * robust_sd(r[sel]) / math.sqrt(phases)
    return float(np.median(r[sel])) + roll_deg, math.hypot(sd, FALLBACK_LEVEL_SD_DEG["flight"])


def whole_strides(time_s: np.ndarray, measured: np.ndarray, stride: float, from_end: bool = False) -> np.ndarray:
    """The `measured` frames (a boolean mask) within the most whole strides (of `stride` seconds) from the first of
    them (from_end: back from the last); none where they span less than one stride.

    A level is read over whole strides because each holds one stance of each side: the mean angle is the level where
    both sides drop alike, and the symmetry's pose asymmetries (one thigh forward, the stance hip adducted) change
    sign from one stance to the other. Over part of a stride both are wherever in the gait cycle that part lies: a
    piece cut after one stance reads that stance's drop as level, and the symmetry's median over half a stride is
    0.2-2.0° RMS from the clip's on the rendered bench (over one stride 0.1-0.7°, two 0.1-0.6°). A frame stands for
    the interval to the next, so frames spanning one interval less than a stride are a stride."""
    t = np.asarray(time_s, float)
    m = np.asarray(measured, bool) & np.isfinite(t)
    out = np.zeros(t.shape, bool)
    idx = np.flatnonzero(m)
    if idx.size < 2:
        return out
    interval = float(np.median(np.diff(t[np.isfinite(t)])))
    first, last = t[idx[0]], t[idx[-1]]
    strides = math.floor((last - first + interval) / stride + 1e-9)
    if strides >= 1:
        reach = strides * stride - interval / 2
        out[idx] = t[idx] > last - reach if from_end else t[idx] < first + reach
    return out


def over_whole_strides(estimate: Callable[[np.ndarray], float], time_s: np.ndarray, measured: np.ndarray,
                       stride: float) -> float:
    """A level estimate (a function of a frame mask) over whole strides (whole_strides): the mean of its values over
    the strides counted from the first measured frame and back from the last, so that every frame takes part and
    neither end's part-stride does; NaN where the frames span less than a stride."""
    ahead = whole_strides(time_s, measured, stride)
    if not ahead.any():
        return float("nan")
    return 0.5 * (estimate(ahead) + estimate(whole_strides(time_s, measured, stride, from_end=True)))


def _with_world_cue(level: float, sd: float, cue: tuple[float, float], roll_sd_deg: float, name: str,
                    keep_apart: bool = True) -> tuple[float, float, float, str]:
    """A symmetry level (its SD sd) and a level found in the world (`name`: the flight phases', or the mean angle's over
    whole strides; (level, SD)) compared: (level, SD, camera weight, how). They agree when they differ by at most Z95
    SDs of their difference (the symmetry's level also carries the roll estimate's error, roll_sd_deg: it is read in
    the image, the world cue's not); then their inverse-variance mean, whose error is w x the symmetry's and roll's
    plus (1 - w) x the cue's. A constant pelvic tilt (a leg-length difference) moves the world cue's level but not the
    symmetry's: beyond their noise the two disagree, and the symmetry is kept alone (keep_apart), so the tilt stays in
    the obliquity. Without keep_apart (a symmetry the pixels cannot carry, no surer than the cue) they are combined
    anyway, and the SD is at least half their difference, so that the level's 95 % interval holds both."""
    c_level, c_sd = cue
    sym_var = sd**2 + roll_sd_deg**2
    if not (math.isfinite(c_level) and math.isfinite(c_sd) and math.isfinite(sym_var)):
        return level, sd, 1.0, "symmetry"
    apart = abs(level - c_level)
    agree = apart <= Z95 * math.sqrt(sym_var + c_sd**2)
    if not agree and keep_apart:
        return level, sd, 1.0, "symmetry"
    w = c_sd**2 / (sym_var + c_sd**2) if sym_var + c_sd**2 > 0 else 0.5
    combined_sd = math.hypot(w * sd, (1 - w) * c_sd)
    return (w * level + (1 - w) * c_level, combined_sd if agree else max(combined_sd, apart / 2), w,
            f"symmetry+{name}")


def estimate_pelvis_level(track: PoseTrack, events: GaitEvents, roll_deg: float,
                          roll_sd_deg: float = 0.0) -> LevelEstimate:
    """The band rotation at which the hip line is level in the image, per rotation reference.

    The pelvis region is left-right mirror-symmetric: the tilt of its symmetry axis is an absolute (if
    noisy) pelvis angle each frame, and the median of rotation - tilt over the clip puts the precise but
    relative band rotation on that absolute level (gaitlab.measure.symmetry). Where too few frames measure
    the symmetry: in running, the pelvis passes through level in every flight phase; in walking the
    mean angle is taken as level, which assumes both sides drop alike. The symmetry and the mean are read over whole
    strides (whole_strides): a reference shorter than a stride gets no level from them, and (without a run's flight
    phases) its frames are not measured. The flight phases and the mean are levels in
    the world: the image's level differs from them by the camera roll (a screen rotation of -roll).

    Each level's uncertainty (one SD, degrees; gaitlab.core.uncertainty): from the symmetry, the scatter of the
    means of rotation - tilt over whole strides (stride_median_sd_deg, batch means: per-frame errors are correlated
    over the gait cycle); from a fallback, its stated FALLBACK_LEVEL_SD_DEG. A symmetry on a band too faint
    (MIN_TEXTURE_TO_NOISE_RATIO) adds UNRELIABLE_LEVEL_SD_DEG, on one too few pixels tall (MIN_LEVEL_BAND_PX) the tilt
    of one pixel over its height (pixel_tilt_deg), the larger of the two where both.

    In running both are read where they can be: the symmetry's level and the flight phases' (flight_level) are
    combined where they agree within their noise and roll_sd_deg, the camera roll estimate's SD (_with_world_cue);
    where they do not, the symmetry is kept and the difference reported (cue_disagreement_deg). In walking, a
    symmetry the pixels cannot carry alone (too faint or too small: then no surer than the mean) is combined with the
    mean over whole strides whether they agree or not, its SD at least half their difference."""
    flight = ~events.left_contact & ~events.right_contact & events.valid
    rotation = track.pelvis_pixel_rotation_deg
    t = track.time_s
    stride = stride_s(events.cadence_steps_per_min)
    levels, by_ref, sds, snrs, unreliable, weights, apart, band, small = {}, {}, {}, {}, {}, {}, {}, {}, {}
    texture = track.pelvis_symmetry_texture_snr
    for ref in np.unique(track.pelvis_pixel_reference[track.pelvis_pixel_reference >= 0]):
        sel = (track.pelvis_pixel_reference == ref) & np.isfinite(rotation)
        if not sel.any():  # every frame of this reference was rejected: nothing to put on a level
            continue
        used = sel & np.isfinite(track.pelvis_symmetry_tilt_deg) & (track.pelvis_symmetry_quality > 0)
        level = over_whole_strides(lambda m: rotation_at_level(rotation[m], track.pelvis_symmetry_tilt_deg[m],
                                                               track.pelvis_symmetry_quality[m])[0], t, used, stride)
        mean = over_whole_strides(lambda m: float(np.mean(rotation[m])), t, sel, stride)
        if np.isfinite(level):
            how = "symmetry"
        elif events.activity == "run" and (sel & flight).sum() >= 3:
            level, how = float(np.median(rotation[sel & flight])) + roll_deg, "flight"
        elif np.isfinite(mean):
            level, how = mean + roll_deg, "mean"
        else:  # less than a stride: nothing says where its level is, and its frames are not measured
            continue
        levels[int(ref)], by_ref[int(ref)] = float(level), how
        weights[int(ref)] = 1.0 if how == "symmetry" else 0.0
        if how != "symmetry":
            sds[int(ref)] = FALLBACK_LEVEL_SD_DEG[how]
        else:
            sds[int(ref)] = stride_median_sd_deg(rotation[used] - track.pelvis_symmetry_tilt_deg[used], t[used], stride)
            snrs[int(ref)], ok = texture_reliable(texture[used])
            unreliable[int(ref)] = not ok
            band[int(ref)] = band_height_px(track, used)
            small[int(ref)] = bool(band[int(ref)] < MIN_LEVEL_BAND_PX)
            added = max(UNRELIABLE_LEVEL_SD_DEG if unreliable[int(ref)] else 0.0,
                        pixel_tilt_deg(band[int(ref)]) if small[int(ref)] else 0.0)
            sds[int(ref)] = float(math.hypot(sds[int(ref)], added))
            if events.activity == "run":
                flown = flight_level(rotation, sel & flight, roll_deg)
                apart[int(ref)] = level - flown[0]  # a rotation difference is an obliquity difference
                level, sds[int(ref)], weights[int(ref)], how = _with_world_cue(level, sds[int(ref)], flown,
                                                                               roll_sd_deg, "flight")
            elif added > 0 and np.isfinite(mean):  # walking, on a symmetry the pixels cannot carry alone
                level, sds[int(ref)], weights[int(ref)], how = _with_world_cue(
                    level, sds[int(ref)], (mean + roll_deg, FALLBACK_LEVEL_SD_DEG["mean"]), roll_sd_deg, "mean",
                    keep_apart=False)
            levels[int(ref)], by_ref[int(ref)] = float(level), how
    methods = set(by_ref.values())
    words = {"symmetry": "the left-right symmetry of the pelvis region",
             "symmetry+flight": "the left-right symmetry of the pelvis region and its angle in flight phases, which "
                                "agree",
             "symmetry+mean": "the left-right symmetry of the pelvis region, too faint or small to carry it alone, "
                              "and the mean pelvis angle over whole strides (assumes both sides drop alike)",
             "flight": "the pelvis angle in flight phases",
             "mean": "the mean pelvis angle over whole strides (assumes both sides drop alike)"}
    method = "level from " + " and ".join(words[m] for m in sorted(methods)) if methods else "not measured"
    from_symmetry = methods <= {"symmetry", "symmetry+flight", "symmetry+mean"}
    return LevelEstimate(method, from_symmetry, levels, by_ref, sds, snrs, unreliable, weights, apart, band, small)
