"""What gaitlab does with bad input and hard clips: one table, run end to end through the CLI.

Each case: how the input is made, the exit code, a phrase of the one-line error (exit 2) or of a warning in
summary.json (exit 0), and whether a side may be flagged. docs/bad_input.md is checked against this table.
"""
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from gaitlab.cli import main
from tests.clips import concat_clips, derive_clip, write_audio_only, write_clip
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration
WALK = SAMPLES / "sample_walk_post_short.mp4"
DOC = Path(__file__).resolve().parent.parent / "docs" / "bad_input.md"


@dataclass(frozen=True)
class Case:
    name: str  # as it appears in docs/bad_input.md
    make: Callable[[Path], Path]  # builds the input in a folder, returns its path
    exit_code: int
    says: str  # phrase of the error (exit 2) or of one warning (exit 0); "" = no warning needed
    flags_allowed: bool = True
    extra_args: tuple[str, ...] = ()


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return make


def _truncated(d: Path) -> Path:
    data = WALK.read_bytes()
    return _bytes("cut.mp4", data[: len(data) // 2])(d)


def _derived(name: str, seconds: float, **kw) -> Callable[[Path], Path]:
    return lambda d: derive_clip(WALK, d / name, seconds, **kw)


def _copy(src: Path, name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(src.read_bytes())
        return d / name
    return make


CASES = [
    Case("empty file", _bytes("empty.mp4", b""), 2, "is empty"),
    Case("truncated mp4 (cut at half)", _truncated, 2, "incomplete"),
    Case("random bytes named .mp4", _bytes("noise.mp4", os.urandom(50_000)), 2, "cannot be read as a video"),
    Case("text file", _bytes("notes.mp4", b"walk test, patient 12\n" * 50), 2, "cannot be read as a video"),
    Case("audio only", lambda d: write_audio_only(d / "voice.m4a"), 2, "no video stream"),
    Case("1-frame video", _derived("one.mp4", 0.02), 2, "too short"),
    Case("0.5 s video", _derived("half.mp4", 0.5), 2, "too short"),
    Case("no person", lambda d: write_clip(d / "room.mp4", [i / 30 for i in range(45)], 320, 240), 2,
         "no person"),
    Case("two people walking", _derived("two.mp4", 3.0, second_person=True), 0, "More than one person"),
    Case("walking toward the camera, then away", lambda d: concat_clips(
        [SAMPLES / "walk_ant_overground_c.mp4", WALK], d / "there and back.mp4"), 0, "turned during the clip"),
    Case("side (sagittal) view", _copy(SAMPLES / "zzzhushi_male_side_run.mp4", "side.mp4"), 0,
         "cannot be measured from this angle", flags_allowed=False, extra_args=("--end", "4")),
    Case("portrait phone clip with rotation metadata", _derived("portrait.mp4", 3.0, rotation_deg=90), 0,
         "at least 7"),
    Case("clip turned 90° without metadata", _derived("sideways.mp4", 3.0, turn_pixels=1), 0,
         "turned by about", flags_allowed=False),
    Case("camera high on a wall looking down (the bundled Pose2Sim cam02)",
         _copy(SAMPLES / "pose2sim_single_cam02.mp4", "high camera.mp4"), 0, "looks down at the person by"),
    Case("4K resolution", _derived("uhd.mp4", 1.5, scale=3.0), 0, "per side"),
    Case("variable frame rate", _derived("vfr.mp4", 3.0, keep=lambda i: i % 7 not in (3, 5)), 0,
         "at least 7"),
    Case("file name with spaces, unicode and <script>", _copy(WALK, "Zoë walk <script>alert(1)<script>.mp4"),
         0, "at least 7"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_case(case, tmp_path, capsys, pose_model):
    video = case.make(tmp_path)
    out = tmp_path / "out"
    code = main(["analyze", str(video), "-o", str(out), "--no-video", *case.extra_args])
    err = capsys.readouterr().err
    assert code == case.exit_code, err
    assert "Traceback" not in err
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and case.says in lines[0], err
        assert not out.exists()
        return
    summary = json.loads((out / "summary.json").read_text())
    assert summary["video"]["name"] == video.name
    if case.says:
        assert any(case.says in w for w in summary["warnings"]), summary["warnings"]
    if not case.flags_allowed:
        assert not any(s["flagged"] for s in summary["sides"].values())
    html = (out / "report.html").read_text()
    assert "<script>alert" not in html and str(tmp_path) not in html


def test_unwritable_output_folder(tmp_path, capsys, pose_model):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root): permissions are not enforced")
        assert main(["analyze", str(WALK), "-o", str(locked / "out")]) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(stat.S_IRWXU)


def test_output_parent_that_is_a_file(tmp_path, capsys, pose_model):
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file where a folder should be")
    assert main(["analyze", str(WALK), "-o", str(blocker / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write" in err[0]


def test_doc_table_lists_every_case():
    doc = DOC.read_text()
    for case in CASES:
        row = next((line for line in doc.splitlines() if line.startswith(f"| {case.name} |")), None)
        assert row is not None, f"docs/bad_input.md has no row for {case.name!r}"
        assert f"| {case.exit_code} |" in row


def test_analysis_makes_no_network_access(tmp_path, monkeypatch, pose_model):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    clip = derive_clip(WALK, tmp_path / "short.mp4", 2.0)
    assert main(["analyze", str(clip), "-o", str(tmp_path / "out")]) == 0


def _peak_rss_mb(clip: Path, env: dict) -> float:
    """Peak RSS of the streaming stage (decode, pose, pelvis pixels) over a clip."""
    import subprocess
    import sys

    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) pytest parent across fork+exec.
    code = ("import sys; from gaitlab.cli import main; rc = main(sys.argv[1:]); "
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, "track", str(clip), "--no-cache"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def test_4k_memory_stays_bounded(tmp_path, pose_model):
    # Frames are streamed, never held all at once: three times the 4K footage (25 MB a frame, 60 more
    # frames) must cost no more memory than a handful of frames.
    env = dict(os.environ, GAITLAB_POSE_MODEL=str(pose_model.path))
    short = _peak_rss_mb(derive_clip(WALK, tmp_path / "uhd1.mp4", 1.0, scale=3.0), env)
    long_ = _peak_rss_mb(derive_clip(WALK, tmp_path / "uhd3.mp4", 3.0, scale=3.0), env)
    assert long_ - short < 150, f"peak RSS {short:.0f} MB for 1 s, {long_:.0f} MB for 3 s of 4K"
