"""Never report what was not read: a clip cut off after its index is measured on the frames that could be
decoded and says so; timestamps no camera writes are refused (issue #21)."""
import json
from pathlib import Path

import av
import numpy as np
import pytest
from jsonschema import Draft202012Validator

from gaitlab.cli import main
from gaitlab.core.clip import VideoInfo, as_read, covered_s
from gaitlab.errors import VideoError
from gaitlab.outputs.exports import SCHEMA_PATH
from gaitlab.tracking.video import iter_frames, probe
from tests.clips import write_clip
from tests.conftest import SAMPLES

WALK = SAMPLES / "sample_walk_post_short.mp4"


def faststart_copy(src: Path, dst: Path) -> Path:
    """The same video packets with the index (moov) at the front, as phones write them: cut off later, the
    file still opens and claims every frame its index lists."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = stream
            out.mux(packet)
    return dst


def cut(src: Path, dst: Path, fraction: float) -> Path:
    """The first `fraction` of src's bytes (a full disk or an interrupted copy)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def noise(i: int, width: int, height: int) -> np.ndarray:
    """Frames that do not compress, so that the bytes are spread evenly over the frames."""
    return np.random.default_rng(i).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.integration
def test_a_cut_off_clip_is_measured_on_what_was_read_and_says_so(tmp_path, capsys, pose_model):
    clip = cut(faststart_copy(WALK, tmp_path / "whole.mp4"), tmp_path / "cut.mp4", 0.5)
    assert (probe(clip).frames, probe(clip).duration_s) == (180, 6.0)  # what its index claims
    out = tmp_path / "out"
    assert main(["analyze", str(clip), "-o", str(out), "--no-video"]) == 0
    stdout = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(summary)
    video, frames = summary["video"], summary["analysed_frames"]
    assert 30 < frames < 170
    assert video["frames"] == frames and (video["claimed_frames"], video["claimed_duration_s"]) == (180, 6.0)
    assert summary["analysed_s"] == pytest.approx(frames / 30, abs=1e-3) == video["duration_s"]
    assert all(s["end_s"] < summary["analysed_s"] for s in summary["steps"])
    said = f"The clip ends early: only {frames / 30:.1f} s of its 6.0 s could be read"
    assert any(w.startswith(said) for w in summary["warnings"]), summary["warnings"]
    assert f"analysed {frames} frames, {frames / 30:.1f} s" in stdout and said in stdout
    html = (out / "report.html").read_text()
    assert f"{frames / 30:.1f} s ({frames} frames" in html and said in html


@pytest.mark.integration
def test_too_little_left_is_refused(tmp_path, capsys, pose_model):
    whole = write_clip(tmp_path / "whole.mp4", [i / 30 for i in range(60)], 96, 64, frame_fn=noise)
    clip = cut(faststart_copy(whole, tmp_path / "fast.mp4"), tmp_path / "cut.mp4", 0.25)
    assert probe(clip).duration_s == pytest.approx(2.0)
    assert main(["analyze", str(clip), "-o", str(tmp_path / "out"), "--no-video"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "cut.mp4 ends early: only" in line and "of its 2.0 s could be read" in line and "at least 1 s" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("ext", ["mp4", "mkv"])  # the mkv claims 6372001 frames (duration x 30 fps)
def test_frames_an_hour_apart_are_refused(tmp_path, capsys, ext):
    clip = write_clip(tmp_path / f"hourly.{ext}", [3600.0 * i for i in range(60)])
    assert main(["track", str(clip), "--no-cache"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"hourly.{ext} has implausible timestamps: 3600 s between two frames" in line


def test_a_gap_in_the_middle_is_refused_while_decoding(tmp_path):
    times = [i / 30 for i in range(30)] + [3600 + i / 30 for i in range(30)]
    clip = write_clip(tmp_path / "gap.mp4", times)
    with pytest.raises(VideoError, match="gap.mp4 has implausible timestamps: 3599 s between two frames"):
        list(iter_frames(clip))


def test_a_hole_inside_the_clip_counts_as_not_read():
    """A clip tracked in two spans decodes past a damaged stretch in the first: the hole is not read either."""
    info = VideoInfo(name="c.mp4", fps=30.0, frames=300, duration_s=10.0, width=640, height=480, rotation_deg=0,
                     codec="h264")
    whole = np.arange(300) / 30.0
    assert as_read(info, whole) == info
    holed = np.concatenate([whole[:60], whole[150:]])  # 2.0 to 5.0 s lost
    seen = as_read(info, holed)
    assert seen.frames == 210 and seen.claimed_frames == 300
    assert seen.duration_s == pytest.approx(7.0, abs=1e-6) and seen.claimed_duration_s == 10.0
    assert covered_s(holed, 30.0) == pytest.approx(7.0, abs=1e-6)
