"""One analysis job: a video in, a finished output folder out (what the CLI and the app both run).

The folder is built in a temporary sibling and renamed only when complete, so a failure or an
interruption leaves nothing half-written.

Speed (2 cores): while the pose pass keeps both cores busy, a second process starts and imports the
analysis and the video writer; once the pose pass is done it analyses the track (this process would first
spend ~0.7 s importing scipy.signal, with one core idle), hands the analysis back, and re-decodes, draws and
encodes the annotated video while this one writes the exports, the stills and the report. (The report
modules are imported after the pose pass: importing them during it gained nothing once the pass used both
cores, and added their ~40 MB to the pass's peak memory; scipy.signal would add ~65 MB more.)
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import GaitlabError
from .model import ModelInfo
from .pipeline import Progress, TrackedVideo, track_video
from .result import DEFAULT_THRESHOLD_DEG, Analysis
from .video import probe

MIN_CLIP_S = 1.0  # about one stride of slow walking: shorter clips hold no complete step


@dataclass(frozen=True)
class JobOptions:
    threshold_deg: float = DEFAULT_THRESHOLD_DEG
    view: str = "auto"  # "auto" | "posterior" | "anterior"
    start_s: float | None = None
    end_s: float | None = None
    blur_faces: bool = True
    annotated_video: bool = True
    replace_existing: bool = False


def default_outdir(video: Path) -> Path:
    return video.with_name(f"{video.stem}_gaitlab")


def _video_child() -> None:
    """Child process body (`python -c ...`): import the analysis and the video writer while the parent runs
    the pose pass, then read one pickled job from stdin: analyse the track, write the pickled Analysis to
    stdout, and write that video. Exit 0 done, 2 input error, 1 internal error (the message on stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which ends this process
    import pickle

    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the reply

    from gaitlab.analysis import analyze_track
    from gaitlab.annotate import write_annotated_video

    try:
        track, info, settings, video, out, blur = pickle.load(sys.stdin.buffer)
    except EOFError:  # the parent ended the job before the analysis
        sys.exit(0)
    try:
        analysis = analyze_track(track, info, **settings)
        del track
        pickle.dump(analysis, reply, protocol=pickle.HIGHEST_PROTOCOL)
        reply.close()
        write_annotated_video(video, analysis, out, blur)
    except GaitlabError as exc:
        sys.stderr.write(str(exc))
        sys.exit(2)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        sys.stderr.write(f"{type(exc).__name__}: {exc}")
        sys.exit(1)


class _VideoProcess:
    """The analysis and the annotated video, made by a child process (its own interpreter lock and core): it
    hands the analysis back and writes the video while the parent writes the report. Started early so its
    imports overlap the pose pass; ended (never left running) by close(). A plain subprocess, not
    multiprocessing: nothing of the caller's __main__ is re-run, and it works from daemon processes too.
    Where the child cannot be started or dies before its answer, both are made in this process."""

    def __init__(self) -> None:
        self._tracked: TrackedVideo | None = None  # held until the analysis is back
        self._settings: dict = {}
        self._video: tuple[Path, Path, bool] | None = None  # clip, output, blur
        self._analysis: Analysis | None = None
        self._err = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-c", "from gaitlab.job import _video_child; _video_child()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=env)
        except OSError:
            self._proc = None

    def submit(self, tracked: TrackedVideo, settings: dict, video: Path, out: Path, blur: bool) -> None:
        """Hand the child the pose track (to analyse with analyze_track(track, info, **settings)) and the
        video to write."""
        import pickle

        self._tracked, self._settings, self._video = tracked, settings, (video, out, blur)
        if self._proc is not None:
            try:
                pickle.dump((tracked.track, tracked.info, settings, str(video), str(out), blur), self._proc.stdin,
                            protocol=pickle.HIGHEST_PROTOCOL)
                self._proc.stdin.close()
            except (OSError, ValueError):  # the child died early: analyse and write the video here
                self.close()

    def analysis(self) -> Analysis:
        """The child's analysis of the submitted track (made here if the child has none to give)."""
        import pickle

        if self._proc is not None:
            try:
                self._analysis = pickle.load(self._proc.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):  # it failed: the same work here says why
                self.close()
        if self._analysis is None:
            from .analysis import analyze_track

            self._analysis = analyze_track(self._tracked.track, self._tracked.info, **self._settings)
        self._tracked = None
        return self._analysis

    def wait(self) -> None:
        if self._proc is None:
            from .annotate import write_annotated_video

            video, out, blur = self._video
            write_annotated_video(video, self._analysis, out, blur)
            return
        code = self._proc.wait()
        self._err.seek(0)
        message = self._err.read().decode(errors="replace").strip().splitlines()
        message = message[-1] if message else f"exit status {code}"
        if code == 2:
            raise GaitlabError(message)
        if code != 0:
            raise RuntimeError(f"annotated video: {message}")

    def close(self) -> None:
        """End the child if still running (it writes only into the job's temporary folder, which the caller
        then removes)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe and not pipe.closed:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            self._proc = None
        self._err.close()


def run_job(video: str | Path, outdir: str | Path, model: ModelInfo, options: JobOptions = JobOptions(),
            progress: Callable[[Progress], None] | None = None) -> Analysis:
    """Analyse `video` into `outdir`; raises GaitlabError for input the user can fix."""
    video, outdir = Path(video), Path(outdir)
    info = probe(video)
    span = (options.end_s if options.end_s is not None else info.duration_s) - (options.start_s or 0.0)
    if info.frames < 2 or span < MIN_CLIP_S:
        raise GaitlabError(f"{video.name} is too short ({max(span, 0):.1f} s): film at least {MIN_CLIP_S:g} s, "
                           "ideally 10 s or more of steady walking or running")
    if outdir.exists() and not options.replace_existing:
        raise GaitlabError(f"{outdir.name} already exists: pass --force to replace it")
    parent = outdir.parent
    if not parent.is_dir():
        raise GaitlabError(f"cannot write {outdir.name}: {parent} is not an existing folder")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=parent))
    except OSError as exc:
        raise GaitlabError(f"cannot write into {parent}: {exc.strerror}") from None
    video_process = None
    try:
        if options.annotated_video:
            video_process = _VideoProcess()
        tracked = track_video(video, model, start_s=options.start_s, end_s=options.end_s, progress=progress)
        if not tracked.track.detected.any():
            raise GaitlabError(f"no person found in {video.name}")
        settings = {"threshold_deg": options.threshold_deg, "view": options.view, "people": tracked.people}
        if video_process is not None:  # the analysis, then the video (the longest stage), in its own process
            video_process.submit(tracked, settings, video, tmp / "annotated.mp4", options.blur_faces)
        # imported only now, while the other process analyses (~0.27 s, most of it matplotlib: kept out of the
        # pose pass's memory peak)
        from .annotate import worst_step_stills
        from .exports import write_exports
        from .report import write_report

        if video_process is not None:
            analysis = video_process.analysis()
        else:
            from .analysis import analyze_track

            analysis = analyze_track(tracked.track, tracked.info, **settings)
        del tracked
        write_exports(analysis, tmp)
        write_report(analysis, tmp, worst_step_stills(video, analysis, blur=options.blur_faces))
        if video_process is not None:
            video_process.wait()
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the finished folder gets the usual mode
        if outdir.exists():
            shutil.rmtree(outdir)
        tmp.rename(outdir)
    except BaseException:
        if video_process is not None:
            video_process.close()  # before removing the folder it writes into
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if video_process is not None:
            video_process.close()
    return analysis
