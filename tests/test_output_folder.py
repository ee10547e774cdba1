"""Output folders (issue #21): gaitlab replaces only folders it wrote, never the clip or a user's files, and
two runs into one folder end with one complete result and one plain refusal.

The refusals must come before any analysis: `no_analysis` makes the pose pass fail the test. The other cases
run the real job on a constructed pose track (`fast`: no MediaPipe, no PDF), except the kill -9 case, which
kills a real `gaitlab analyze` as soon as its temporary folder appears.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gaitlab import __version__, cli
from gaitlab.cli import main
from gaitlab.core.clip import VideoInfo
from gaitlab.outputs import annotate, report
from gaitlab.run import executor, job
from gaitlab.tracking.pipeline import TrackedVideo
from tests.clips import write_clip
from tests.conftest import SAMPLES
from tests.synthetic import make_track

TRACK, _ = make_track(dur_s=4.0, drops={"left": 3.0, "right": 7.0}, symmetry_noise_deg=0.3)
MARKER = ".gaitlab-output"


def clip(path):
    """A 4 s clip as long as TRACK (its pictures do not matter: the pose track is constructed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_clip(path, list(TRACK.time_s), 64, 48)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gaitlab: ") and "internal error" not in err[0], err
    return err[0]


def hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def no_analysis(monkeypatch):
    def track_video(*args, **kwargs):
        raise AssertionError("the analysis started")

    monkeypatch.setattr(job, "track_video", track_video)


@pytest.fixture
def fast(monkeypatch):
    """The job on TRACK, with a one-line report.html naming the clip; returns a list of functions to call
    (once each) when the next pose pass starts, i.e. while that job is under way."""
    during = []

    def track_video(video, model, **settings):
        while during:
            during.pop(0)()
        info = VideoInfo(video.name, 30.0, len(TRACK), float(TRACK.time_s[-1]) + 1 / 30, 64, 48, 0, "h264")
        return TrackedVideo(info, TRACK, np.full(len(TRACK), -1), False)

    monkeypatch.setattr(job, "track_video", track_video)
    monkeypatch.setattr(annotate, "worst_step_stills", lambda *args, **kwargs: {})
    monkeypatch.setattr(report, "write_report",
                        lambda analysis, outdir, stills, *rest, **kw: (outdir / "report.html").write_text(analysis.video.name))
    return during


def summary_clip(outdir) -> str:
    return json.loads((outdir / "summary.json").read_text())["video"]["name"]


# ---- refused before any analysis ---------------------------------------------------------------------------

def test_demo_does_not_empty_a_folder_of_the_users(tmp_path, no_analysis, capsys):
    d = tmp_path / "d"
    (d / "photos").mkdir(parents=True)
    (d / "thesis.txt").write_text("draft")
    assert main(["demo", "-o", str(d)]) == 2
    assert str(d) in one_line_error(capsys)
    assert sorted(p.name for p in d.iterdir()) == ["photos", "thesis.txt"]
    assert (d / "thesis.txt").read_text() == "draft"


@pytest.mark.parametrize("where", ["folder", "ancestor", "clip"])
def test_the_output_may_not_be_or_hold_the_clip(tmp_path, no_analysis, capsys, where):
    video = clip(tmp_path / "f" / "clip.mp4")
    (video.parent / "notes.txt").write_text("mine")
    out = {"folder": video.parent, "ancestor": tmp_path, "clip": video}[where]
    assert main(["analyze", str(video), "-o", str(out), "--force"]) == 2
    assert "clip.mp4" in one_line_error(capsys)
    assert video.is_file() and (video.parent / "notes.txt").read_text() == "mine"


def test_an_existing_file_as_output_is_refused_up_front(tmp_path, no_analysis, capsys):
    video = clip(tmp_path / "clip.mp4")
    (tmp_path / "out").write_text("a file")
    assert main(["analyze", str(video), "-o", str(tmp_path / "out"), "--force"]) == 2
    assert "out" in one_line_error(capsys)
    assert (tmp_path / "out").read_text() == "a file"


@pytest.mark.parametrize("files", [
    {"thesis.txt": "draft"},
    # an output of a gaitlab without the marker: not recognisably gaitlab's, so refused too
    {"report.html": "<html>", "summary.json": "{}", "steps.csv": ""},
])
def test_force_does_not_replace_a_folder_gaitlab_did_not_mark(tmp_path, no_analysis, capsys, files):
    video = clip(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    assert main(["analyze", str(video), "-o", str(out), "--force"]) == 2
    assert str(out) in one_line_error(capsys)
    assert {p.name: p.read_text() for p in out.iterdir()} == files


def test_a_batch_does_not_replace_a_users_folder_or_index(tmp_path, no_analysis, capsys):
    clips = tmp_path / "clips"
    clip(clips / "a.mp4")
    root = tmp_path / "batch"
    (root / "a_gaitlab").mkdir(parents=True)
    (root / "a_gaitlab" / "mine.txt").write_text("mine")
    (root / "index.html").write_text("my own index")
    assert main(["analyze", str(clips), "-o", str(root), "--force"]) == 2
    assert "index.html" in one_line_error(capsys)
    assert (root / "index.html").read_text() == "my own index"
    (root / "index.html").unlink()
    assert main(["analyze", str(clips), "-o", str(root), "--force"]) == 2  # the clips fail, one line each
    err = capsys.readouterr().err
    assert f"a.mp4: {root / 'a_gaitlab'} is not a folder gaitlab wrote" in err and "internal error" not in err
    assert (root / "a_gaitlab" / "mine.txt").read_text() == "mine"
    assert main(["analyze", str(clips), "-o", str(root), "--force"]) == 2  # gaitlab's own index is replaced
    assert "index.html" not in capsys.readouterr().err


# ---- the job on a constructed track ------------------------------------------------------------------------

def test_every_output_is_marked_and_force_replaces_only_a_marked_one(tmp_path, fast, capsys):
    first, second = clip(tmp_path / "first.mp4"), clip(tmp_path / "second.mp4")
    out = tmp_path / "out"
    assert main(["analyze", str(first), "-o", str(out), "--no-video"]) == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["gaitlab_version"] == __version__ and marker["clip"] == "first.mp4"
    assert main(["analyze", str(second), "-o", str(out), "--no-video"]) == 2
    assert "--force" in one_line_error(capsys)
    assert main(["analyze", str(second), "-o", str(out), "--no-video", "--force"]) == 0
    assert summary_clip(out) == "second.mp4" and json.loads((out / MARKER).read_text())["clip"] == "second.mp4"
    assert hidden(tmp_path) == []  # neither the replaced output nor a temporary folder is left


def test_demo_replaces_its_own_earlier_output_only(tmp_path, fast, monkeypatch, capsys):
    monkeypatch.setattr(cli, "DEMO_CLIP", clip(tmp_path / "sample" / "demo walk.mp4"))
    demo = tmp_path / "demo"
    assert main(["demo", "-o", str(demo)]) == 0
    assert main(["demo", "-o", str(demo)]) == 0
    assert (demo / "annotated.mp4").is_file() and summary_clip(demo) == "demo walk.mp4"
    other = tmp_path / "patient"
    assert main(["analyze", str(clip(tmp_path / "patient.mp4")), "-o", str(other), "--no-video"]) == 0
    capsys.readouterr()
    assert main(["demo", "-o", str(other)]) == 2  # a gaitlab output, but not the demo's: no implicit --force
    assert str(other) in one_line_error(capsys)
    assert summary_clip(other) == "patient.mp4"


@pytest.mark.parametrize("force", [False, True])
def test_of_two_runs_into_one_folder_one_wins_and_the_other_is_told(tmp_path, fast, capsys, force):
    """The second run starts and finishes while the first is tracking; with --force, the first may replace
    only the output that was there when it started, not the one written meanwhile."""
    first, second = clip(tmp_path / "first.mp4"), clip(tmp_path / "second.mp4")
    out = tmp_path / "out"
    flags = ["--no-video", *(["--force"] if force else [])]
    if force:
        assert main(["analyze", str(clip(tmp_path / "earlier.mp4")), "-o", str(out), "--no-video"]) == 0
        capsys.readouterr()
    codes = []
    fast.append(lambda: codes.append(main(["analyze", str(second), "-o", str(out), *flags])))
    codes.append(main(["analyze", str(first), "-o", str(out), *flags]))
    assert codes == [0, 2]
    captured = capsys.readouterr()
    assert captured.out.count("report: ") == 1
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "another" in err[0], err
    assert summary_clip(out) == "second.mp4" and (out / "report.html").read_text() == "second.mp4"
    assert hidden(tmp_path) == []


def test_a_full_disk_is_a_plain_error_and_leaves_nothing(tmp_path, fast, monkeypatch, capsys):
    from gaitlab.outputs import exports

    def write_exports(analysis, outdir, *rest):
        (outdir / "summary.json").write_text('{"half')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(outdir / "summary.json"))

    monkeypatch.setattr(exports, "write_exports", write_exports)
    out = tmp_path / "out"
    assert main(["analyze", str(clip(tmp_path / "clip.mp4")), "-o", str(out), "--no-video"]) == 2
    assert "disk space" in one_line_error(capsys)
    assert not out.exists() and hidden(tmp_path) == []


def test_a_full_disk_while_writing_the_batch_index_is_a_plain_error(tmp_path, fast, monkeypatch, capsys):
    write_text = Path.write_text

    def full(path, text, *args, **kwargs):
        if not path.name.startswith(".index.html"):
            return write_text(path, text, *args, **kwargs)
        write_text(path, text[:100], *args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(Path, "write_text", full)
    clip(tmp_path / "clips" / "a.mp4")
    root = tmp_path / "batch"
    assert main(["analyze", str(tmp_path / "clips"), "-o", str(root), "--no-video"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("gaitlab: not enough disk space")
    assert sorted(p.name for p in root.iterdir()) == ["a_gaitlab", "catalog.sqlite", "cohort.csv"]  # no half-written index


def test_a_full_disk_in_the_video_process_is_reported_as_such(tmp_path):
    """The annotated video written into /dev/full: the second process's ENOSPC reaches the job as an OSError
    with that errno (which run_job turns into the plain message), not as an internal error."""
    video = clip(tmp_path / "clip.mp4")
    info = VideoInfo(video.name, 30.0, len(TRACK), float(TRACK.time_s[-1]) + 1 / 30, 64, 48, 0, "h264")
    out = tmp_path / "annotated.mp4"
    (tmp_path / "annotated.mp4.part").symlink_to("/dev/full")
    process = executor.ChildProcess()
    try:
        process.submit(TrackedVideo(info, TRACK, np.full(len(TRACK), -1), False),
                       {"threshold_deg": 5.0, "view": "auto", "people": None}, video, out, True)
        process.analysis()
        with pytest.raises(OSError) as raised:
            process.finish()
    finally:
        process.close()
    assert raised.value.errno == errno.ENOSPC


# ---- leftovers of a killed run --------------------------------------------------------------------------

def test_a_later_run_removes_what_a_killed_run_left_and_nothing_else(tmp_path, capsys):
    proc = subprocess.Popen([sys.executable, "-m", "gaitlab.cli", "analyze",
                             str(SAMPLES / "sample_walk_post_short.mp4"), "-o", str(tmp_path / "out")],
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".out.") for p in tmp_path.iterdir()):
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert len(left) == 1
    # look-alikes that are not a dead gaitlab run's: no marker, not a folder, a live writer
    decoys = [tmp_path / ".out.abcd1234.gaitlab-tmp", tmp_path / ".notes.gaitlab-tmp", tmp_path / ".mine"]
    decoys[0].mkdir()
    (decoys[0] / "keep.txt").write_text("mine")
    decoys[1].write_text("mine")
    live = tmp_path / ".other.efgh5678.gaitlab-tmp"
    live.mkdir()
    (live / MARKER).write_text(json.dumps({**json.loads((left[0] / MARKER).read_text()), "pid": os.getpid()}))
    decoys[2].mkdir()
    (decoys[2] / MARKER).write_text((left[0] / MARKER).read_text())  # a finished output of that name
    not_a_video = tmp_path / "clip.mp4"
    not_a_video.write_text("not a video")
    assert main(["analyze", str(not_a_video), "-o", str(tmp_path / "out2")]) == 2
    assert not left[0].exists()
    assert all(p.exists() for p in [*decoys, live])
