import csv
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from gaitlab.outputs.exports import FRAME_COLUMNS, LANDMARK_NAMES, SCHEMA_PATH, STEP_COLUMNS, write_exports
from tests.analysis_fixture import make_analysis


@pytest.fixture(scope="module")
def schema():
    s = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(s)
    return s


def _summary(outdir):
    text = (outdir / "summary.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    return json.loads(text)


def test_summary_json_follows_the_schema(tmp_path, schema):
    a = make_analysis("walk 1.mp4")
    write_exports(a, tmp_path)
    s = _summary(tmp_path)
    Draft202012Validator(schema).validate(s)
    assert s["video"]["name"] == "walk 1.mp4"
    assert s["sides"]["right"]["flagged"] and not s["sides"]["left"]["flagged"]
    assert s["sides"]["right"]["steps"] == sum(st.stance_side == "right" for st in a.steps)
    assert s["sides"]["right"]["verdict"].startswith("Right-leg stance: mean contralateral drop ")
    assert len(s["steps"]) == len(a.steps)
    assert set(s["definitions"]) >= {"pelvic_obliquity_deg", "contralateral_drop_deg", "camera_roll_deg"}


def test_nan_becomes_null_and_missing_side_is_not_measurable(tmp_path, schema):
    a = make_analysis()
    right_only = [replace(s, trunk_lean_deg=float("nan")) for s in a.steps if s.stance_side == "right"]
    a = replace(a, steps=right_only, sides={"right": a.sides["right"]}, camera_roll_deg=float("nan"))
    write_exports(a, tmp_path)
    s = _summary(tmp_path)
    Draft202012Validator(schema).validate(s)
    left = s["sides"]["left"]
    assert left["mean_drop_deg"] is None and left["steps"] == 0 and not left["measurable"]
    assert "no verdict" in left["verdict"]
    assert s["camera_roll_deg"] is None
    assert all(step["trunk_lean_deg"] is None for step in s["steps"])
    assert s["side_difference"] is None


def test_csv_columns_and_rows(tmp_path):
    a = make_analysis()
    write_exports(a, tmp_path)
    with open(tmp_path / "steps.csv", newline="") as f:
        steps = list(csv.DictReader(f))
    assert tuple(steps[0].keys()) == STEP_COLUMNS
    assert len(steps) == len(a.steps)
    assert {r["stance_side"] for r in steps} == {"left", "right"}
    assert all(r["knee_flexion_deg"] == "" for r in steps if r["stance_side"] == "left")  # NaN -> empty
    with open(tmp_path / "frames.csv", newline="") as f:
        frames = list(csv.DictReader(f))
    assert tuple(frames[0].keys()) == FRAME_COLUMNS == (
        "time_s", "obliquity_deg", "baseline_obliquity_deg", "stance_phase", "trunk_lean_deg", "hip_visibility",
        "image_obliquity_deg")
    assert len(frames) == len(a.frames.time_s)
    assert math.isclose(float(frames[10]["obliquity_deg"]), a.frames.obliquity_deg[10], abs_tol=1e-4)


def test_landmarks_npz_holds_the_track(tmp_path):
    a = make_analysis()
    write_exports(a, tmp_path)
    with np.load(tmp_path / "landmarks.npz") as d:  # no pickle needed
        assert d["image_xyz"].shape == a.track.image_xyz.shape
        assert np.array_equal(d["time_s"], a.track.time_s)
        assert len(d["landmark_names"]) == 33 == len(LANDMARK_NAMES)
        assert d["landmark_names"][24] == "right_hip"


def test_summary_json_states_whose_clip_and_when(tmp_path, schema):
    from datetime import date

    from gaitlab.outputs.cohort import cohort_row
    from gaitlab.outputs.exports import SessionRecord

    write_exports(make_analysis(), tmp_path, SessionRecord("P-014", date(2026, 10, 1), "clip", "hip pain"))
    s = _summary(tmp_path)
    Draft202012Validator(schema).validate(s)
    assert s["schema_version"] == 3
    assert (s["subject"], s["session_date"], s["session_date_source"], s["note"]) == \
           ("P-014", "2026-10-01", "clip", "hip pain")
    row = cohort_row("walk.mp4", "0" * 64, s)
    assert (row["subject"], row["session_date"]) == ("P-014", "2026-10-01")
    write_exports(make_analysis(), tmp_path)  # nothing given or found: nulls, never the run's date
    s = _summary(tmp_path)
    Draft202012Validator(schema).validate(s)
    assert s["subject"] is s["session_date"] is s["session_date_source"] is s["note"] is None
    assert cohort_row("walk.mp4", "0" * 64, s)["session_date"] == ""
