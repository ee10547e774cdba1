"""One analysis job: a video in, a finished output folder out (what the CLI and the app both run).

The folder is built in a temporary sibling and renamed only when complete, so a failure or an
interruption leaves nothing half-written. Every output folder holds a marker (MARKER): only a folder holding
one is ever replaced, and only with --force; a temporary folder a killed run left is removed by a later run
into the same parent once its writer (named in the marker) has ended.

The job (run_job) is a plain sequence: check the settings, the output folder and the clip; track the clip;
analyse; write exports, stills and report; finish the annotated video; move the folder into place. The analysis
and the video are made by an executor (gaitlab.run.executor): in this process, or, where the annotated video is
asked for, in a second process so that both cores work after the pose pass (why, and what it saves:
docs/performance.md).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import socket
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterator

from gaitlab import __version__
from gaitlab.core.clip import covered_s
from gaitlab.core.result import DEFAULT_THRESHOLD_DEG, THRESHOLD_RANGE_DEG, Analysis
from gaitlab.errors import NO_SPACE, GaitlabError
from gaitlab.outputs.wording import read_part
from gaitlab.run.executor import open_executor
from gaitlab.tracking.model import ModelInfo
from gaitlab.tracking.pipeline import Progress, TrackedVideo, track_video
from gaitlab.tracking.video import probe, recorded_on

MIN_CLIP_S = 1.0  # about one stride of slow walking: shorter clips hold no complete step
MARKER = ".gaitlab-output"  # in every folder gaitlab writes: JSON naming the version, clip, run and writer
TMP_SUFFIX = ".gaitlab-tmp"  # ends the name of a folder being written, or of an earlier output being replaced
MAX_SUBJECT_CHARS, MAX_NOTE_CHARS = 80, 2000  # as the app allows for a person's label and note
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR)  # a rename found its target occupied


@dataclass(frozen=True)
class JobOptions:
    """A job's settings (the CLI's options; the app's per upload). Threshold in degrees of pelvic drop; start
    and end in seconds from the clip's start (None: its start, its end)."""

    threshold_deg: float = DEFAULT_THRESHOLD_DEG
    view: str = "auto"  # "auto" | "posterior" | "anterior"
    # a view contradicting the detected one (gaitlab.core.view.view_contradiction): "refuse" it, analyse with
    # the "detected" view instead, or "keep" it (the user is sure)
    view_check: str = "refuse"
    start_s: float | None = None
    end_s: float | None = None
    blur_faces: bool = True
    annotated_video: bool = True
    replace_existing: bool = False
    tracks: Path | None = None  # folder of the pose-track cache (None: the user's cache, see pipeline.cache_entry)
    subject: str = ""  # the person's pseudonymous label, a code such as P-014 ('' = not given)
    session_date: date | None = None  # the day the clip was filmed (None: the clip's creation time, if it has one)
    note: str = ""  # the clinician's note, printed on the report (line breaks allowed)


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
    _check_record(options)


def _hidden(text: str, allowed: str = "") -> bool:
    """Whether `text` holds control characters or invisible formatting (other than those in `allowed`)."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text if c not in allowed)


def _check_record(options: JobOptions) -> None:
    """Refuse a subject or note holding control characters or invisible formatting (the outputs would show them
    otherwise than given; a note may hold line breaks and tabs), or too long, and a session date after tomorrow
    (a clock in a time zone ahead of this computer's may already be there)."""
    if len(options.subject) > MAX_SUBJECT_CHARS or _hidden(options.subject):
        raise GaitlabError(f"--subject must be at most {MAX_SUBJECT_CHARS} printable characters (a code such as "
                           "P-014), without control characters")
    if len(options.note) > MAX_NOTE_CHARS or _hidden(options.note, "\t\r\n"):
        raise GaitlabError(f"--note must be at most {MAX_NOTE_CHARS} printable characters, without control "
                           "characters")
    if options.session_date is not None and options.session_date > date.today() + timedelta(days=1):
        raise GaitlabError(f"the session date {options.session_date.isoformat()} is in the future")


def default_outdir(video: Path) -> Path:
    """The output folder of a clip when none is named: <stem>_gaitlab beside it."""
    return video.with_name(f"{video.stem}_gaitlab")


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
    """Write the marker (see read_marker) of this run into `folder`."""
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


def _check_clip(video: Path, options: JobOptions) -> None:
    """Refuse, before any work, a clip that cannot be read, a --start past its end, or a span to analyse
    shorter than MIN_CLIP_S seconds."""
    info = probe(video)
    if (options.start_s or 0.0) >= info.duration_s:
        raise GaitlabError(f"--start {options.start_s:g} s is past the end of {video.name} ({info.duration_s:.1f} s)")
    span = min(options.end_s if options.end_s is not None else info.duration_s, info.duration_s) - (options.start_s or 0.0)
    if info.frames < 2 or span < MIN_CLIP_S:
        raise GaitlabError(f"{video.name} is too short ({max(span, 0):.1f} s): film at least {MIN_CLIP_S:g} s, "
                           "ideally 10 s or more of steady walking or running")


def _track(video: Path, model: ModelInfo, options: JobOptions,
           progress: Callable[[Progress], None] | None) -> TrackedVideo:
    """The pose track of the clip (from the track cache if there); refused if a clip cut off short left less
    than MIN_CLIP_S seconds, or no person was found."""
    tracked = track_video(video, model, start_s=options.start_s, end_s=options.end_s, tracks=options.tracks,
                          progress=progress)
    left = covered_s(tracked.track.time_s, tracked.info.fps)
    if tracked.info.claimed_duration_s is not None and left < MIN_CLIP_S:  # cut off before enough was read
        raise GaitlabError(f"{video.name} ends early: {read_part(tracked.info)}, leaving {left:.1f} s to "
                           f"measure: at least {MIN_CLIP_S:g} s is needed")
    if not tracked.track.detected.any():
        raise GaitlabError(f"no person found in {video.name}")
    return tracked


def _checked_view(tracked: TrackedVideo, options: JobOptions) -> str:
    """The view to analyse with: the one given, unless the clip clearly contradicts it (view_contradiction); then
    refused (GaitlabError), or "auto" (the detected view) with view_check "detected"."""
    from gaitlab.core.view import estimate_view, view_contradiction

    if options.view == "auto" or options.view_check == "keep":
        return options.view
    said = view_contradiction(estimate_view(tracked.track), options.view)
    if said is None:
        return options.view
    if options.view_check == "detected":
        return "auto"
    raise GaitlabError(f"{said} Run again with --view auto, or --view {options.view} --force-view if you are sure")


@contextlib.contextmanager
def _temp_output(video: Path, dest: Path, outdir: Path) -> Iterator[Path]:
    """A new temporary folder beside dest, holding this run's marker, for the block to fill. If the block
    fails (or is interrupted), the folder is removed, and a full disk becomes a GaitlabError saying so."""
    try:
        tmp = _temp_folder(dest)
    except OSError as exc:
        raise GaitlabError(f"cannot write into {outdir.parent}: {exc.strerror}") from None
    try:
        _write_marker(tmp, video.name)
        yield tmp
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            raise GaitlabError(f"not enough disk space to write {outdir}: free some space and run again "
                               "(nothing was kept)") from None
        raise


def _move_into_place(tmp: Path, dest: Path, outdir: Path, replaces: str | None) -> None:
    """Give the finished `tmp` the usual mode (mkdtemp makes it private) and rename it to `dest`. A rename onto
    a folder that is not empty fails, so of two runs into one folder the first to finish wins and the other
    raises; the earlier output check_output saw (run id `replaces`), and only it, is renamed aside first and
    removed once the new one is in."""
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
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
    """Analyse `video` into the folder `outdir` (report, exports, stills and, if asked for, the annotated
    video); raises GaitlabError for input the user can fix. `progress` is called during the pose pass."""
    video, outdir = Path(video), Path(outdir)
    check_options(options)
    dest = outdir.resolve()  # a link to a folder: the folder is what gets replaced; the link stays
    if not dest.parent.is_dir():
        raise GaitlabError(f"cannot write {outdir.name}: {outdir.parent} is not an existing folder")
    replaces = check_output(video, outdir, options.replace_existing)
    remove_leftovers(dest.parent)
    _check_clip(video, options)
    # the executor makes the analysis and the video: in a second process, started now, if there is a video
    with _temp_output(video, dest, outdir) as tmp, open_executor(options.annotated_video) as executor:
        tracked = _track(video, model, options, progress)
        settings = {"threshold_deg": options.threshold_deg, "view": _checked_view(tracked, options),
                    "people": tracked.people}
        executor.submit(tracked, settings, video, tmp / "annotated.mp4" if options.annotated_video else None,
                        options.blur_faces)
        # imported only now, while the other process analyses: kept out of the pose pass's memory peak
        from gaitlab.outputs.annotate import worst_step_stills
        from gaitlab.outputs.biomech import write_biomech
        from gaitlab.outputs.exports import SessionRecord, write_exports
        from gaitlab.outputs.report import write_report

        analysis = executor.analysis()
        del tracked
        # the session date: as given, else the clip's own creation time, else not known (never the run's time)
        day, source = (options.session_date, "given") if options.session_date else (recorded_on(video), "clip")
        record = SessionRecord(options.subject, day, source if day else "", options.note)
        write_exports(analysis, tmp, record)
        write_biomech(analysis, tmp)  # landmarks.c3d and landmarks.trc
        # the video is still being written here; the report links its steps to it (the job fails without it)
        write_report(analysis, tmp, worst_step_stills(video, analysis, blur=options.blur_faces), record,
                     video="annotated.mp4" if options.annotated_video else None)
        executor.finish()  # the annotated video
        _move_into_place(tmp, dest, outdir, replaces)
    return analysis
