"""`gaitlab analyze` end to end on a bundled clip, and its exit codes for bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gaitlab.cli import main
from tests.clips import write_clip
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration
SAMPLE = SAMPLES / "sample_walk_post_short.mp4"


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory, pose_model):
    out = tmp_path_factory.mktemp("cli") / "walk report"
    assert main(["analyze", str(SAMPLE), "-o", str(out)]) == 0
    return out


def test_analyze_writes_every_output(analyzed):
    names = {p.name for p in analyzed.iterdir()}
    assert {"report.html", "report.pdf", "summary.json", "steps.csv", "frames.csv", "landmarks.npz",
            "annotated.mp4"} <= names
    assert not [p for p in analyzed.parent.iterdir() if p.name.startswith(".")]  # no temp folder left
    summary = json.loads((analyzed / "summary.json").read_text())
    assert summary["video"]["name"] == SAMPLE.name
    assert str(SAMPLE.parent) not in (analyzed / "summary.json").read_text()


def test_existing_output_is_not_overwritten_without_force(analyzed, capsys):
    before = (analyzed / "summary.json").stat().st_mtime_ns
    assert main(["analyze", str(SAMPLE), "-o", str(analyzed), "--no-video"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (analyzed / "summary.json").stat().st_mtime_ns == before


@pytest.mark.parametrize("make, code", [
    (lambda p: p.write_text("not a video"), 2),
    (lambda p: None, 2),  # missing file
    (lambda p: p.write_bytes(b""), 2),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, make, code):
    video = tmp_path / "clip.mp4"
    make(video)
    assert main(["analyze", str(video), "-o", str(tmp_path / "out")]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gaitlab: ") and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()


def test_no_person_is_a_clear_error(tmp_path, capsys):
    video = write_clip(tmp_path / "empty room.mp4", [i / 30 for i in range(45)], width=320, height=240)
    assert main(["analyze", str(video), "-o", str(tmp_path / "out")]) == 2
    assert "no person" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_sigterm_midway_leaves_no_output(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    if "GAITLAB_POSE_MODEL" not in env:
        from gaitlab.tracking.model import resolve_model
        env["GAITLAB_POSE_MODEL"] = str(resolve_model().path)
    proc = subprocess.Popen([sys.executable, "-m", "gaitlab.cli", "analyze", str(SAMPLE), "-o", str(out)],
                            env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".out.") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.parametrize("options, says", [
    (["--threshold", "nan"], "threshold must be between 1 and 20"),
    (["--threshold", "inf"], "threshold must be between 1 and 20"),
    (["--threshold", "-3"], "threshold must be between 1 and 20"),
    (["--start", "-5", "--end", "2"], "--start must be 0 s or later"),
    (["--start", "3", "--end", "2"], "--end (2 s) must be after --start (3 s)"),
    (["--start", "10"], "--start 10 s is past the end of"),
])
def test_settings_no_analysis_can_use_are_refused_in_one_line(tmp_path, capsys, options, says):
    """Before: NaN/inf thresholds were internal errors after the whole analysis, a negative one flagged every
    side, a negative start was accepted, and a start past the end said the clip was too short."""
    assert main(["analyze", str(SAMPLES / "sample_walk_post_short.mp4"), "-o", str(tmp_path / "out"), *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert not (tmp_path / "out").exists()


def test_a_misspelt_option_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "clip.mp4", "--treshold", "6"])
    assert exit_.value.code == 2
    assert "--treshold: did you mean --threshold?" in capsys.readouterr().err


def test_help_says_what_gaitlab_does(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.split("\n\n")[1].startswith("Measure the pelvic drop of Trendelenburg gait")
