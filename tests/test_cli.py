"""`gaitlab analyze` end to end on a bundled clip, and its exit codes for bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gaitlab.cli import main
from tests.clips import derive_clip, write_clip
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


def test_the_summary_names_every_file_written(tmp_path, capsys, pose_model):
    out = tmp_path / "o"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--no-video"]) == 0
    listed = capsys.readouterr().out.strip().splitlines()[-1]
    assert listed == f"in {out}: " + ", ".join(sorted(p.name for p in out.iterdir() if not p.name.startswith(".")))
    assert "report.pdf" in listed and "summary.json" in listed


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


def test_a_view_the_clip_contradicts_is_refused_unless_forced(tmp_path, capsys, pose_model):
    """Before: --view anterior on this clip filmed from behind turned the flagged right side 'within threshold'."""
    out = tmp_path / "out"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--view", "anterior", "--no-video"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "you said anterior, but the person faces away from the camera in" in err[0]
    assert "filmed from behind? Run again with --view auto, or --view anterior --force-view if you are sure" in err[0]
    assert not out.exists()
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--view", "anterior", "--force-view", "--no-video"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["view"] == "anterior"
    # a frontal view cannot measure knee flexion: no number for it anywhere (before: 0-4° per step)
    assert summary["steps"] and all(s["knee_flexion_deg"] is None for s in summary["steps"])
    steps_csv = (out / "steps.csv").read_text().splitlines()
    col = steps_csv[0].split(",").index("knee_flexion_deg")
    assert all(row.split(",")[col] == "" for row in steps_csv[1:])
    assert "<th>stance knee flexion</th>" not in (out / "report.html").read_text()


def test_a_misspelt_option_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "clip.mp4", "--treshold", "6"])
    assert exit_.value.code == 2
    assert "--treshold: did you mean --threshold?" in capsys.readouterr().err


def test_help_says_what_gaitlab_does(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.split("\n\n")[1].startswith("Measure the pelvic drop of Trendelenburg gait")


# ---- whose clip and when (issue 26, item 1) -------------------------------------------------------------

def _with_creation_time(src, dest, when: str):
    """A copy of the clip `src` (packets copied, not re-encoded) whose container says it was made at `when`."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        out.metadata["creation_time"] = when
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dest


def test_subject_date_and_note_are_on_every_output(tmp_path, pose_model):
    """Before: neither the person nor the session date was on the report or in summary.json, and the report's
    only date was the time it was made. --date wins over the clip's own creation time."""
    from gaitlab.tracking.video import recorded_on

    short = derive_clip(SAMPLE, tmp_path / "short.mp4", 2.5, scale=0.5)  # quick to analyse
    clip = _with_creation_time(short, tmp_path / "walk.mp4", "2026-09-30T10:00:00.000000Z")
    assert str(recorded_on(clip)) == "2026-09-30"
    note = 'right hip <b>pain</b> & "limp"\nsince May'
    out = tmp_path / "out"
    assert main(["analyze", str(clip), "-o", str(out), "--no-video", "--model", str(pose_model.path), "--subject",
                 "P-014<x>", "--date", "2026-10-01", f"--note={note}"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["subject"], summary["session_date"], summary["session_date_source"], summary["note"]) == \
           ("P-014<x>", "2026-10-01", "given", note)
    html = (out / "report.html").read_text()
    assert '<dd class="subject">P-014&lt;x&gt;</dd>' in html
    assert '<dd class="session-date">2026-10-01</dd>' in html
    assert "right hip &lt;b&gt;pain&lt;/b&gt; &amp; &quot;limp&quot;" in html and "<b>pain" not in html
    assert "P-014<x>" not in html and "2026-09-30" not in html
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_without_a_date_the_report_says_it_is_not_known(analyzed):
    """The bundled clip holds no creation_time: the date is not known, and the time of the run is shown only as
    when the report was made (before: the run's time was the report's only date)."""
    summary = json.loads((analyzed / "summary.json").read_text())
    assert summary["subject"] is None and summary["session_date"] is None and summary["note"] is None
    html = (analyzed / "report.html").read_text()
    made = summary["generated_at"][:10]
    assert '<dd class="session-date unknown">date not known</dd>' in html
    assert "<dt>report made</dt>" in html and '<dd class="subject unknown">not given</dd>' in html
    assert f'<dd class="session-date">{made}' not in html and "<dt>date</dt>" not in html


def test_the_clips_creation_time_is_the_session_date_when_none_is_given(tmp_path):
    from gaitlab.tracking.video import recorded_on

    assert recorded_on(SAMPLE) is None  # no creation_time in the bundled clip
    clip = write_clip(tmp_path / "a.mp4", [i / 30 for i in range(3)], width=64, height=48)
    assert str(recorded_on(_with_creation_time(clip, tmp_path / "b.mp4", "2025-06-02T11:30:00Z"))) == "2025-06-02"
    # a clock's zero (QuickTime's 1904, Unix's 1970) is no recording time
    assert recorded_on(_with_creation_time(clip, tmp_path / "c.mp4", "1970-01-01T00:00:00Z")) is None


@pytest.mark.parametrize("options, says", [
    (["--date", "01/10/2026"], "--date must be the day the clip was filmed, written YYYY-MM-DD"),
    (["--date", "2026-02-30"], "--date must be the day the clip was filmed, written YYYY-MM-DD"),
    (["--date", "20261001"], "--date must be the day the clip was filmed, written YYYY-MM-DD"),
    (["--date", "2999-01-01"], "--date 2999-01-01 is in the future"),
    (["--subject", "P-014\x1b[31m"], "--subject must be at most 80 printable characters"),
    (["--subject", "P\u202e410"], "--subject must be at most 80 printable characters"),
    (["--note", "pain\x00"], "--note must be at most 2000 printable characters"),
])
def test_a_bad_date_subject_or_note_is_refused_in_one_line(tmp_path, capsys, options, says):
    assert main(["analyze", str(SAMPLE), "-o", str(tmp_path / "out"), *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert not (tmp_path / "out").exists()


def test_the_demo_is_labelled_demo(monkeypatch, tmp_path):
    import gaitlab.cli as cli

    seen = []
    monkeypatch.setattr(cli, "cmd_analyze", lambda args: seen.append(args) or 0)
    assert main(["demo", "-o", str(tmp_path / "demo")]) == 0
    assert seen[0].subject == "demo" and seen[0].date is None
