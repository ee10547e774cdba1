"""cohort.csv of a batch folder: one row per clip, read from each clip's summary.json, for a lab's statistics.

Columns (COLUMNS): the clip's file name, its sha256, the person's label and the session date (YYYY-MM-DD; empty
when not known, and in summaries written before gaitlab stated them), status ("done" or "failed") and error; view, activity, the
threshold (degrees) and seconds analysed; per stance side (left_, right_): steps, mean contralateral drop and
its 95% interval (degrees; the interval is empty where the summary has none, as written by gaitlab before
summary schema 2), the verdict class ("above", "not_above", "cannot_tell", or "no_verdict"); the number of
warnings, gaitlab's version and the report's path relative to the batch folder. Empty cells: not measured.
"""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from gaitlab.core.result import SIDES

COHORT_NAME = "cohort.csv"
SIDE_COLUMNS = ("steps", "mean_drop_deg", "ci95_low_deg", "ci95_high_deg", "verdict")
COLUMNS = ("clip", "sha256", "subject", "session_date", "status", "error", "view", "activity", "threshold_deg", "analysed_s",
           *(f"{side}_{c}" for side in SIDES for c in SIDE_COLUMNS), "warnings", "gaitlab_version", "report")


def _num(x) -> str:
    return f"{x:.2f}" if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else ""


def _verdict(side: dict) -> str:
    """A side's verdict class: the summary's own (schema 2), else from `flagged` (earlier summaries)."""
    if not side.get("measurable"):
        return "no_verdict"
    if side.get("verdict_class"):
        return str(side["verdict_class"])
    return "above" if side.get("flagged") else "not_above"


def _side_cells(summary: dict, side: str) -> dict:
    s = summary.get("sides", {}).get(side, {})
    ci = s.get("mean_drop_ci95_deg")
    low, high = (ci if isinstance(ci, list) and len(ci) == 2 else (None, None))
    return {f"{side}_steps": str(int(s.get("steps", 0))), f"{side}_mean_drop_deg": _num(s.get("mean_drop_deg")),
            f"{side}_ci95_low_deg": _num(low), f"{side}_ci95_high_deg": _num(high), f"{side}_verdict": _verdict(s)}


def cohort_row(clip: str, sha256: str, summary: dict | None, error: str = "", report: str = "") -> dict:
    """A clip's row: from its summary.json content if it was analysed (summary), else its error."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(clip=clip, sha256=sha256)
    if summary is None:
        row.update(status="failed", error=error or "no summary was written")
        return row
    row.update(status="done", subject=str(summary.get("subject") or ""),
               session_date=str(summary.get("session_date") or ""), view=str(summary.get("view", "")), activity=str(summary.get("activity", "")),
               threshold_deg=_num(summary.get("threshold_deg")), analysed_s=_num(summary.get("analysed_s")),
               warnings=str(len(summary.get("warnings", []))), gaitlab_version=str(summary.get("gaitlab_version", "")),
               report=report)
    for side in SIDES:
        row.update(_side_cells(summary, side))
    return row


def write_cohort(path: Path, rows: list[dict]) -> Path:
    """Write the rows (cohort_row) as CSV to path, replacing it whole (a reader never sees half a table)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
