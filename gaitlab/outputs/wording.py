"""Plain-language text shared by the report and summary.json, so both say exactly the same thing.

Returns plain (unescaped) strings: callers writing HTML escape them.
"""
from __future__ import annotations

import math

from gaitlab.core.result import MIN_STEPS_PER_SIDE, SMALLEST_DETECTABLE_DIFFERENCE_DEG, Analysis, SideVerdict

# meaning, units and sign of each quantity; summary.json carries key -> text, the report title + text
DEFINITIONS = {
    "sides": ("Sides",
              "Sides are anatomical: left/right = the person's left/right, whichever way they face the camera. "
              "Per-side results are named by the stance leg: the leg standing alone, whose hip abductors "
              "(gluteus medius) hold the pelvis level."),
    "pelvic_obliquity_deg": ("Pelvic obliquity",
                             "Frontal-plane angle of the line through the two hip-joint centres from horizontal, "
                             "degrees, positive = the right hip higher, corrected for camera roll."),
    "contralateral_drop_deg": ("Contralateral pelvic drop",
                               "How far the opposite (swing-side) hip falls below the stance-side hip at its peak "
                               "during a single-leg stance, degrees; positive = it falls (the Trendelenburg "
                               "direction). Right stance: +obliquity; left stance: −obliquity."),
    "baseline_drop_deg": ("Hip-landmark line",
                          "The same drop measured from the MediaPipe hip landmarks alone, shown for comparison "
                          "(the landmarks under-read pelvic tilt, so this is usually smaller)."),
    "trunk_lean_deg": ("Trunk lean",
                       "Shoulder-midpoint-to-hip-midpoint line from vertical, degrees; per step positive = toward "
                       "the stance side at the peak (a common compensation for weak abductors); per frame "
                       "positive = toward the person's right."),
    "knee_flexion_deg": ("Stance knee flexion", "Stance-knee flexion at the peak from 2D landmarks, degrees "
                                                "(approximate)."),
    "camera_roll_deg": ("Camera roll",
                        "Tilt of the camera, degrees, positive = turned counter-clockwise as seen from behind it; "
                        "already removed from every angle."),
    "threshold_deg": ("Threshold", "A side is flagged when its mean contralateral drop is above this value."),
    "smallest_detectable_difference_deg": ("Smallest detectable difference",
                                           "Differences between sides or sessions smaller than this are within "
                                           "the measurement error of 2D video (Dingenen et al. 2018)."),
    "times": ("Times", "Seconds from the start of the clip."),
}  # key -> (title, text)


def fmt_deg(x: float, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:+.1f}°" if signed else f"{x:.1f}°"


def no_verdict_reason(analysis: Analysis, v: SideVerdict) -> str:
    if analysis.view in ("sagittal", "oblique"):
        return (f"the clip was filmed from an {analysis.view} view" if analysis.view == "oblique" else
                "the clip was filmed from the side (sagittal view)") + \
            "; pelvic drop needs the camera straight behind or in front of the person"
    if v.steps == 0:
        return "no complete single-leg stance on this leg was found in the clip"
    return "the measurement was not reliable enough (see the warnings)"


def side_verdict(analysis: Analysis, v: SideVerdict, lead: bool = True) -> str:
    """One sentence per stance side, e.g. 'Right-leg stance: mean contralateral drop 7.2° ± 1.1° over 9 steps — …'.

    lead=False leaves out the 'Right-leg stance: ' lead (for a place already titled with the side)."""
    steps = f"{v.steps} step{'s' if v.steps != 1 else ''}"
    if not v.measurable:
        text = f"no verdict — {no_verdict_reason(analysis, v)}."
    else:
        sd = f" ± {fmt_deg(v.sd_drop_deg)}" if math.isfinite(v.sd_drop_deg) else ""
        t = f"{analysis.threshold_deg:g}°"
        text = f"mean contralateral drop {fmt_deg(v.mean_drop_deg)}{sd} over {steps} — " + (
            f"above {t}, consistent with a positive Trendelenburg sign (suggests weak {v.side} hip abductors)."
            if v.flagged else f"not above {t}: no Trendelenburg sign on this leg.")
        if v.steps < MIN_STEPS_PER_SIDE:
            text += f" Only {steps}: at least {MIN_STEPS_PER_SIDE} per side are needed for a stable mean, " \
                    "so treat this as provisional."
    return f"{v.side.capitalize()}-leg stance: {text}" if lead else text[0].upper() + text[1:]


def side_difference(analysis: Analysis) -> str | None:
    """Right-minus-left mean drop against the smallest detectable difference, when both sides have a verdict."""
    left, right = analysis.sides.get("left"), analysis.sides.get("right")
    if not (left and right and left.measurable and right.measurable):
        return None
    diff = right.mean_drop_deg - left.mean_drop_deg
    sdd = fmt_deg(SMALLEST_DETECTABLE_DIFFERENCE_DEG)
    if abs(diff) > SMALLEST_DETECTABLE_DIFFERENCE_DEG:
        larger = "right" if diff > 0 else "left"
        return (f"Right minus left: {fmt_deg(diff, signed=True)}, more than the smallest detectable difference "
                f"({sdd}): the drop is really larger in {larger}-leg stance.")
    return (f"Right minus left: {fmt_deg(diff, signed=True)}, within the smallest detectable difference ({sdd}): "
            "no real side-to-side difference can be claimed.")
