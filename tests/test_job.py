"""The job's second process (executor.ChildProcess): it analyses the pose track, hands the analysis back and
writes the annotated video; where it cannot, the job does both itself (same answer)."""
import os
import signal

import av
import numpy as np
import pytest

from gaitlab import runtime
from gaitlab.core.analysis import analyze_track
from gaitlab.core.clip import VideoInfo
from gaitlab.run import executor
from gaitlab.tracking.pipeline import TrackedVideo
from tests.clips import write_clip
from tests.synthetic import make_track

SETTINGS = {"threshold_deg": 5.0, "view": "auto", "people": None}


def _tracked(tmp_path):
    track, _ = make_track(dur_s=4.0, drops={"left": 3.0, "right": 7.0}, symmetry_noise_deg=0.3)
    clip = write_clip(tmp_path / "walk.mp4", list(track.time_s), 320, 240)
    info = VideoInfo(clip.name, 30.0, len(track), float(track.time_s[-1]) + 1 / 30, 320, 240, 0, "h264")
    return TrackedVideo(info, track, np.full(len(track), -1), False), clip


def _steps(analysis):
    return [(s.stance_side, s.start_s, round(s.peak_drop_deg, 9)) for s in analysis.steps]


def _frames(path):
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def _run(process, tracked, clip, out):
    try:
        process.submit(tracked, SETTINGS, clip, out, True)
        analysis = process.analysis()
        process.finish()
    finally:
        process.close()
    return analysis


def test_the_second_process_gives_the_analysis_made_here_and_writes_the_video(tmp_path):
    tracked, clip = _tracked(tmp_path)
    expected = analyze_track(tracked.track, tracked.info, **SETTINGS)
    assert len(expected.steps) >= 4
    process = executor.ChildProcess()
    assert process._child is not None
    analysis = _run(process, tracked, clip, tmp_path / "annotated.mp4")
    assert _steps(analysis) == _steps(expected)
    assert analysis.sides["right"].flagged and not analysis.sides["left"].flagged
    assert _frames(tmp_path / "annotated.mp4") == len(tracked.track)


def test_without_a_second_process_the_job_does_both_itself(tmp_path, monkeypatch):
    tracked, clip = _tracked(tmp_path)

    def no_process(*args, **kwargs):
        raise OSError("cannot start")

    monkeypatch.setattr(runtime.subprocess, "Popen", no_process)
    process = executor.ChildProcess()
    assert process._child is None
    analysis = _run(process, tracked, clip, tmp_path / "annotated.mp4")
    assert _steps(analysis) == _steps(analyze_track(tracked.track, tracked.info, **SETTINGS))
    assert _frames(tmp_path / "annotated.mp4") == len(tracked.track)


def test_a_second_process_that_dies_before_answering_leaves_the_analysis_to_the_job(tmp_path):
    tracked, clip = _tracked(tmp_path)
    process = executor.ChildProcess()
    os.kill(process._child.pid, signal.SIGKILL)
    process._child.wait()
    analysis = _run(process, tracked, clip, tmp_path / "annotated.mp4")
    assert _steps(analysis) == _steps(analyze_track(tracked.track, tracked.info, **SETTINGS))
    assert _frames(tmp_path / "annotated.mp4") == len(tracked.track)


def test_an_analysis_failing_in_the_second_process_fails_here_with_its_own_error(tmp_path):
    """The child ends without an answer; the job's own attempt raises what went wrong (people given as a
    list, not an array), and nothing is left running."""
    tracked, clip = _tracked(tmp_path)
    process = executor.ChildProcess()
    child = process._child
    process.submit(tracked, {**SETTINGS, "people": [1, 2]}, clip, tmp_path / "annotated.mp4", True)
    with pytest.raises(TypeError):
        process.analysis()
    process.close()
    assert child.poll() is not None and process._child is None
    assert not (tmp_path / "annotated.mp4").exists()
