"""One analysis job: a video in, a finished output folder out (what the CLI and the app both run).

The folder is built in a temporary sibling and renamed only when complete, so a failure or an
interruption leaves nothing half-written.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .analysis import analyze_track
from .errors import GaitlabError
from .model import ModelInfo
from .pipeline import Progress, track_video
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


def run_job(video: str | Path, outdir: str | Path, model: ModelInfo, options: JobOptions = JobOptions(),
            progress: Callable[[Progress], None] | None = None) -> Analysis:
    """Analyse `video` into `outdir`; raises GaitlabError for input the user can fix."""
    from .annotate import worst_step_stills, write_annotated_video
    from .exports import write_exports
    from .report import write_report

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
    try:
        tracked = track_video(video, model, start_s=options.start_s, end_s=options.end_s, progress=progress)
        if not tracked.track.detected.any():
            raise GaitlabError(f"no person found in {video.name}")
        analysis = analyze_track(tracked.track, tracked.info, threshold_deg=options.threshold_deg,
                                 view=options.view, people=tracked.people)
        write_exports(analysis, tmp)
        write_report(analysis, tmp, worst_step_stills(video, analysis, blur=options.blur_faces))
        if options.annotated_video:
            write_annotated_video(video, analysis, tmp / "annotated.mp4", blur=options.blur_faces)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the finished folder gets the usual mode
        if outdir.exists():
            shutil.rmtree(outdir)
        tmp.rename(outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return analysis
