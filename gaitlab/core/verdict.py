"""Thresholding, in one place: which steps and sides are above the threshold, and the warnings that say when a
clip cannot support a verdict. Drops and thresholds in degrees, positive = the swing-side hip falls."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaitlab.core.result import (
    MIN_STEPS_FOR_VERDICT,
    MIN_STEPS_PER_SIDE,
    SIDES,
    AnalysisWarning,
    SideVerdict,
    StepDrop,
    WarningCode,
)
from gaitlab.core.uncertainty import drop_interval, settle, verdict_class


def above_threshold(drop_deg: float, threshold_deg: float) -> bool:
    """Whether a contralateral drop (degrees, positive = the swing-side hip falls) is above the threshold
    (degrees): strictly above, so a drop equal to it is not; NaN (not measured) is never above."""
    return bool(drop_deg > threshold_deg)


def judge_steps(steps: list[StepDrop], threshold_deg: float) -> list[StepDrop]:
    """The steps with `flagged` set: each step's peak drop above threshold_deg (degrees)."""
    return [replace(s, flagged=above_threshold(s.peak_drop_deg, threshold_deg)) for s in steps]


def side_verdicts(steps: list[StepDrop], threshold_deg: float, measurable: bool, camera_roll_deg: float = 0.0
                  ) -> dict[str, SideVerdict]:
    """Each stance side's verdict from its steps' peak contralateral drops.

    Parameters
    ----------
    steps : list of StepDrop
        The counted steps of both sides; drops in degrees, positive = the swing-side hip falls
        (gaitlab.core.result).
    threshold_deg : float
        Degrees: a side is flagged ("above") when the whole 95% interval of the mean of its drops is strictly
        above it, "not_above" when none of it is, else "cannot_tell" (gaitlab.core.uncertainty); the interval
        takes the steps' level and camera uncertainty. steps_over_threshold counts its steps strictly above it.
    measurable : bool
        False for a clip that supports no verdict (a side view, a video turned on its side): no side is then
        measurable or flagged, though its numbers are still given; nor is a side with fewer than
        MIN_STEPS_FOR_VERDICT steps.
    camera_roll_deg : float
        The clip's camera roll estimate, degrees: a side that cannot be told is advised to level the camera only
        when the camera is measurably tilted (gaitlab.core.uncertainty.settle).

    Returns
    -------
    dict of str to SideVerdict
        Keyed "left" and "right" (the stance side), both always present: the mean, SD (n - 1) and largest
        drop, degrees, NaN without steps (the SD also with one step), and the landmark baseline's mean over
        its measured steps.
    """
    out = {}
    for side in SIDES:
        drops = np.array([s.peak_drop_deg for s in steps if s.stance_side == side], dtype=float)
        base = np.array([s.baseline_peak_drop_deg for s in steps if s.stance_side == side], dtype=float)
        n = len(drops)
        mean = float(drops.mean()) if n else float("nan")
        out[side] = SideVerdict(
            side=side,
            steps=n,
            mean_drop_deg=mean,
            sd_drop_deg=float(drops.std(ddof=1)) if n > 1 else float("nan"),
            max_drop_deg=float(drops.max()) if n else float("nan"),
            steps_over_threshold=sum(above_threshold(d, threshold_deg) for d in drops),
            flagged=False,
            measurable=bool(measurable and n >= MIN_STEPS_FOR_VERDICT),
            baseline_mean_drop_deg=float(np.nanmean(base)) if n and np.isfinite(base).any() else float("nan"),
        )
        if out[side].measurable:
            out[side] = _with_interval(out[side], [s for s in steps if s.stance_side == side], threshold_deg,
                                       camera_roll_deg)
    return out


def _with_interval(v: SideVerdict, own: list[StepDrop], threshold_deg: float, camera_roll_deg: float) -> SideVerdict:
    """v with its mean's 95% interval, verdict class and what would settle it. The side's level and camera
    uncertainty: the mean of its steps' (one error shared by all steps on a level, taken as the same error
    where the steps are on different levels: the conservative choice)."""
    interval = drop_interval(np.array([s.peak_drop_deg for s in own], float),
                             float(np.mean([s.level_sd_deg for s in own])),
                             float(np.mean([s.camera_sd_deg for s in own])),
                             any(s.level_fallback for s in own), any(s.level_small_band for s in own))
    cls = verdict_class(interval, threshold_deg)
    v = replace(v, interval=interval, verdict_class=cls, flagged=cls == "above")
    hints, more = settle(v, threshold_deg, camera_roll_deg)
    return replace(v, settle=hints, more_steps=more)


def step_count_warnings(verdicts: dict[str, SideVerdict], view_measurable: bool) -> list[AnalysisWarning]:
    """A warning per side of a measurable view without a step, or with fewer than MIN_STEPS_PER_SIDE."""
    out = []
    for side, v in verdicts.items():
        if view_measurable and v.steps == 0:
            out.append(AnalysisWarning(WarningCode.NO_STANCE, {"side": side, "min_steps": MIN_STEPS_PER_SIDE}))
        elif view_measurable and v.steps < MIN_STEPS_PER_SIDE:
            out.append(AnalysisWarning(WarningCode.FEW_STEPS,
                                       {"side": side, "steps": v.steps, "min_steps": MIN_STEPS_PER_SIDE}))
    return out
