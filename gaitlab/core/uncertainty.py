"""How sure a side's mean contralateral drop is: its 95% interval, the three-valued verdict it supports, what
would settle a side that cannot be told, and whether a left-right difference can be claimed.

A side's interval combines four independent parts in quadrature, each a 95% half-width in degrees
(docs/uncertainty.md explains each and where its numbers come from):
    steps   t(0.975, n - 1) * SD / sqrt(n)         the step-to-step spread of the side's n peak drops
    level   Z95 * sd of the pelvis' level          shared by all the side's steps: not divided by sqrt(n)
    camera  Z95 * sd of the camera roll estimate   shared; only where the level was read in the image
    method  Z95 * METHOD_RESIDUAL_DEG              the method's residual error on the bench, shared
A level error of +e raises every right-stance drop by e and lowers every left-stance drop by e (and so does a
camera roll error where the level is read in the image): both sides' level and camera parts are one error.
Degrees throughout; drops positive = the swing-side hip falls (gaitlab.core.result).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gaitlab.core.result import MIN_STEPS_PER_SIDE, SMALLEST_DETECTABLE_DIFFERENCE_DEG, DropInterval, SideVerdict
from gaitlab.core.track import frame_rate_hz

CONFIDENCE = 0.95
Z95 = 1.959963984540054  # standard normal quantile at 0.975 (scipy.stats.norm.ppf(0.975))

# The method's residual error, degrees (one SD), as validated on the bench: the RMS of the per-side mean-drop error
# (measured - true) over the sides of the clips whose level and camera are good - a level, square camera
# (truth roll 0°, yaw 0°), a plain symmetric scene (no one-sided light, patch or pelvis offset) and a level read
# from the pelvis' symmetry. `benchmarks/accuracy.py` prints it ("method residual" line; run of 2026-12-05 on the
# 15-clip bench, with the room's vertical lines as a roll cue: 0.382° over the 14 sides of clips a, b, e, f, h, k and
# sample_walk_post_short; 0.362° before them; 0.407° once the band is read above the hip joints only from in front,
# where h's sides moved from -0.51/-0.19 to -0.66/-0.41°).
# A property of the method, not of a clip: the same for every clip, not tuned to any.
METHOD_RESIDUAL_DEG = 0.41
# Per-frame errors of the level (and of the body-axis tilt behind the camera roll) are correlated over the gait
# cycle: the independent samples are counted per step (two per stride), not per frame. On the bench the scatter
# of the level's median over successive half strides is 0.5-0.8 x its per-frame spread (docs/uncertainty.md).
SAMPLES_PER_STRIDE = 2
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)  # standard error of a median / that of a mean (normal errors)
DEFAULT_STRIDE_S = 1.1  # a walking stride, where the cadence is unknown
MIN_STRIDE_BLOCKS = 4  # strides needed for the scatter of their means (stride_median_sd_deg) to be worth a number
OUTLIER_SIGMAS = 2.5  # the usual robust cut (~1 % of normal errors): here, gaitlab.core.camera's, the band's and symmetry's
# The stated uncertainty (one SD, degrees) of a level found by a fallback, where the pelvis' symmetry was measured
# in too few frames. "mean": the mean pelvis angle over whole strides, which is off level by about 0.3 x the
# right-minus-left difference in mean drop (and by all of a leg-length difference): 1.2° for a 4° side difference, a
# marked asymmetry (a check, not the source: on the 12 walking clips of the bench the truth's own mean obliquity is
# 1.19° RMS from level). "flight": the pelvis angle in running's flight phases, where the
# pelvis passes through level (the truth's flight-phase median is within 0.04° of level on the bench's three
# runs); 0.5° stands for the band's noise over the few, short flight phases - stated, not validated (no bench clip
# falls back to it).
FALLBACK_LEVEL_SD_DEG = {"flight": 0.5, "mean": 1.2}
# The added uncertainty (one SD, degrees) of a level read from a symmetry the clothing cannot carry (the band's
# interior texture below gaitlab.core.level.MIN_TEXTURE_TO_NOISE_RATIO): the mirror match is then carried by the
# hip outlines, the gluteal cleft and shading, whose symmetry depends on pose, drape and light, so the level is
# known no better than without the pixels - as well as the clip's mean angle, the fallback that assumes nothing
# of them (FALLBACK_LEVEL_SD_DEG["mean"]). Added in quadrature to the symmetry's own; a bias, not noise: a longer
# film does not shrink it (the level counts as stated, like a fallback's).
UNRELIABLE_LEVEL_SD_DEG = FALLBACK_LEVEL_SD_DEG["mean"]
MAX_STEPS_TO_SETTLE = 500  # more steps than this to settle a side: say it is too close to the threshold instead
VERDICT_CLASSES = ("above", "not_above", "cannot_tell")
# What would settle a side that cannot be told (gaitlab.outputs.wording words each)
SETTLE_HINTS = ("more_steps", "visible_waistband", "film_closer", "level_camera", "near_threshold")


def t_quantile(n_steps: int) -> float:
    """Student's t at 0.975 with n_steps - 1 degrees of freedom; NaN below 2 steps."""
    if n_steps < 2:
        return float("nan")
    from scipy.stats import t  # ~0.3 s to import: only when intervals are computed

    return float(t.ppf(0.5 + CONFIDENCE / 2, n_steps - 1))


def stride_s(cadence_steps_per_min: float) -> float:
    """Seconds per stride (two steps) at a cadence in steps/min; DEFAULT_STRIDE_S where it is unknown."""
    if not (math.isfinite(cadence_steps_per_min) and cadence_steps_per_min > 0):
        return DEFAULT_STRIDE_S
    return 120.0 / cadence_steps_per_min


def robust_sd(x: np.ndarray) -> float:
    """1.4826 x the median absolute deviation of x from its median: the SD of normal errors, unmoved by a minority
    of outliers."""
    x = np.asarray(x, float)
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def median_sd_deg(spread_deg: float, frames: int, fps: float, stride: float) -> float:
    """One SD (degrees) of a median over `frames` frames at `fps` whose per-frame robust spread is spread_deg:
    sqrt(pi/2) * spread / sqrt(n), n = SAMPLES_PER_STRIDE independent samples per stride of `stride` seconds the
    frames cover (at least 1, at most the frames). NaN without a spread or frames."""
    if not (math.isfinite(spread_deg) and frames > 0 and fps > 0 and stride > 0):
        return float("nan")
    n = min(float(frames), max(1.0, SAMPLES_PER_STRIDE * frames / fps / stride))
    return MEDIAN_SE_FACTOR * spread_deg / math.sqrt(n)


def stride_median_sd_deg(x: np.ndarray, time_s: np.ndarray, stride: float) -> float:
    """One SD (degrees) of the median of x, a per-frame series whose errors are correlated over the gait cycle, by
    batch means over whole strides: sqrt(pi/2) * SD(stride means) / sqrt(strides), x first clipped to within
    OUTLIER_SIGMAS robust SDs of its median (a failed registration must not move a stride's mean, as it does not
    move the median). A whole stride holds a step of each side, so what swings with the steps (a trunk leaning
    toward each stance side in turn, the legs' alternating pose in the band) cancels in each stride as in the clip's
    median, where the per-frame spread (median_sd_deg) counts it as noise. Strides of `stride` seconds from the first
    frame, each with at least a third of its frames; with fewer than MIN_STRIDE_BLOCKS of them, median_sd_deg of the
    per-frame spread. The SD is itself estimated from the n stride means: it is scaled by t(0.975, n - 1) / Z95, so
    that Z95 times it is the 95% part Student's t gives (as the steps' part). NaN without a frame."""
    x, t = np.asarray(x, float), np.asarray(time_s, float)
    ok = np.isfinite(x) & np.isfinite(t)
    if not (ok.any() and stride > 0):
        return float("nan")
    x, t = x[ok], t[ok]
    fps = np.nan_to_num(frame_rate_hz(t))
    spread = robust_sd(x)
    clipped = np.clip(x, np.median(x) - OUTLIER_SIGMAS * spread, np.median(x) + OUTLIER_SIGMAS * spread)
    block = np.floor((t - t[0]) / stride).astype(int)
    least = max(1, int(fps * stride / 3))
    means = [clipped[block == b].mean() for b in np.unique(block) if np.count_nonzero(block == b) >= least]
    n = len(means)
    if n < MIN_STRIDE_BLOCKS:
        return median_sd_deg(spread, len(x), fps, stride)
    return MEDIAN_SE_FACTOR * float(np.std(means, ddof=1)) / math.sqrt(n) * t_quantile(n) / Z95


def drop_interval(drops: np.ndarray, level_sd_deg: float, camera_sd_deg: float, level_fallback: bool,
                  level_small_band: bool = False) -> DropInterval:
    """The 95% interval of the mean of `drops` (one side's peak drops, degrees), with the side's level and camera
    uncertainty (one SD each, degrees, shared by its steps). NaN bounds with fewer than 2 steps (no spread)."""
    d = np.asarray(drops, float)
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    steps = t_quantile(n) * float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
    level, camera, method = Z95 * level_sd_deg, Z95 * camera_sd_deg, Z95 * METHOD_RESIDUAL_DEG
    half = math.sqrt(steps ** 2 + level ** 2 + camera ** 2 + method ** 2)
    return DropInterval(mean - half, mean + half, steps, level, camera, method, level_fallback, level_small_band)


def verdict_class(interval: DropInterval, threshold_deg: float) -> str:
    """"above" when the whole interval is above threshold_deg, "not_above" when none of it is, else
    "cannot_tell" (also when the interval is not known)."""
    if not (math.isfinite(interval.low_deg) and math.isfinite(interval.high_deg)):
        return "cannot_tell"
    if interval.low_deg > threshold_deg:
        return "above"
    if interval.high_deg <= threshold_deg:
        return "not_above"
    return "cannot_tell"


def steps_needed(v: SideVerdict, threshold_deg: float) -> int | None:
    """The fewest steps of this side with which its whole 95% interval would clear the threshold, at its SD and
    with the parts a longer film steadies shrunk to them: the step part t(0.975, n - 1) * SD / sqrt(n), and the
    level's and the camera roll's parts by sqrt(steps now / n) (their independent samples grow with the strides
    filmed); the method's part, and a fallback level's, stay. None beyond MAX_STEPS_TO_SETTLE, with fewer than 2
    steps, or when the parts that stay already span the threshold (no film can settle it)."""
    iv = v.interval
    gap = abs(v.mean_drop_deg - threshold_deg)
    if iv is None or v.steps < 2 or not (math.isfinite(v.sd_drop_deg) and math.isfinite(gap)):
        return None
    # a fallback level's part is a stated constant (FALLBACK_LEVEL_SD_DEG): it stays like the method's
    steadied = iv.camera_deg**2 + (0.0 if iv.level_fallback else iv.level_deg**2)
    fixed = iv.method_deg**2 + (iv.level_deg**2 if iv.level_fallback else 0.0)
    if gap**2 <= fixed:
        return None
    for n in range(v.steps + 1, MAX_STEPS_TO_SETTLE + 1):
        steps_part = t_quantile(n) * v.sd_drop_deg / math.sqrt(n)
        if math.sqrt(steps_part**2 + steadied * v.steps / n + fixed) < gap:
            return n
    return None


def settle(v: SideVerdict, threshold_deg: float, camera_roll_deg: float = 0.0) -> tuple[tuple[str, ...], int | None]:
    """For a side that cannot be told: what would settle it (SETTLE_HINTS, in order) and, with "more_steps",
    about how many more steps of this side (steps_needed; at least up to MIN_STEPS_PER_SIDE; None: unknown,
    with fewer than 2 steps).

    more_steps: a longer film would settle it (steps_needed); visible_waistband: the level came from a fallback,
    or its part would still be larger than the method's own in that longer film; film_closer: instead of that, where
    the level's band was too few pixels tall (the clothing is not what limits it); level_camera: the camera is
    measurably tilted (camera_roll_deg, degrees, beyond its own 95% uncertainty) and the roll's part would still
    be larger than the method's (a level camera is not made better by levelling it: there a longer film is the
    fix); near_threshold: the mean is within the method's own 95% error of the threshold (or nothing else
    applies), so a longer or better film alone is unlikely to settle it."""
    iv = v.interval
    if iv is None or v.verdict_class != "cannot_tell":
        return (), None
    hints, extra = [], None
    need = steps_needed(v, threshold_deg)
    if need is not None or v.steps < 2:
        hints.append("more_steps")
        extra = None if need is None else max(1, need - v.steps, MIN_STEPS_PER_SIDE - v.steps)
    longer = math.sqrt(v.steps / max(v.steps + (extra or 0), MIN_STEPS_PER_SIDE)) if v.steps else 1.0
    if iv.level_fallback or iv.level_deg * longer > iv.method_deg:
        hints.append("film_closer" if iv.level_small_band else "visible_waistband")
    if abs(camera_roll_deg) > iv.camera_deg and iv.camera_deg * longer > iv.method_deg:
        hints.append("level_camera")
    if abs(v.mean_drop_deg - threshold_deg) <= iv.method_deg or not hints:
        hints.append("near_threshold")
    return tuple(hints), extra


@dataclass(frozen=True)
class SideDifference:
    """Right-minus-left mean drop (degrees) with its 95% interval; `claimed` when the interval excludes zero and
    the difference exceeds the smallest detectable difference."""

    diff_deg: float
    low_deg: float
    high_deg: float
    claimed: bool


def side_difference(left: SideVerdict, right: SideVerdict) -> SideDifference | None:
    """Right minus left, when both sides have a verdict and an interval.

    Its 95% half-width: the steps' parts combine as independent samples (Welch: t at the Welch-Satterthwaite
    degrees of freedom); the level and camera parts add linearly (one level error moves the two sides' drops in
    opposite directions, so it counts twice in their difference); the method's parts in quadrature."""
    if not (left.measurable and right.measurable and left.interval and right.interval):
        return None
    a, b = left.interval, right.interval
    diff = right.mean_drop_deg - left.mean_drop_deg
    var = [v.sd_drop_deg ** 2 / v.steps if v.steps > 1 else float("nan") for v in (left, right)]
    se = math.sqrt(var[0] + var[1])
    df = (var[0] + var[1]) ** 2 / (var[0] ** 2 / (left.steps - 1) + var[1] ** 2 / (right.steps - 1)) \
        if se > 0 else float(left.steps + right.steps - 2)
    steps = t_quantile(int(round(df)) + 1) * se if math.isfinite(se) and math.isfinite(df) else float("nan")
    half = math.sqrt(steps ** 2 + (a.level_deg + b.level_deg) ** 2 + (a.camera_deg + b.camera_deg) ** 2
                     + a.method_deg ** 2 + b.method_deg ** 2)
    low, high = diff - half, diff + half
    claimed = bool(math.isfinite(half) and (low > 0 or high < 0) and abs(diff) > SMALLEST_DETECTABLE_DIFFERENCE_DEG)
    return SideDifference(diff, low, high, claimed)
