"""Data exports of an analysis: summary.json (contract: gaitlab/summary.schema.json), steps.csv, frames.csv
and landmarks.npz. Units and sign conventions are those of gaitlab.core.result; NaN is written as JSON null and
as an empty CSV cell.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from gaitlab import __version__
from gaitlab.core.result import (
    MIN_STEPS_PER_SIDE,
    SIDES,
    SMALLEST_DETECTABLE_DIFFERENCE_DEG,
    Analysis,
    SideVerdict,
    StepDrop,
)
from gaitlab.outputs.wording import (
    DEFINITIONS,
    camera_pose_text,
    difference_of,
    side_difference,
    side_verdict,
    warning_texts,
)

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
SCHEMA_VERSION = 3  # summary.schema.json's version: 2 added each side's 95% interval and verdict class (issue 25);
# 3 the camera's pose, obliquity taken into the frontal plane with it (issue 24)
# level_sd_deg, camera_sd_deg: one SD of the errors a step shares with the steps on its pelvis level (the level's,
# the camera roll's), what a step's own drop is uncertain by beyond its frame noise (docs/uncertainty.md)
STEP_COLUMNS = ("stance_side", "start_s", "end_s", "peak_drop_deg", "peak_time_s", "baseline_peak_drop_deg",
                "trunk_lean_deg", "knee_flexion_deg", "flagged", "level_sd_deg", "camera_sd_deg")
FRAME_COLUMNS = ("time_s", "obliquity_deg", "baseline_obliquity_deg", "stance_phase", "trunk_lean_deg",
                 "hip_visibility", "image_obliquity_deg")
# MediaPipe's 33 pose landmark names, in index order (written into landmarks.npz so it is self-describing)
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)


@dataclass(frozen=True)
class SessionRecord:
    """Whose clip it is and when it was filmed, as every output states it: the person's pseudonymous label, the
    session date and where it came from ("given": by the user or the app; "clip": the clip's own creation time;
    "": not known), and the clinician's note ('' = none)."""

    subject: str = ""
    session_date: date | None = None
    date_source: str = ""
    note: str = ""


NO_RECORD = SessionRecord()  # no person, date or note given, and none found in the clip


def _record_dict(record: SessionRecord) -> dict:
    """summary.json's subject, session_date (YYYY-MM-DD), session_date_source and note: null when not known."""
    day = record.session_date
    return {"subject": record.subject or None, "session_date": day.isoformat() if day else None,
            "session_date_source": (record.date_source or None) if day else None, "note": record.note or None}


def _num(x) -> float | None:
    """A finite float rounded to 4 decimals (far below the measurement's precision), or None for NaN/inf."""
    if x is None:
        return None
    x = float(x)
    return round(x, 4) if math.isfinite(x) else None


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return _num(np.mean(finite)) if finite else None


def side_or_empty(analysis: Analysis, side: str) -> SideVerdict:
    """The side's verdict; a side the core left out is reported as not measurable rather than omitted."""
    nan = float("nan")
    return analysis.sides.get(side) or SideVerdict(side, 0, nan, nan, nan, 0, False, False, nan)


def _step_dict(s: StepDrop) -> dict:
    return {
        "stance_side": s.stance_side, "start_s": _num(s.start_s), "end_s": _num(s.end_s),
        "peak_drop_deg": _num(s.peak_drop_deg), "peak_time_s": _num(s.peak_time_s), "flagged": bool(s.flagged),
        "baseline_peak_drop_deg": _num(s.baseline_peak_drop_deg), "trunk_lean_deg": _num(s.trunk_lean_deg),
        "knee_flexion_deg": _num(s.knee_flexion_deg),
    }


def _interval_fields(sv: SideVerdict) -> dict:
    """A side's 95% interval (degrees), its parts (95% half-widths, degrees), verdict class and what would settle
    it; nulls without a verdict."""
    iv = sv.interval if sv.measurable else None
    return {
        "mean_drop_ci95_deg": [_num(iv.low_deg), _num(iv.high_deg)] if iv and math.isfinite(iv.low_deg) else None,
        "verdict_class": sv.verdict_class or None,
        "ci95_parts_deg": None if iv is None else {"steps": _num(iv.steps_deg), "level": _num(iv.level_deg),
                                                   "camera": _num(iv.camera_deg), "method": _num(iv.method_deg)},
        "level_fallback": bool(iv and iv.level_fallback),
        "settle": list(sv.settle),
        "more_steps_to_settle": sv.more_steps,
    }


def _difference_dict(analysis: Analysis) -> dict | None:
    """Right minus left mean drop (degrees), its 95% interval and whether it is claimed; null unless both sides
    have a verdict."""
    d = difference_of(analysis)
    if d is None:
        return None
    ci = [_num(d.low_deg), _num(d.high_deg)]
    return {"right_minus_left": _num(d.diff_deg), "ci95": ci if None not in ci else None, "claimed": d.claimed}


def _camera_dict(analysis: Analysis) -> dict | None:
    """The camera's pose (gaitlab.core.camera.CameraPose, degrees, metres, pixels) and its words; null without."""
    c = analysis.camera
    if c is None:
        return None
    return {"yaw_deg": _num(c.yaw_deg), "yaw_sd_deg": _num(c.yaw_sd_deg), "pitch_deg": _num(c.pitch_deg),
            "pitch_sd_deg": _num(c.pitch_sd_deg), "roll_deg": _num(c.roll_deg), "roll_sd_deg": _num(c.roll_sd_deg),
            "height_above_hips_m": _num(c.height_above_hips_m), "height_sd_m": _num(c.height_sd_m),
            "focal_px": _num(c.focal_px), "focal_35mm_assumed": _num(c.focal_35mm), "bearing_deg": _num(c.bearing_deg),
            "focal_fitted": c.focal_fitted, "room_lines": c.room_lines, "horizon_lines": c.horizon_lines,
            "body_lean_deg": _num(c.body_lean_deg), "horizon_apart_sd": _num(c.horizon_apart_sd),
            "text": camera_pose_text(analysis)}


def summary_dict(analysis: Analysis, generated_at: datetime | None = None,
                 record: SessionRecord = NO_RECORD) -> dict:
    """The summary.json content (JSON-ready: NaN already turned into None); `record`: whose clip and when."""
    v = analysis.video
    sides = {}
    for side in SIDES:
        sv = side_or_empty(analysis, side)
        own = [s for s in analysis.steps if s.stance_side == side]
        sides[side] = {
            "steps": int(sv.steps), "mean_drop_deg": _num(sv.mean_drop_deg), "sd_drop_deg": _num(sv.sd_drop_deg),
            "max_drop_deg": _num(sv.max_drop_deg), "steps_over_threshold": int(sv.steps_over_threshold),
            "flagged": bool(sv.flagged), "measurable": bool(sv.measurable),
            "enough_steps": sv.steps >= MIN_STEPS_PER_SIDE,
            "baseline_mean_drop_deg": _num(sv.baseline_mean_drop_deg),
            "mean_trunk_lean_deg": _mean([s.trunk_lean_deg for s in own]),
            "verdict": side_verdict(analysis, sv),
            **_interval_fields(sv),
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "gaitlab_version": __version__,
        "generated_at": (generated_at or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        **_record_dict(record),
        "video": {"name": Path(v.name).name, "fps": _num(v.fps), "frames": int(v.frames),
                  "duration_s": _num(v.duration_s), "width": int(v.width), "height": int(v.height),
                  "rotation_deg": int(v.rotation_deg), "codec": v.codec,
                  "claimed_frames": v.claimed_frames, "claimed_duration_s": _num(v.claimed_duration_s)},
        "analysed_frames": analysis.analysed_frames,
        "analysed_s": _num(analysis.analysed_s),
        "view": analysis.view,
        "activity": analysis.activity,
        "camera_roll_deg": _num(analysis.camera_roll_deg),
        "camera": _camera_dict(analysis),
        "pelvis_level_method": analysis.pelvis_level_method,
        "threshold_deg": _num(analysis.threshold_deg),
        "smallest_detectable_difference_deg": SMALLEST_DETECTABLE_DIFFERENCE_DEG,
        "min_steps_per_side": MIN_STEPS_PER_SIDE,
        "sides": sides,
        "side_difference": side_difference(analysis),
        "side_difference_deg": _difference_dict(analysis),
        "steps": [_step_dict(s) for s in sorted(analysis.steps, key=lambda s: s.start_s)],
        "warnings": warning_texts(analysis.warnings),
        "definitions": {key: text for key, (_, text) in DEFINITIONS.items()},
    }


def _cell(x) -> str:
    """CSV cell: NaN empty, floats to 4 decimals (well below the measurement's precision), bools as true/false."""
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (float, np.floating)):
        return "" if not math.isfinite(x) else f"{x:.4f}"
    return str(x)


def _write_csv(path: Path, columns: tuple[str, ...], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows([_cell(x) for x in row] for row in rows)


def write_exports(analysis: Analysis, outdir: str | Path, record: SessionRecord = NO_RECORD) -> None:
    """Write summary.json, steps.csv, frames.csv and (when the analysis holds its track) landmarks.npz into
    outdir, creating it; units and signs as in gaitlab.core.result and gaitlab.core.track. `record`: whose clip
    and when (summary.json's subject, session_date, note)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary_dict(analysis, record=record), indent=2, ensure_ascii=False, allow_nan=False)
    (outdir / "summary.json").write_text(text + "\n", encoding="utf-8")

    steps = sorted(analysis.steps, key=lambda s: s.start_s)
    _write_csv(outdir / "steps.csv", STEP_COLUMNS, ([getattr(s, c) for c in STEP_COLUMNS] for s in steps))
    f = analysis.frames
    _write_csv(outdir / "frames.csv", FRAME_COLUMNS, zip(*(getattr(f, c) for c in FRAME_COLUMNS)))

    t = analysis.track
    if t is not None:
        np.savez_compressed(
            outdir / "landmarks.npz", time_s=t.time_s, image_xyz=t.image_xyz, world_xyz=t.world_xyz,
            visibility=t.visibility, presence=t.presence, width=t.width, height=t.height,
            pelvis_pixel_rotation_deg=t.pelvis_pixel_rotation_deg, pelvis_pixel_quality=t.pelvis_pixel_quality,
            landmark_names=np.array(LANDMARK_NAMES),
        )
