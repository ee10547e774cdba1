"""`gaitlab validate DIR`: compare gaitlab with ground truth on a folder of clips with NAME.truth.json.

Scores (the truth schema is in docs/truth_schema.md):
- stance-window F1: a detected single-leg stance matches a true one of the same side when its start and
  end are both within 0.1 s (one-to-one);
- per-step peak-drop MAE over matched steps, per-side mean-drop error, verdict agreement (counted where
  the truth is at least 0.5° from the threshold) — for gaitlab's measure and the landmark-line baseline;
- the per-side error of a perfect 2D measurement (the truth's own image obliquity, the true camera roll
  removed): the part of the error that the image of the pelvis does not contain (perspective), when the
  truth has the image obliquity and the camera roll;
- calibration of each side's 95% interval (gaitlab.core.uncertainty, docs/uncertainty.md): the share of sides
  whose interval contains the true mean, the median half-width (all sides, and sides with at least
  CALIBRATION_MIN_STEPS steps), the verdict classes, and the RMS per-side error on the clips whose level and
  camera are good - the source of METHOD_RESIDUAL_DEG;
- the camera's pose gaitlab estimated (gaitlab.core.camera.CameraPose) beside the truth's yaw and roll, and the
  pitch the truth implies where it can be told (truth_yaw_pitch);
- per side, the gain of gaitlab's obliquity against the truth's in that side's single-leg stances, the level left
  free (stance_gains): a side read short by its stances' size, told apart from one read short by the level.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitlab.core.camera import FULL_FRAME_DIAGONAL_MM, CameraPose, camera_rotation, frontal_angle_deg, intrinsics
from gaitlab.core.obliquity import contralateral_drop_deg, image_to_world, view_sign
from gaitlab.core.result import SIDES, Analysis, WarningCode
from gaitlab.core.uncertainty import METHOD_RESIDUAL_DEG
from gaitlab.core.verdict import above_threshold

WINDOW_TOLERANCE_S = 0.1
DECISIVE_MARGIN_DEG = 0.5
CALIBRATION_MIN_STEPS = 10  # sides with this many steps: the half-width a full-length clip gives
CLEAR_MARGIN_DEG = 1.0  # a side whose truth is this far from the threshold should not be "cannot tell"


@dataclass
class SideCalibration:
    """One side's 95% interval against its true mean (degrees), and how good the clip's level and camera are:
    level_good = a symmetric scene (no one-sided patch or light, no clutter, no pelvis offset in the truth) and
    gaitlab's level read from the symmetry; camera_good = the truth's camera roll and yaw are 0."""

    clip: str
    side: str
    steps: int
    true_mean_deg: float
    mean_deg: float
    low_deg: float
    high_deg: float
    verdict_class: str
    level_good: bool
    camera_good: bool
    stance_gain: float = float("nan")  # stance_gains

    @property
    def contains(self) -> bool:
        """Whether the interval contains the true mean."""
        return bool(self.low_deg <= self.true_mean_deg <= self.high_deg)

    @property
    def half_width_deg(self) -> float:
        """Half the interval's width, degrees."""
        return (self.high_deg - self.low_deg) / 2


@dataclass
class ClipScore:
    """One clip's scores against its truth (score_clip): steps matched, F1, and errors in degrees (MAEs; side
    errors signed, measured - true)."""

    name: str
    truth_steps: int
    found_steps: int
    matched: int
    f1: float
    step_mae: float
    baseline_step_mae: float
    side_error: dict[str, float]  # measured - true per-side mean drop
    baseline_side_error: dict[str, float]
    verdicts_right: int
    baseline_verdicts_right: int
    verdicts_decisive: int
    image_side_error: dict[str, float]  # a perfect 2D measurement's (image_ceiling_side_error)
    verdicts_cannot_tell: int = 0  # decisive sides whose interval spans the threshold
    sides: list[SideCalibration] = field(default_factory=list)  # each side's interval against its truth
    frontal_side_error: dict[str, float] = field(default_factory=dict)  # frontal_ceiling_side_error
    camera: CameraRow | None = None  # the camera's pose against the truth's; None without a pose


@dataclass(frozen=True)
class CameraRow:
    """gaitlab's camera pose beside the truth's yaw and roll, the pitch where truth_yaw_pitch can tell it (else NaN)
    and the focal length its field of view gives (35-mm equivalent, mm), in gaitlab's conventions
    (gaitlab.core.camera)."""

    pose: CameraPose
    true_yaw_deg: float
    true_pitch_deg: float
    true_roll_deg: float
    true_focal_35mm: float


def match_windows(found: list[tuple[str, float, float]], truth: list[tuple[str, float, float]],
                  tol_s: float = WINDOW_TOLERANCE_S) -> list[tuple[int, int]]:
    """One-to-one matches (found index, truth index), closest pairs first."""
    candidates = []
    for i, (side_f, s_f, e_f) in enumerate(found):
        for j, (side_t, s_t, e_t) in enumerate(truth):
            if side_f == side_t and abs(s_f - s_t) <= tol_s + 1e-9 and abs(e_f - e_t) <= tol_s + 1e-9:
                candidates.append((abs(s_f - s_t) + abs(e_f - e_t), i, j))
    used_f, used_t, pairs = set(), set(), []
    for _, i, j in sorted(candidates):
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            pairs.append((i, j))
    return pairs


def image_ceiling_side_error(truth: dict) -> dict[str, float]:
    """Per side: mean over the true steps of (peak drop of the true image obliquity with the true camera roll
    removed, in the true single-leg stance) - true peak drop. What a method reading the pelvis' tilt
    perfectly from the image, and the camera roll perfectly, would still be off by: the projection of a
    pelvis seen from a camera above it or turned toward it. NaN when the truth lacks the image obliquity
    or the camera roll."""
    frames, roll = truth.get("frames_truth", {}), truth.get("camera", {}).get("roll_deg")
    if "image_obliquity_deg" not in frames or roll is None:
        return {side: float("nan") for side in SIDES}
    return _peak_errors(truth, image_to_world(np.asarray(frames["image_obliquity_deg"], float), roll, truth["view"]))


def _in_step(t: np.ndarray, step: dict) -> np.ndarray:
    """(N,) bool: the times t (seconds) inside a true step's single-leg stance, its ends included."""
    return (t >= step["start_s"] - 1e-9) & (t <= step["end_s"] + 1e-9)


def _peak_errors(truth: dict, obliquity: np.ndarray) -> dict[str, float]:
    """Per side: mean over the true steps of (peak drop of `obliquity` (frames_truth's frames) in the true
    single-leg stance) - true peak drop, degrees."""
    t = np.asarray(truth["frames_truth"]["time_s"], float)
    errors: dict[str, list[float]] = {side: [] for side in SIDES}
    for step in truth["steps"]:
        inside = _in_step(t, step)
        if inside.any():
            peak = contralateral_drop_deg(obliquity[inside], step["stance_side"]).max()
            errors[step["stance_side"]].append(float(peak) - step["peak_drop_deg"])
    return {side: float(np.mean(e)) if e else float("nan") for side, e in errors.items()}


def stance_gains(time_s: np.ndarray, obliquity_deg: np.ndarray, truth: dict) -> dict[str, float]:
    """Per side S: the gain of an obliquity series (degrees at time_s, gaitlab.core.result's convention) against the
    truth's obliquity over the frames of S's true single-leg stances, by least squares of
    obliquity = offset + gain_left x truth (left stances) + gain_right x truth (right stances), one offset for both:
    a level off moves the offset, not the gains, so a side whose drops read short by the level keeps a gain of 1
    and one whose stances are read short does not. NaN for a side with fewer than two measured frames."""
    frames = truth["frames_truth"]
    t = np.asarray(frames["time_s"], float)
    true = np.asarray(frames["obliquity_deg"], float)
    ok = np.isfinite(obliquity_deg)
    # at the truth's frames, where the frames either side were measured
    known = np.interp(t, time_s, ok.astype(float), left=0.0, right=0.0) > 1 - 1e-9
    measured = np.where(known, np.interp(t, time_s, np.where(ok, obliquity_deg, 0.0)), np.nan)
    stance = {side: np.zeros(len(t), bool) for side in SIDES}
    for step in truth["steps"]:
        stance[step["stance_side"]] |= _in_step(t, step)
    sides = [side for side in SIDES if (stance[side] & np.isfinite(measured)).sum() >= 2]
    gains = {side: float("nan") for side in SIDES}
    if not sides:
        return gains
    rows = np.isfinite(measured) & np.any([stance[side] for side in sides], axis=0)
    design = np.column_stack([np.ones(rows.sum())] + [np.where(stance[side], true, 0.0)[rows] for side in sides])
    solution = np.linalg.lstsq(design, measured[rows], rcond=None)[0]
    gains.update({side: float(g) for side, g in zip(sides, solution[1:])})
    return gains


def frontal_ceiling_side_error(truth: dict) -> dict[str, float]:
    """Per side, like image_ceiling_side_error, for the truth's image obliquity taken into the frontal plane
    (gaitlab.core.camera.frontal_angle_deg) at the truth's hip pixels with the truth's camera: its yaw (turned away
    from where the hips are seen), roll and vertical field of view; its pitch, which the truth does not give, is
    the one whose conversion best matches the truth's own obliquity (least squares over the frames; 0 for an
    unturned camera, where it does not matter to first order). What remains: the pelvis' rotation about the
    vertical seen from above or below, which the frontal plane does not hold. NaN without those fields."""
    frames, cam = truth.get("frames_truth", {}), truth.get("camera", {})
    need = ("image_obliquity_deg", "left_hip_px", "right_hip_px")
    if not all(k in frames for k in need) or not all(k in cam for k in ("roll_deg", "yaw_deg", "yfov_deg")):
        return {side: float("nan") for side in SIDES}
    yaw, pitch = truth_yaw_pitch(truth)
    return _peak_errors(truth, _truth_frontal(truth, yaw, 0.0 if yaw == 0 else pitch))


def _truth_frontal(truth: dict, yaw: float, pitch: float) -> np.ndarray:
    """The truth's image obliquity taken into the frontal plane at its hip pixels by a camera of the truth's roll
    and field of view with this yaw and pitch (degrees)."""
    frames, cam = truth["frames_truth"], truth["camera"]
    w, h = truth["width"], truth["height"]
    k = intrinsics(w, h, (h / 2) / np.tan(np.radians(cam["yfov_deg"] / 2)))
    mid = 0.5 * (np.asarray(frames["left_hip_px"], float) + np.asarray(frames["right_hip_px"], float))
    sign = view_sign(truth["view"])
    screen = sign * np.asarray(frames["image_obliquity_deg"], float)
    return sign * frontal_angle_deg(screen, mid, camera_rotation(yaw, pitch, cam["roll_deg"]), k)


def truth_yaw_pitch(truth: dict) -> tuple[float, float]:
    """The truth's camera yaw in gaitlab's sign (turned away from where the hips are seen) and the pitch it
    implies, degrees: the truth gives no pitch, but a turned camera's image obliquity depends on it, so it is the
    one whose conversion best matches the truth's own obliquity (least squares over the frames); NaN for an
    unturned camera, where it does not matter to first order (and cannot be told), or without the fields."""
    frames, cam = truth.get("frames_truth", {}), truth.get("camera", {})
    if not all(k in frames for k in ("image_obliquity_deg", "left_hip_px", "right_hip_px")) or \
            not all(k in cam for k in ("roll_deg", "yaw_deg", "yfov_deg")):
        return float("nan"), float("nan")
    from scipy.optimize import minimize_scalar

    mid_x = 0.5 * (np.asarray(frames["left_hip_px"], float)[:, 0] + np.asarray(frames["right_hip_px"], float)[:, 0])
    yaw = float(-np.sign(np.median(mid_x) - truth["width"] / 2) * abs(cam["yaw_deg"])) + 0.0  # no -0.0
    if yaw == 0 or "obliquity_deg" not in frames:
        return yaw, float("nan")
    world = np.asarray(frames["obliquity_deg"], float)
    return yaw, float(minimize_scalar(lambda p: float(np.mean((_truth_frontal(truth, yaw, p) - world) ** 2)),
                                      bounds=(-30, 30), method="bounded").x)


def camera_row(analysis: Analysis, truth: dict) -> CameraRow | None:
    """gaitlab's camera pose beside the truth's (CameraRow); None where gaitlab has no pose."""
    c = analysis.camera
    if c is None:
        return None
    yaw, pitch = truth_yaw_pitch(truth)
    cam, w, h = truth.get("camera", {}), truth.get("width", np.nan), truth.get("height", np.nan)
    true_focal = ((h / 2) / np.tan(np.radians(cam["yfov_deg"] / 2)) * FULL_FRAME_DIAGONAL_MM / np.hypot(w, h)
                  if "yfov_deg" in cam else np.nan)
    return CameraRow(c, yaw, pitch, float(cam.get("roll_deg", np.nan)), float(true_focal))


def score_clip(analysis: Analysis, truth: dict) -> ClipScore:
    """Score one analysis against its truth (docs/truth_schema.md), as the module docstring describes.

    Stance windows match one to one within WINDOW_TOLERANCE_S; step MAEs are over matched steps with a
    measured drop (degrees); side errors are the measured minus the true mean drop per side (degrees); a side's
    verdict is counted only where the true mean is at least DECISIVE_MARGIN_DEG from the threshold, and is
    right for gaitlab only if the side was measurable and its class ("above"/"not_above") agrees with the truth
    ("cannot_tell" is counted apart); each measurable side's interval is kept for the calibration."""
    found = [(s.stance_side, s.start_s, s.end_s) for s in analysis.steps]
    true_steps = truth["steps"]
    ref = [(s["stance_side"], s["start_s"], s["end_s"]) for s in true_steps]
    pairs = match_windows(found, ref)
    precision = len(pairs) / len(found) if found else 0.0
    recall = len(pairs) / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def mae(attr: str) -> float:
        errs = [getattr(analysis.steps[i], attr) - true_steps[j]["peak_drop_deg"] for i, j in pairs]
        errs = [e for e in errs if np.isfinite(e)]
        return float(np.mean(np.abs(errs))) if errs else float("nan")

    threshold = analysis.threshold_deg
    side_err, base_err = {}, {}
    right = base_right = decisive = cannot_tell = 0
    for side in SIDES:
        true_mean = truth["sides"][side]["mean_drop_deg"]
        v = analysis.sides[side]
        side_err[side] = v.mean_drop_deg - true_mean
        base_err[side] = v.baseline_mean_drop_deg - true_mean
        if abs(true_mean - threshold) >= DECISIVE_MARGIN_DEG:
            decisive += 1
            truth_class = "above" if above_threshold(true_mean, threshold) else "not_above"
            right += int(v.measurable and v.verdict_class == truth_class)
            cannot_tell += int(v.measurable and v.verdict_class == "cannot_tell")
            base_right += int(np.isfinite(v.baseline_mean_drop_deg)
                              and above_threshold(v.baseline_mean_drop_deg, threshold) == (truth_class == "above"))
    name = truth.get("name", analysis.video.name)
    return ClipScore(name, len(ref), len(found), len(pairs), f1,
                     mae("peak_drop_deg"), mae("baseline_peak_drop_deg"), side_err, base_err,
                     right, base_right, decisive, image_ceiling_side_error(truth), cannot_tell,
                     side_calibration(analysis, truth, name), frontal_ceiling_side_error(truth),
                     camera_row(analysis, truth))


def _good_level_and_camera(analysis: Analysis, truth: dict) -> tuple[bool, bool]:
    """(level_good, camera_good) as SideCalibration defines them, from the truth's scene and camera."""
    scene, camera, body = truth.get("scene") or {}, truth.get("camera") or {}, truth.get("body") or {}
    symmetric = not (scene.get("asym_patch") or scene.get("light_side_deg") or scene.get("background") == "clutter"
                     or body.get("pelvis_offset_deg"))
    from_symmetry = not any(w.code == WarningCode.LEVEL_FALLBACK for w in analysis.warnings)
    camera_good = camera.get("roll_deg", 1) == 0 and camera.get("yaw_deg", 1) == 0
    return bool(symmetric and from_symmetry), bool(camera_good)


def side_calibration(analysis: Analysis, truth: dict, name: str) -> list[SideCalibration]:
    """Each measurable side with an interval, against the truth's mean drop, with its stance gain (stance_gains)."""
    level_good, camera_good = _good_level_and_camera(analysis, truth)
    gains = stance_gains(analysis.frames.time_s, analysis.frames.obliquity_deg, truth)
    out = []
    for side in SIDES:
        v = analysis.sides[side]
        if v.measurable and v.interval is not None:
            out.append(SideCalibration(name, side, v.steps, truth["sides"][side]["mean_drop_deg"], v.mean_drop_deg,
                                       v.interval.low_deg, v.interval.high_deg, v.verdict_class, level_good,
                                       camera_good, gains[side]))
    return out


def truth_clips(folder: Path) -> list[tuple[Path, Path]]:
    """(NAME.mp4, NAME.truth.json) for every truth file in folder with its clip beside it, in name order."""
    out = []
    for truth in sorted(folder.glob("*.truth.json")):
        clip = truth.with_name(truth.name[: -len(".truth.json")] + ".mp4")
        if clip.is_file():
            out.append((clip, truth))
    return out


def load_truth(path: Path) -> dict:
    """A NAME.truth.json as a dict (schema: docs/truth_schema.md; not checked here)."""
    return json.loads(path.read_text())


def format_table(scores: list[ClipScore]) -> str:
    """The scores as a text table, one row per clip (errors in degrees, L/R = left/right stance side), then the
    overall line."""
    head = (f"{'clip':28s} {'F1':>5s} {'steps':>9s} | {'step MAE°':>9s} {'side err L/R°':>13s} {'verdicts':>8s}"
            f" | {'base MAE°':>9s} {'base err L/R°':>13s} {'verdicts':>8s} | {'2D ceiling L/R°':>15s}"
            f" | {'frontal ceiling L/R°':>20s}")
    lines = [head, "-" * len(head)]
    for s in scores:
        lines.append(
            f"{s.name[:28]:28s} {s.f1:5.2f} {s.matched:3d}/{s.truth_steps:<3d}{s.found_steps:3d} | "
            f"{s.step_mae:9.2f} {s.side_error['left']:+6.2f}/{s.side_error['right']:+6.2f} "
            f"{s.verdicts_right:3d}/{s.verdicts_decisive:<4d} | {s.baseline_step_mae:9.2f} "
            f"{s.baseline_side_error['left']:+6.2f}/{s.baseline_side_error['right']:+6.2f} "
            f"{s.baseline_verdicts_right:3d}/{s.verdicts_decisive:<4d} | "
            f"{s.image_side_error['left']:+7.2f}/{s.image_side_error['right']:+6.2f} | "
            f"{s.frontal_side_error.get('left', np.nan):+12.2f}/{s.frontal_side_error.get('right', np.nan):+6.2f}")
    lines.append("-" * len(head))
    lines.append(format_overall(scores))
    return "\n".join(lines)


def format_camera(scores: list[ClipScore]) -> str:
    """The camera's pose per clip, gaitlab's (± one SD) against the truth's (degrees; the height above the hips in
    metres), with the room's vertical and horizontal lines it was read from; "–" where not measured or not told."""
    def deg(x: float, sd: float | None = None) -> str:
        if not np.isfinite(x):
            return "–"
        return f"{x:+.1f}" + (f"±{sd:.1f}" if sd is not None and np.isfinite(sd) else "")

    head = (f"{'clip':28s} {'lines v/h':>9s} | {'yaw°':>9s} {'true':>5s} | {'pitch°':>10s} {'true':>5s} | "
            f"{'roll°':>10s} {'true':>5s} | {'above hips m':>12s} | {'focal mm':>8s} {'true':>5s}")
    lines = ["camera pose: gaitlab ± 1 SD against the truth (pitch: implied by the truth where the camera is turned; "
             "a pitch SD of 10° is the prior, not a measurement; focal: 35-mm equivalent, * = fitted, else assumed)",
             head, "-" * len(head)]
    for s in scores:
        if s.camera is None:
            lines.append(f"{s.name[:28]:28s} {'no pose':>9s}")
            continue
        c, t = s.camera.pose, s.camera
        height = f"{c.height_above_hips_m:+.2f}±{c.height_sd_m:.2f}" if np.isfinite(c.height_above_hips_m) else "–"
        lines.append(f"{s.name[:28]:28s} {c.room_lines:4d}/{c.horizon_lines:<4d} | {deg(c.yaw_deg, c.yaw_sd_deg):>9s} "
                     f"{deg(t.true_yaw_deg):>5s} | {deg(c.pitch_deg, c.pitch_sd_deg):>10s} {deg(t.true_pitch_deg):>5s} | "
                     f"{deg(c.roll_deg, c.roll_sd_deg):>10s} {deg(t.true_roll_deg):>5s} | {height:>12s} | "
                     f"{c.focal_35mm:7.1f}{'*' if c.focal_fitted else ' '} {t.true_focal_35mm:5.1f}")
    return "\n".join(lines)


def overall(scores: list[ClipScore]) -> dict[str, float]:
    """Scores over all clips: F1 from the pooled matches, step MAEs weighted by matched steps, side errors as
    mean and largest absolute error over every clip's sides (degrees), verdicts right out of those counted."""
    matched = sum(s.matched for s in scores)
    found = sum(s.found_steps for s in scores)
    truth = sum(s.truth_steps for s in scores)
    p = matched / found if found else 0.0
    r = matched / truth if truth else 0.0

    def weighted_mae(attr: str) -> float:
        vals = [(getattr(s, attr), s.matched) for s in scores if s.matched and np.isfinite(getattr(s, attr))]
        n = sum(k for _, k in vals)
        return sum(v * k for v, k in vals) / n if n else float("nan")

    def side_abs(attr: str) -> float:
        errs = [abs(e) for s in scores for e in getattr(s, attr).values() if np.isfinite(e)]
        return float(np.mean(errs)) if errs else float("nan")

    def side_max(attr: str) -> float:
        errs = [abs(e) for s in scores for e in getattr(s, attr).values() if np.isfinite(e)]
        return float(np.max(errs)) if errs else float("nan")

    return {
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "step_mae": weighted_mae("step_mae"), "baseline_step_mae": weighted_mae("baseline_step_mae"),
        "side_mae": side_abs("side_error"), "side_max": side_max("side_error"),
        "baseline_side_mae": side_abs("baseline_side_error"), "baseline_side_max": side_max("baseline_side_error"),
        "image_side_mae": side_abs("image_side_error"), "image_side_max": side_max("image_side_error"),
        "verdicts_right": sum(s.verdicts_right for s in scores),
        "baseline_verdicts_right": sum(s.baseline_verdicts_right for s in scores),
        "verdicts_decisive": sum(s.verdicts_decisive for s in scores),
        "verdicts_cannot_tell": sum(s.verdicts_cannot_tell for s in scores),
    }


def format_overall(scores: list[ClipScore]) -> str:
    """overall() as one line of text."""
    o = overall(scores)
    return (f"OVERALL  F1 {o['f1']:.2f} | gaitlab: step MAE {o['step_mae']:.2f}°, side error mean "
            f"{o['side_mae']:.2f}° max {o['side_max']:.2f}°, verdicts {o['verdicts_right']}/{o['verdicts_decisive']}"
            f" ({o['verdicts_cannot_tell']} cannot tell) | landmark baseline: step MAE {o['baseline_step_mae']:.2f}°, side error mean "
            f"{o['baseline_side_mae']:.2f}° max {o['baseline_side_max']:.2f}°, verdicts "
            f"{o['baseline_verdicts_right']}/{o['verdicts_decisive']} | perfect 2D measurement: side error "
            f"mean {o['image_side_mae']:.2f}° max {o['image_side_max']:.2f}°")


def calibration(scores: list[ClipScore], threshold_deg: float = 5.0) -> dict[str, float]:
    """The 95% intervals against the truth over every clip's sides: coverage (share containing the true mean),
    median half-widths (degrees; all sides, sides with >= CALIBRATION_MIN_STEPS steps), verdict classes, the
    "clear" sides that are cannot_tell (truth >= CLEAR_MARGIN_DEG from threshold_deg, both sides of the clip with
    >= CALIBRATION_MIN_STEPS steps, level good), and the per-side error RMS on clips with level and camera good."""
    sides = [c for s in scores for c in s.sides if np.isfinite(c.half_width_deg)]
    long = [c for c in sides if c.steps >= CALIBRATION_MIN_STEPS]
    per_clip_steps = {}
    for c in sides:
        per_clip_steps[c.clip] = min(per_clip_steps.get(c.clip, c.steps), c.steps)
    clear = [c for c in sides if abs(c.true_mean_deg - threshold_deg) >= CLEAR_MARGIN_DEG and c.level_good
             and per_clip_steps[c.clip] >= CALIBRATION_MIN_STEPS
             and sum(x.clip == c.clip for x in sides) == 2]
    good = [c.mean_deg - c.true_mean_deg for c in sides if c.level_good and c.camera_good]

    def median(values: list[float]) -> float:
        return float(np.median(values)) if values else float("nan")

    return {
        "sides": len(sides), "contains": sum(c.contains for c in sides),
        "coverage": sum(c.contains for c in sides) / len(sides) if sides else float("nan"),
        "median_half_width": median([c.half_width_deg for c in sides]),
        "long_sides": len(long), "long_contains": sum(c.contains for c in long),
        "long_median_half_width": median([c.half_width_deg for c in long]),
        **{cls: sum(c.verdict_class == cls for c in sides) for cls in ("above", "not_above", "cannot_tell")},
        "clear_sides": len(clear), "clear_cannot_tell": sum(c.verdict_class == "cannot_tell" for c in clear),
        "good_sides": len(good), "good_rms": float(np.sqrt(np.mean(np.square(good)))) if good else float("nan"),
    }


def format_calibration(scores: list[ClipScore], threshold_deg: float = 5.0) -> str:
    """Each side's 95% interval against its true mean (degrees), then calibration() as lines of text."""
    head = (f"{'clip':28s} {'side':5s} {'n':>3s} {'true':>6s} {'mean':>6s} {'95% interval':>15s} {'±':>5s} "
            f"{'class':11s} {'in':3s} {'level/camera good':17s} {'stance gain':>11s}")
    lines = ["", "95% interval of each side's mean drop against the truth", head, "-" * len(head)]
    for c in (c for s in scores for c in s.sides):
        lines.append(f"{c.clip[:28]:28s} {c.side:5s} {c.steps:3d} {c.true_mean_deg:6.2f} {c.mean_deg:6.2f} "
                     f"[{c.low_deg:5.2f}, {c.high_deg:5.2f}] {c.half_width_deg:5.2f} {c.verdict_class:11s} "
                     f"{'yes' if c.contains else 'NO ':3s} {'yes' if c.level_good else 'no':>3s}/"
                     f"{'yes' if c.camera_good else 'no':13s} {c.stance_gain:11.2f}")
    k = calibration(scores, threshold_deg)
    lines.append("-" * len(head))
    lines.append(f"CALIBRATION  interval contains the true mean on {k['contains']}/{k['sides']} sides "
                 f"({100 * k['coverage']:.0f}%), median half-width {k['median_half_width']:.2f}°; sides with >= "
                 f"{CALIBRATION_MIN_STEPS} steps: {k['long_contains']}/{k['long_sides']}, median half-width "
                 f"{k['long_median_half_width']:.2f}°")
    lines.append(f"  classes: above {k['above']}, not_above {k['not_above']}, cannot_tell {k['cannot_tell']}; "
                 f"cannot_tell among the {k['clear_sides']} sides >= {CLEAR_MARGIN_DEG:g}° from the threshold on "
                 f"clips with >= {CALIBRATION_MIN_STEPS} steps per side and a good level: {k['clear_cannot_tell']}")
    lines.append(f"  method residual: per-side error RMS {k['good_rms']:.3f}° over the {k['good_sides']} sides of "
                 f"clips with level and camera good (METHOD_RESIDUAL_DEG = {METHOD_RESIDUAL_DEG:g}°)")
    return "\n".join(lines)


def plot_against_truth(analysis: Analysis, truth: dict, path: Path) -> None:
    """Truth vs gaitlab vs the landmark-line baseline obliquity over time, true stances shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = truth["frames_truth"]
    fig, ax = plt.subplots(figsize=(11, 3.6), dpi=100)
    for step in truth["steps"]:
        ax.axvspan(step["start_s"], step["end_s"], color="tab:orange" if step["stance_side"] == "right"
                   else "tab:blue", alpha=0.12, lw=0)
    ax.plot(frames["time_s"], frames["obliquity_deg"], color="black", lw=2.2, label="truth (world)")
    ax.plot(analysis.frames.time_s, analysis.frames.obliquity_deg, color="tab:red", lw=1.4, label="gaitlab")
    ax.plot(analysis.frames.time_s, analysis.frames.baseline_obliquity_deg, color="tab:gray", lw=1.0, ls="--",
            label="hip-landmark line (baseline)")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pelvic obliquity (°)\n+ = right hip higher")
    ax.set_title(f"{truth.get('name', analysis.video.name)}: shaded = true single-leg stance "
                 "(orange right, blue left)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
