"""`gaitlab validate DIR`: compare gaitlab with ground truth on a folder of clips with NAME.truth.json.

Scores (the truth schema is in docs/truth_schema.md):
- stance-window F1: a detected single-leg stance matches a true one of the same side when its start and
  end are both within 0.1 s (one-to-one);
- per-step peak-drop MAE over matched steps, per-side mean-drop error, verdict agreement (counted where
  the truth is at least 0.5° from the threshold) — for gaitlab's measure and the landmark-line baseline;
- the per-side error of a perfect 2D measurement (the truth's own image obliquity, the true camera roll
  removed): the part of the error that the image of the pelvis does not contain (perspective), when the
  truth has the image obliquity and the camera roll.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaitlab.core.obliquity import contralateral_drop_deg, image_to_world
from gaitlab.core.result import SIDES, Analysis
from gaitlab.core.verdict import above_threshold

WINDOW_TOLERANCE_S = 0.1
DECISIVE_MARGIN_DEG = 0.5


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
    t = np.asarray(frames["time_s"], float)
    world = image_to_world(np.asarray(frames["image_obliquity_deg"], float), roll, truth["view"])
    errors: dict[str, list[float]] = {side: [] for side in SIDES}
    for step in truth["steps"]:
        inside = (t >= step["start_s"] - 1e-9) & (t <= step["end_s"] + 1e-9)
        if inside.any():
            peak = contralateral_drop_deg(world[inside], step["stance_side"]).max()
            errors[step["stance_side"]].append(float(peak) - step["peak_drop_deg"])
    return {side: float(np.mean(e)) if e else float("nan") for side, e in errors.items()}


def score_clip(analysis: Analysis, truth: dict) -> ClipScore:
    """Score one analysis against its truth (docs/truth_schema.md), as the module docstring describes.

    Stance windows match one to one within WINDOW_TOLERANCE_S; step MAEs are over matched steps with a
    measured drop (degrees); side errors are the measured minus the true mean drop per side (degrees); a side's
    verdict is counted only where the true mean is at least DECISIVE_MARGIN_DEG from the threshold, and is
    right for gaitlab only if the side was measurable."""
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
    right = base_right = decisive = 0
    for side in SIDES:
        true_mean = truth["sides"][side]["mean_drop_deg"]
        v = analysis.sides[side]
        side_err[side] = v.mean_drop_deg - true_mean
        base_err[side] = v.baseline_mean_drop_deg - true_mean
        if abs(true_mean - threshold) >= DECISIVE_MARGIN_DEG:
            decisive += 1
            truth_flag = above_threshold(true_mean, threshold)
            right += int(v.measurable and v.flagged == truth_flag)
            base_right += int(np.isfinite(v.baseline_mean_drop_deg)
                              and above_threshold(v.baseline_mean_drop_deg, threshold) == truth_flag)
    return ClipScore(truth.get("name", analysis.video.name), len(ref), len(found), len(pairs), f1,
                     mae("peak_drop_deg"), mae("baseline_peak_drop_deg"), side_err, base_err,
                     right, base_right, decisive, image_ceiling_side_error(truth))


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
            f" | {'base MAE°':>9s} {'base err L/R°':>13s} {'verdicts':>8s} | {'2D ceiling L/R°':>15s}")
    lines = [head, "-" * len(head)]
    for s in scores:
        lines.append(
            f"{s.name[:28]:28s} {s.f1:5.2f} {s.matched:3d}/{s.truth_steps:<3d}{s.found_steps:3d} | "
            f"{s.step_mae:9.2f} {s.side_error['left']:+6.2f}/{s.side_error['right']:+6.2f} "
            f"{s.verdicts_right:3d}/{s.verdicts_decisive:<4d} | {s.baseline_step_mae:9.2f} "
            f"{s.baseline_side_error['left']:+6.2f}/{s.baseline_side_error['right']:+6.2f} "
            f"{s.baseline_verdicts_right:3d}/{s.verdicts_decisive:<4d} | "
            f"{s.image_side_error['left']:+7.2f}/{s.image_side_error['right']:+6.2f}")
    lines.append("-" * len(head))
    lines.append(format_overall(scores))
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
    }


def format_overall(scores: list[ClipScore]) -> str:
    """overall() as one line of text."""
    o = overall(scores)
    return (f"OVERALL  F1 {o['f1']:.2f} | gaitlab: step MAE {o['step_mae']:.2f}°, side error mean "
            f"{o['side_mae']:.2f}° max {o['side_max']:.2f}°, verdicts {o['verdicts_right']}/{o['verdicts_decisive']}"
            f" | landmark baseline: step MAE {o['baseline_step_mae']:.2f}°, side error mean "
            f"{o['baseline_side_mae']:.2f}° max {o['baseline_side_max']:.2f}°, verdicts "
            f"{o['baseline_verdicts_right']}/{o['verdicts_decisive']} | perfect 2D measurement: side error "
            f"mean {o['image_side_mae']:.2f}° max {o['image_side_max']:.2f}°")


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
