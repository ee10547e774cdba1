"""One analysis job: a video in, a finished output folder out (what the CLI and the app both run).

The folder is built in a temporary sibling and renamed only when complete, so a failure or an
interruption leaves nothing half-written. Every output folder holds a marker (MARKER): only a folder holding
one is ever replaced, and only with --force; a temporary folder a killed run left is removed by a later run
into the same parent once its writer (named in the marker) has ended.

The job is a plain sequence: check the output, track the clip, analyse, write exports, stills and report,
move the folder into place. Where the annotated video is asked for, a second process (_VideoProcess) takes
the analysis and the video from this one so both cores work after the pose pass; why, and what it saves, is
in docs/performance.md.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gaitlab import __version__
from gaitlab.core.clip import covered_s
from gaitlab.core.result import DEFAULT_THRESHOLD_DEG, THRESHOLD_RANGE_DEG, Analysis
from gaitlab.errors import NO_SPACE, GaitlabError
from gaitlab.outputs.wording import read_part
from gaitlab.runtime import child_env
from gaitlab.tracking.model import ModelInfo
from gaitlab.tracking.pipeline import Progress, TrackedVideo, track_video
from gaitlab.tracking.video import probe

MIN_CLIP_S = 1.0  # about one stride of slow walking: shorter clips hold no complete step
MARKER = ".gaitlab-output"  # in every folder gaitlab writes: JSON naming the version, clip, run and writer
TMP_SUFFIX = ".gaitlab-tmp"  # ends the name of a folder being written, or of an earlier output being replaced
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR)  # a rename found its target occupied
_NO_SPACE_EXIT = 3  # the video process's exit status when the disk is full


@dataclass(frozen=True)
class JobOptions:
    threshold_deg: float = DEFAULT_THRESHOLD_DEG
    view: str = "auto"  # "auto" | "posterior" | "anterior"
    start_s: float | None = None
    end_s: float | None = None
    blur_faces: bool = True
    annotated_video: bool = True
    replace_existing: bool = False
    tracks: Path | None = None  # folder of the pose-track cache (None: the user's cache, see pipeline.cache_entry)


def check_options(options: JobOptions) -> None:
    """Refuse settings no analysis can use (before any work): a threshold outside THRESHOLD_RANGE_DEG (NaN too),
    a negative --start, an --end not after --start."""
    low, high = THRESHOLD_RANGE_DEG
    if not low <= options.threshold_deg <= high:
        raise GaitlabError(f"the threshold must be between {low:g} and {high:g} degrees, not {options.threshold_deg:g}")
    start, end = options.start_s, options.end_s
    if start is not None and not start >= 0:
        raise GaitlabError(f"--start must be 0 s or later, not {start:g}")
    if end is not None and not end > (start or 0.0):
        raise GaitlabError(f"--end ({end:g} s) must be after --start ({start or 0:g} s)")


def default_outdir(video: Path) -> Path:
    return video.with_name(f"{video.stem}_gaitlab")


def _video_child() -> None:
    """Child process body (`python -c ...`): import the analysis and the video writer while the parent runs
    the pose pass, then read one pickled job from stdin: analyse the track, write the pickled Analysis to
    stdout, and write that video. Exit 0 done, 2 input error, _NO_SPACE_EXIT disk full, 1 internal error (the
    message on stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which ends this process
    import pickle

    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the reply

    from gaitlab.core.analysis import analyze_track
    from gaitlab.outputs.annotate import write_annotated_video

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
        sys.exit(_NO_SPACE_EXIT if isinstance(exc, OSError) and exc.errno in NO_SPACE else 1)


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
        env = child_env()
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-c", "from gaitlab.run.job import _video_child; _video_child()"],
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
            from gaitlab.core.analysis import analyze_track

            self._analysis = analyze_track(self._tracked.track, self._tracked.info, **self._settings)
        self._tracked = None
        return self._analysis

    def wait(self) -> None:
        if self._proc is None:
            from gaitlab.outputs.annotate import write_annotated_video

            video, out, blur = self._video
            write_annotated_video(video, self._analysis, out, blur)
            return
        code = self._proc.wait()
        self._err.seek(0)
        message = self._err.read().decode(errors="replace").strip().splitlines()
        message = message[-1] if message else f"exit status {code}"
        if code == 2:
            raise GaitlabError(message)
        if code == _NO_SPACE_EXIT:  # raised as what it is, for run_job to report like its own full disk
            raise OSError(errno.ENOSPC, message)
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


def read_marker(folder: Path) -> dict | None:
    """The marker of a folder gaitlab wrote (gaitlab_version, clip, run: an id of the run, pid and host of the
    writer), or None if the folder holds none."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("run"), str) else None


def _host() -> str:
    """This computer, as a marker names it: hashed, since the marker travels with the folder it is in."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:16]


def _write_marker(folder: Path, clip: str) -> None:
    marker = {"gaitlab_version": __version__, "clip": clip, "run": uuid.uuid4().hex, "pid": os.getpid(),
              "host": _host()}
    (folder / MARKER).write_text(json.dumps(marker), encoding="utf-8")


def _temp_folder(dest: Path) -> Path:
    """A new empty hidden folder beside dest, named as remove_leftovers looks for (dest's name cut to keep the
    name within the file system's limit)."""
    return Path(tempfile.mkdtemp(prefix=f".{dest.name[:100]}.", suffix=TMP_SUFFIX, dir=dest.parent))


def _writer_gone(marker: dict) -> bool:
    """Whether the process that wrote a marker has ended (known only for a process of this computer)."""
    pid = marker.get("pid")
    if marker.get("host") != _host() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, as another user's
        pass
    return False


def remove_leftovers(parent: Path) -> None:
    """Remove, from `parent`, the temporary folders of runs that were killed (kill -9, a crash): folders
    named as _temp_folder names them whose marker names a writer that has ended. Nothing else."""
    for path in parent.glob(f".*{TMP_SUFFIX}"):
        marker = None if path.is_symlink() else read_marker(path)
        if marker is not None and _writer_gone(marker):
            shutil.rmtree(path, ignore_errors=True)


def check_output(video: Path, outdir: Path, replace: bool) -> str | None:
    """Refuse, before any work, an output folder that is or holds the clip, is a file, holds anything but an
    earlier gaitlab output, or holds one while `replace` is off. Returns the run id in that earlier output's
    marker (None: there is none, or the folder is empty): the only output the job may replace at its end."""
    dest, clip = outdir.resolve(), video.resolve()
    if dest == clip or dest in clip.parents:
        raise GaitlabError(f"the output folder {outdir} would hold the clip {video.name}: choose another output "
                           "folder")
    try:
        if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):  # nothing there to lose
            return None
    except OSError as exc:
        raise GaitlabError(f"cannot use {outdir} as the output folder: {exc.strerror}") from None
    if not dest.is_dir():
        raise GaitlabError(f"{outdir} is a file, not a folder: choose another output folder")
    marker = read_marker(dest)
    if marker is None:  # a user's folder, or an output of a gaitlab that wrote no marker: not known to be ours
        raise GaitlabError(f"{outdir} is not a folder gaitlab wrote (it has no {MARKER}; outputs of older "
                           "versions have none either): choose another output folder, or empty it yourself")
    if not replace:
        raise GaitlabError(f"{outdir} already exists: pass --force to replace it")
    return marker["run"]


def _move_into_place(tmp: Path, dest: Path, outdir: Path, replaces: str | None) -> None:
    """Rename the finished `tmp` to `dest`. A rename onto a folder that is not empty fails, so of two runs
    into one folder the first to finish wins and the other raises; the earlier output check_output saw
    (run id `replaces`), and only it, is renamed aside first and removed once the new one is in."""
    try:
        tmp.rename(dest)
        return
    except OSError as exc:
        if exc.errno not in _TAKEN:
            raise
    taken = GaitlabError(f"{outdir} was written meanwhile by another run (or something else): it was left as "
                         "it is, and the results of this run were discarded")
    if replaces is None or (read_marker(dest) or {}).get("run") != replaces:
        raise taken
    aside = _temp_folder(dest)
    try:
        dest.rename(aside)  # onto the empty folder: a rename may replace an empty one
        tmp.rename(dest)
    except OSError as exc:  # another run moved the earlier output aside, or put its own in, first
        if exc.errno not in (*_TAKEN, errno.ENOENT):
            raise
        raise taken from None
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def run_job(video: str | Path, outdir: str | Path, model: ModelInfo, options: JobOptions = JobOptions(),
            progress: Callable[[Progress], None] | None = None) -> Analysis:
    """Analyse `video` into `outdir`; raises GaitlabError for input the user can fix."""
    video, outdir = Path(video), Path(outdir)
    check_options(options)
    dest = outdir.resolve()  # a link to a folder: the folder is what gets replaced; the link stays
    if not dest.parent.is_dir():
        raise GaitlabError(f"cannot write {outdir.name}: {outdir.parent} is not an existing folder")
    replaces = check_output(video, outdir, options.replace_existing)
    remove_leftovers(dest.parent)
    info = probe(video)
    if (options.start_s or 0.0) >= info.duration_s:
        raise GaitlabError(f"--start {options.start_s:g} s is past the end of {video.name} ({info.duration_s:.1f} s)")
    span = min(options.end_s if options.end_s is not None else info.duration_s, info.duration_s) - (options.start_s or 0.0)
    if info.frames < 2 or span < MIN_CLIP_S:
        raise GaitlabError(f"{video.name} is too short ({max(span, 0):.1f} s): film at least {MIN_CLIP_S:g} s, "
                           "ideally 10 s or more of steady walking or running")
    try:
        tmp = _temp_folder(dest)
    except OSError as exc:
        raise GaitlabError(f"cannot write into {outdir.parent}: {exc.strerror}") from None
    video_process = None
    try:
        _write_marker(tmp, video.name)
        if options.annotated_video:
            video_process = _VideoProcess()
        tracked = track_video(video, model, start_s=options.start_s, end_s=options.end_s, tracks=options.tracks,
                              progress=progress)
        left = covered_s(tracked.track.time_s, tracked.info.fps)
        if tracked.info.claimed_duration_s is not None and left < MIN_CLIP_S:  # cut off before enough was read
            raise GaitlabError(f"{video.name} ends early: {read_part(tracked.info)}, leaving {left:.1f} s to "
                               f"measure: at least {MIN_CLIP_S:g} s is needed")
        if not tracked.track.detected.any():
            raise GaitlabError(f"no person found in {video.name}")
        settings = {"threshold_deg": options.threshold_deg, "view": options.view, "people": tracked.people}
        if video_process is not None:  # the analysis, then the video (the longest stage), in its own process
            video_process.submit(tracked, settings, video, tmp / "annotated.mp4", options.blur_faces)
        # imported only now, while the other process analyses (~0.27 s, most of it matplotlib: kept out of the
        # pose pass's memory peak)
        from gaitlab.outputs.annotate import worst_step_stills
        from gaitlab.outputs.exports import write_exports
        from gaitlab.outputs.report import write_report

        if video_process is not None:
            analysis = video_process.analysis()
        else:
            from gaitlab.core.analysis import analyze_track

            analysis = analyze_track(tracked.track, tracked.info, **settings)
        del tracked
        write_exports(analysis, tmp)
        write_report(analysis, tmp, worst_step_stills(video, analysis, blur=options.blur_faces))
        if video_process is not None:
            video_process.wait()
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the finished folder gets the usual mode
        _move_into_place(tmp, dest, outdir, replaces)
    except BaseException as exc:
        if video_process is not None:
            video_process.close()  # before removing the folder it writes into
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            raise GaitlabError(f"not enough disk space to write {outdir}: free some space and run again "
                               "(nothing was kept)") from None
        raise
    finally:
        if video_process is not None:
            video_process.close()
    return analysis
