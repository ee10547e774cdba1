"""Plain-language text shared by the report, summary.json, the app and the command line, so all say exactly the
same thing: verdicts, the side difference, definitions, and each warning code's sentence.

Returns plain (unescaped) strings: callers writing HTML escape them.
"""
from __future__ import annotations

import math

from gaitlab.core.clip import VideoInfo
from gaitlab.core.result import (
    MIN_STEPS_FOR_VERDICT,
    MIN_STEPS_PER_SIDE,
    SMALLEST_DETECTABLE_DIFFERENCE_DEG,
    Analysis,
    AnalysisWarning,
    SideVerdict,
    WarningCode,
)
from gaitlab.core.uncertainty import SideDifference
from gaitlab.core.uncertainty import side_difference as side_difference_interval

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
                                                "(approximate, from the side only). Empty (null) when filmed from "
                                                "behind or the front: knee flexion bends the leg toward or away "
                                                "from the camera, which a frontal view cannot measure."),
    "camera_roll_deg": ("Camera roll",
                        "Tilt of the camera, degrees, positive = turned counter-clockwise as seen from behind it; "
                        "already removed from every angle."),
    "camera_pose": ("Camera pose",
                    "Where the camera is relative to the person and their line of travel: yaw = turned away from "
                    "the line of travel (positive = the person's right, as they face), pitch = tilted down, roll = "
                    "turned counter-clockwise as seen from behind it, degrees, with one SD. The pelvis line seen in "
                    "the image is taken into the body's frontal plane with it (frames.csv keeps the image angle). "
                    "The focal length is assumed (a phone's main camera, 26 mm equivalent); the pitch is not "
                    "measured from one person on a treadmill and is taken as level ± 10°."),
    "threshold_deg": ("Threshold", "A side is flagged when the whole 95% interval of its mean contralateral drop is "
                                   "above this value."),
    "mean_drop_ci95_deg": ("95% interval",
                           "The range of a side's mean contralateral drop, degrees, that holds its true value with "
                           "95% confidence. It combines the step-to-step spread, the uncertainty of the pelvis' level "
                           "in this clip, that of the camera roll and the method's error as validated on clips with "
                           "exact ground truth. Verdict: 'above' when the whole interval is above the threshold, "
                           "'not above' when it is all below, 'cannot tell' when it spans the threshold."),
    "smallest_detectable_difference_deg": ("Smallest detectable difference",
                                           "Differences between sides or sessions smaller than this are within "
                                           "the measurement error of 2D video (Dingenen et al. 2018)."),
    "times": ("Times", "Seconds from the start of the clip."),
}  # key -> (title, text)


def camera_pose_text(analysis: Analysis) -> str:
    """The camera's pose in words, e.g. 'camera turned 11° toward the person's right (± 1°), pitch not measured
    (taken as level), roll +0.2°'; '' without a pose. Yaw positive = the camera turned toward the person's right (as
    they face)."""
    cam = analysis.camera
    if cam is None or not math.isfinite(cam.yaw_deg):
        return ""
    # the scene's +X is image right: the person's right from behind, their left from in front
    toward_right = cam.yaw_deg if analysis.view != "anterior" else -cam.yaw_deg
    side = "right" if toward_right > 0 else "left"
    where = ("square to the line of travel" if round(abs(cam.yaw_deg)) == 0 else
             f"turned {abs(cam.yaw_deg):.0f}° toward the person's {side}")
    spread = f" (± {cam.yaw_sd_deg:.0f}°)" if round(cam.yaw_sd_deg) > 0 else ""  # ± 0° would claim too much
    pitch = ("pitch not measured (taken as level)" if cam.pitch_sd_deg > 5 else
             f"pitched {abs(cam.pitch_deg):.0f}° {'down' if cam.pitch_deg >= 0 else 'up'}")
    above = cam.height_above_hips_m
    height = ("" if not math.isfinite(above) else ", at the hips' height" if round(above, 1) == 0 else
              f", {abs(above):.1f} m {'above' if above > 0 else 'below'} the hips")
    cues = ([plural(cam.room_lines, "vertical line") + " of the room"] if cam.room_lines else []) + \
        (["the horizon of " + plural(cam.horizon_lines, "horizontal line")] if cam.horizon_lines else []) + \
        ["the body's axis"]
    source = f" (from {', '.join(cues[:-1])} and {cues[-1]})" if len(cues) > 1 else " (from the body's axis)"
    return f"camera {where}{spread}{height}, {pitch}, roll {fmt_deg(cam.roll_deg, signed=True)}{source}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """A count with its noun, e.g. '1 session', '3 sessions' (`many`: an irregular plural)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def fmt_deg(x: float, signed: bool = False) -> str:
    """Degrees to one decimal, e.g. '7.2°' ('+7.2°' when signed); '–' for None or NaN; never '-0.0°'."""
    if x is None or not math.isfinite(x):
        return "–"
    x = round(x, 1) + 0.0  # -0.04 rounds to -0.0, shown as a sign without a size
    return f"{x:+.1f}°" if signed else f"{x:.1f}°"


def trunk_lean_words(lean_deg: float) -> str:
    """A stance side's trunk lean (positive = toward the stance side) with its direction in words rather than a
    sign, e.g. 'trunk lean 0.9° away from the stance side'; 'trunk upright' when it rounds to 0.0°."""
    if round(abs(lean_deg), 1) == 0:
        return "trunk upright (0.0° lean)"
    way = "toward" if lean_deg > 0 else "away from"
    return f"trunk lean {fmt_deg(abs(lean_deg))} {way} the stance side"


def no_verdict_reason(analysis: Analysis, v: SideVerdict) -> str:
    """Why a side that is not measurable has no verdict, as a clause: the view, no step, or an unreliable measure."""
    if analysis.view in ("sagittal", "oblique"):
        return (f"the clip was filmed from an {analysis.view} view" if analysis.view == "oblique" else
                "the clip was filmed from the side (sagittal view)") + \
            "; pelvic drop needs the camera straight behind or in front of the person"
    if v.steps == 0:
        return "no complete single-leg stance on this leg was found in the clip"
    if v.steps < MIN_STEPS_FOR_VERDICT:
        return (f"only {plural(v.steps, 'complete single-leg stance')} on this leg was found: a mean drop and its 95% "
                f"interval need at least {MIN_STEPS_FOR_VERDICT}")
    return "the measurement was not reliable enough (see the warnings)"


def fmt_interval(low: float, high: float, signed: bool = False) -> str:
    """An interval in degrees, e.g. '6.1° to 8.3°' ('+0.4° to +3.0°' when signed); '–' when not known."""
    if not all(x is not None and math.isfinite(x) for x in (low, high)):
        return "–"
    return f"{fmt_deg(low, signed)} to {fmt_deg(high, signed)}"


VERDICT_CLASS_WORDS = {"above": "above", "not_above": "not above", "cannot_tell": "cannot tell"}


def _settle_phrase(hint: str, v: SideVerdict) -> str:
    """One thing that would settle a side that cannot be told, in words."""
    if hint == "more_steps":
        if v.more_steps is None:
            return f"film a longer walk (at least {MIN_STEPS_PER_SIDE} steps per side)"
        return f"film about {plural(v.more_steps, f'more {v.side}-leg step')}"
    return {"visible_waistband": "wear clothing with a visible waistband (fitted shorts or leggings) so the "
                                 "level of the pelvis can be read",
            "film_closer": "film closer or at a higher resolution, so that the pelvis spans more pixels",
            "level_camera": "level the camera",
            "near_threshold": "the mean is too close to the threshold for video to decide: an assessment by a "
                              "physiotherapist can"}[hint]


def settle_text(v: SideVerdict) -> str:
    """For a side that cannot be told, what would settle it as a sentence ('' otherwise), e.g. 'To settle it:
    film about 6 more right-leg steps.'"""
    if v.verdict_class != "cannot_tell" or not v.settle:
        return ""
    phrases = [_settle_phrase(h, v) for h in v.settle if h != "near_threshold"]
    text = f"To settle it: {'; '.join(phrases)}." if phrases else ""
    if "near_threshold" in v.settle:
        near = _settle_phrase("near_threshold", v)
        text += f" {near[0].upper()}{near[1:]}." if not phrases else f" Even so, {near}."
    return text.strip()


def _class_clause(v: SideVerdict, threshold: str) -> str:
    """The verdict after the mean and its interval, e.g. 'the whole interval is above 5°: …'."""
    if v.verdict_class == "above":
        return (f"the whole interval is above {threshold}: consistent with a positive Trendelenburg sign (suggests "
                f"weak {v.side} hip abductors).")
    if v.verdict_class == "not_above":
        return f"the whole interval is below {threshold}: no Trendelenburg sign on this leg."
    return f"cannot tell whether it is above {threshold}: the interval spans the threshold. " + settle_text(v)


def side_verdict(analysis: Analysis, v: SideVerdict, lead: bool = True) -> str:
    """One sentence per stance side, e.g. 'Right-leg stance: mean contralateral drop 7.2° (95% interval 6.1° to
    8.3°) over 9 steps — the whole interval is above 5°: …'; for a side that cannot be told, what would settle it.

    lead=False leaves out the 'Right-leg stance: ' lead (for a place already titled with the side)."""
    steps = plural(v.steps, "step")
    if not v.measurable:
        text = f"no verdict — {no_verdict_reason(analysis, v)}."
    else:
        t = f"{analysis.threshold_deg:g}°"
        iv = v.interval
        ci = f" (95% interval {fmt_interval(iv.low_deg, iv.high_deg)})"
        text = f"mean contralateral drop {fmt_deg(v.mean_drop_deg)}{ci} over {steps} — " + _class_clause(v, t)
        if v.steps < MIN_STEPS_PER_SIDE:
            text += f" Only {steps}: at least {MIN_STEPS_PER_SIDE} per side are needed for a stable mean, " \
                    "so treat this as provisional."
    return f"{v.side.capitalize()}-leg stance: {text}" if lead else text[0].upper() + text[1:]


def difference_of(analysis: Analysis) -> SideDifference | None:
    """Right minus left mean drop with its 95% interval (gaitlab.core.uncertainty), when both sides have a
    verdict."""
    left, right = analysis.sides.get("left"), analysis.sides.get("right")
    return side_difference_interval(left, right) if left and right else None


def side_difference(analysis: Analysis) -> str | None:
    """Right-minus-left mean drop with its 95% interval, claimed as real only when the interval excludes zero and
    the difference exceeds the smallest detectable difference; None unless both sides have a verdict."""
    d = difference_of(analysis)
    if d is None:
        return None
    sdd = fmt_deg(SMALLEST_DETECTABLE_DIFFERENCE_DEG)
    ci = fmt_interval(d.low_deg, d.high_deg, signed=True)
    head = f"Right minus left: {fmt_deg(d.diff_deg, signed=True)}" + (f" (95% interval {ci})" if ci != "–" else "")
    if d.claimed:
        larger = "right" if d.diff_deg > 0 else "left"
        return (f"{head}, more than the smallest detectable difference ({sdd}) and clear of zero: the drop is "
                f"really larger in {larger}-leg stance.")
    reasons = []
    if abs(d.diff_deg) <= SMALLEST_DETECTABLE_DIFFERENCE_DEG:
        reasons.append(f"within the smallest detectable difference ({sdd})")
    if ci == "–":
        reasons.append("a side has too few steps for an interval")
    elif d.low_deg <= 0 <= d.high_deg:
        reasons.append("its interval includes zero")
    return f"{head}, {' and '.join(reasons)}: no real side-to-side difference can be claimed."


# code -> sentence; its fields are the warning's values and the words _warning_fields derives from them
WARNING_TEMPLATES = {
    WarningCode.ENDS_EARLY: "The clip ends early: {read_part}; the results cover that part only.",
    WarningCode.SIDE_VIEW: "The camera sees the person from the side ({view} view, shoulder line turned {yaw_deg:.0f}° "
                           "from the image plane): frontal-plane pelvic drop cannot be measured from this angle, so "
                           "no verdict is given. Film from directly behind or in front.",
    WarningCode.TURNED_VIEW: "The person is turned {yaw_deg:.0f}° from a straight front/back view: angles may be off "
                             "by a degree or more.",
    WarningCode.PERSON_MISSED: "The person was found in only {found_percent:.0f}% of frames.",
    WarningCode.PERSON_SMALL: "The person is small in the frame (under a fifth of its height): the pelvis spans few "
                              "pixels, so its angle is measured less precisely. Film closer or zoom in.",
    WarningCode.HIPS_HIDDEN: "The hips are often hidden or unclear (low landmark visibility).",
    WarningCode.FEET_OUT: "The feet are out of the frame in {out_percent:.0f}% of frames: steps cannot be timed "
                          "there. Keep the whole body in view.",
    WarningCode.LITTLE_TEXTURE: "The pelvis region has little texture or contrast, so its tilt is measured poorly "
                                "(plain, dark or loose clothing; patterned, fitted shorts or leggings help).",
    WarningCode.SEVERAL_PEOPLE: "More than one person is in view: gaitlab follows the largest, most central one "
                                "(check in the annotated video that it is the right person).",
    WarningCode.VIDEO_SIDEWAYS: "The person appears turned by about {turn_deg:.0f}° (the video is on its side and has "
                                "no rotation tag): no verdict. Re-export the clip upright.",
    WarningCode.CAMERA_TILTED: "The camera is tilted by {roll_deg:.0f}°: level the phone for a reliable measure.",
    WarningCode.CAMERA_MOVED: "The camera moved during the clip: the room's vertical lines tilt differently from one "
                              "second to the next (by {roll_change_deg:.1f}° typically), as with a phone held in the "
                              "hand or turned to follow the person. The pelvis' tilt is read against the picture, so "
                              "every turn of the camera is in the drops: no verdict. Film from a tripod, or with the "
                              "phone propped still, and let the person walk or run in front of it.",
    WarningCode.CAMERA_YAWED: "The camera is turned {yaw_deg:.0f}° from the person's line of travel, more than the "
                              "{limit_deg:.0f}° the perspective correction was checked on: turn the phone to face the "
                              "treadmill (or the walkway) squarely, with the person in the middle of the picture.",
    WarningCode.CAMERA_PITCHED: "The camera looks {pitch_way} at the person by {pitch_abs:.0f}°{camera_height}, more "
                                "than the {limit_deg:.0f}° the perspective correction was checked on: put the phone "
                                "at about the height of the hips, level, and far enough away to see the whole body.",
    WarningCode.CAMERA_ZOOMED: "The room's level lines (floor seams, shelf edges) and its upright lines (door frames, "
                               "posts) do not fit together through a phone's main camera: the clip looks {lens}, or "
                               "the lines taken for level are not level. The level lines were left out. The "
                               "correction for perspective assumes a main camera (about 26 mm equivalent); with "
                               "another lens it comes out too {wrong}: film at 1x for the best reading.",
    WarningCode.BODY_LEANS: "Compared with the room's vertical lines (door frames, shelves, posts, wall edges), the "
                            "person's body leans {lean_deg:.1f}° to their {side} on average over the clip: a lean to "
                            "one side (a painful hip, a cane, or a trunk lean that spares a weak hip), or room lines "
                            "that are not plumb. The camera's tilt was read mostly from the room's lines, so the "
                            "lean hardly shifts the drops.",
    WarningCode.TURNED_DURING_CLIP: "The person turned during the clip (walking {order} the camera): each stretch was "
                                    "measured from its own side, and the {frames} frames while turning or side-on "
                                    "were left out.",
    WarningCode.SIDES_SWAPPED: "MediaPipe mixed up left and right in {frames} frames; they were corrected from the "
                               "direction the person faces.",
    WarningCode.LEVEL_FALLBACK: "The pelvis' level could not be read from its symmetry in enough frames; gaitlab used "
                                "{fallback}, which may shift both sides' drops by a degree or more in opposite "
                                "directions.",
    WarningCode.LEVEL_CUES_DISAGREE: "Where the pelvis is level was read two ways, from its left-right symmetry and "
                                     "from the flight phases (where a runner's pelvis passes through level), and "
                                     "the two differ by {difference_deg:.1f}°: either the pelvis is tilted all the "
                                     "time (a leg-length difference, for instance: then it is part of every drop "
                                     "shown) or the clothing misleads the symmetry. The symmetry was used; a "
                                     "physiotherapist can check for a leg-length difference.",
    WarningCode.PELVIS_UNRELIABLE: "The pelvis could not be measured reliably: the clothing around the hips is dark "
                                   "and plain (its texture is {texture_snr:.1f} times the noise, under the "
                                   "{limit:g} a reliable level needs), so where the pelvis is level was read from "
                                   "the hip outlines and shading, and from its average angle over whole strides "
                                   "(which assumes both sides drop alike); both sides' drops may be off by a "
                                   "degree or two in opposite directions (the intervals are widened for it). "
                                   "For a reliable measure, film again in clothing with a visible waistband "
                                   "(fitted shorts or leggings with a contrasting waistband or pattern), or put "
                                   "two light-coloured stickers on the pelvis where the camera sees it, one on each "
                                   "side (filmed from behind: over the two dimples above the buttocks; from in "
                                   "front: over the two front hip bones).",
    WarningCode.PELVIS_TOO_SMALL: "The person is too small in the picture for the pelvis' level: the band around "
                                  "the hips spans {band_px:.0f} pixels in height, and over fewer than {limit_px:.0f} a "
                                  "single pixel tilts it by more than the 2.7° a drop must change by to count, so "
                                  "both sides' drops may be off by a degree or more in opposite directions (the "
                                  "intervals are widened for it). Film closer, or at a higher resolution (send the "
                                  "original file rather than a copy a messaging app has shrunk).",
    WarningCode.STEPS_UNMEASURED: "{steps} step{plural} left out: the pelvis was not measured through enough of the "
                                  "stance.",
    WarningCode.STEPS_IMPLAUSIBLE: "{steps} step{plural} left out: a pelvic drop beyond ±{limit_deg:g}° does not "
                                   "happen in walking or running (is the person walking steadily, whole body in "
                                   "view?).",
    WarningCode.STANCES_ATYPICAL: "{steps} step{plural} left out: a single-leg stance found much shorter or longer "
                                  "than that leg's others means a foot's lift-off or landing was misread, and the "
                                  "drop's peak may lie outside the stance as found.",
    WarningCode.NO_STANCE: "No complete {side}-leg single-leg stance was found, so that side has no verdict: film at "
                           "least {min_steps} steps per side with the feet in view.",
    WarningCode.FEW_STEPS: "Only {steps} {side}-leg stance step{plural} measured: at least {min_steps} per side are "
                           "needed for a stable mean (film a longer walk).",
}


def _read_part(read_s: float, claimed_s: float) -> str:
    return f"only {read_s:.1f} s of its {claimed_s:.1f} s could be read (damaged or cut off)"


def read_part(video: VideoInfo) -> str:
    """How much of a clip that ends early could be read (seconds), e.g. 'only 2.6 s of its 6.0 s could be read
    (damaged or cut off)'."""
    return _read_part(video.duration_s, video.claimed_duration_s)


def _warning_fields(values: dict) -> dict:
    """A warning's values plus the words its sentence needs: a plural ending for a count of steps, the order of
    facings, the ends-early phrase, the fallback level method without its 'level from ' lead, the camera pitch's
    way and the camera's height, the lens a horizon at odds with the verticals suggests."""
    fields = dict(values)
    if "steps" in values:
        fields["plural"] = "" if values["steps"] == 1 else "s"
    if "facings" in values:
        fields["order"] = ", then ".join("away from" if f == "away" else "toward" for f in values["facings"])
    if "read_s" in values:
        fields["read_part"] = _read_part(values["read_s"], values["claimed_s"])
    if "level_method" in values:
        fields["fallback"] = values["level_method"].removeprefix("level from ")
    if "pitch_deg" in values:
        fields["pitch_way"], fields["pitch_abs"] = "down" if values["pitch_deg"] >= 0 else "up", abs(values["pitch_deg"])
        above = values.get("height_above_hips_m", float("nan"))
        fields["camera_height"] = ("" if above is None or not math.isfinite(above) else
                                   f" (from {abs(above):.1f} m {'above' if above >= 0 else 'below'} their hips)")
    if "apart_sd" in values:  # + : a longer lens than a main camera's would bring them together
        zoomed = values["apart_sd"] > 0
        fields["lens"] = "zoomed in" if zoomed else "filmed through a wide-angle lens (0.5x)"
        fields["wrong"] = "large" if zoomed else "small"
    return fields


def warning_text(warning: AnalysisWarning) -> str:
    """The warning as the sentence the report, summary.json, the app and the command line show."""
    return WARNING_TEMPLATES[warning.code].format(**_warning_fields(warning.values))


def warning_texts(warnings: list[AnalysisWarning]) -> list[str]:
    """Each warning's sentence, in order."""
    return [warning_text(w) for w in warnings]
