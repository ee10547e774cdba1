"""`gaitlab analyze` on several clips or a folder: one output folder per clip in a batch folder, `--jobs N`
clips at a time, and an index.html linking the reports.

A clip that fails (bad input or an internal error) gets its one-line error and the others go on. With
`--jobs 1` the clips run one after another in this process; with more, each runs as its own
`gaitlab analyze` process (a crash or a kill takes only that clip down, and SIGTERM / Ctrl-C end them all,
each removing its half-written folder; runtime.Child starts, reads and ends them). The index.html in the batch folder is replaced only if gaitlab
wrote it (it names gaitlab as its generator).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from markupsafe import Markup

from gaitlab.errors import GaitlabError
from gaitlab.outputs.templating import render
from gaitlab.runtime import EXIT_INPUT, EXIT_OK, Child, stop_all

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".3gp", ".mpg", ".mpeg",
                  ".wmv"}
DEFAULT_BATCH_DIR = "gaitlab_batch"
INDEX_NAME = "index.html"
GENERATOR = '<meta name="generator" content="gaitlab">'  # in every index gaitlab writes: only such is replaced


@dataclass
class ClipOutcome:
    """How one clip of a batch ended."""

    video: Path
    outdir: Path
    status: str  # "ok", "input" (bad input: exit 2) or "internal" (exit 1)
    message: str = ""  # the one-line error
    text: str = ""  # what `gaitlab analyze` printed for it


def expand_inputs(paths: list[str | Path]) -> list[Path]:
    """Files as given and every video directly inside a folder (sorted); each file once."""
    videos: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(q for q in p.iterdir()
                            if q.is_file() and q.suffix.lower() in VIDEO_SUFFIXES and not q.name.startswith("."))
            if not inside:
                raise GaitlabError(f"no videos in the folder {p.name or p} "
                                   f"(looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
            videos += inside
        else:
            videos.append(p)
    seen, unique = set(), []
    for v in videos:
        key = os.path.abspath(v)
        if key not in seen:
            seen.add(key)
            unique.append(v)
    return unique


def output_folders(videos: list[Path], root: Path) -> list[Path]:
    """root/<stem>_gaitlab per clip; clips with the same stem (from different folders) get _2, _3, ..."""
    used: set[str] = set()
    out = []
    for v in videos:
        name, k = f"{v.stem}_gaitlab", 1
        while name.lower() in used:
            k += 1
            name = f"{v.stem}_{k}_gaitlab"
        used.add(name.lower())
        out.append(root / name)
    return out


def check_index(root: Path) -> None:
    """Refuse, before any clip is analysed, a batch folder whose index.html gaitlab did not write (the batch
    would replace it)."""
    path = root / INDEX_NAME
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise GaitlabError(f"cannot use {root} as the batch folder: {path.name}: {exc.strerror}") from None
    if GENERATOR not in text:
        raise GaitlabError(f"{path} was not written by gaitlab: choose another batch folder (-o)")


def run_batch(videos: list[Path], outdirs: list[Path], jobs: int, run_here: Callable[[Path, Path], str],
              child_args: list[str], report: Callable[[ClipOutcome], None]) -> list[ClipOutcome]:
    """Analyse every clip; `report` is called as each finishes. run_here(video, outdir) -> printed text
    analyses in this process (jobs == 1); child_args: the options for `gaitlab analyze` children."""
    if jobs <= 1:
        outcomes = []
        for video, outdir in zip(videos, outdirs):
            try:
                outcome = ClipOutcome(video, outdir, "ok", text=run_here(video, outdir))
            except GaitlabError as exc:
                outcome = ClipOutcome(video, outdir, "input", str(exc))
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - one clip's internal error; the others go on
                outcome = ClipOutcome(video, outdir, "internal", f"internal error: {type(exc).__name__}: {exc}")
            report(outcome)
            outcomes.append(outcome)
        return outcomes
    return _run_children(videos, outdirs, jobs, child_args, report)


def _run_children(videos: list[Path], outdirs: list[Path], jobs: int, child_args: list[str],
                  report: Callable[[ClipOutcome], None]) -> list[ClipOutcome]:
    """Each clip in a `gaitlab analyze` child process, `jobs` at a time; `report` is called as each ends."""
    todo = list(zip(videos, outdirs))
    running: dict[Child, tuple[Path, Path]] = {}
    done: dict[Path, ClipOutcome] = {}
    try:
        while todo or running:
            while todo and len(running) < jobs:
                video, outdir = todo.pop(0)
                running[Child(["-m", "gaitlab.cli", "analyze", str(video), "-o", str(outdir), *child_args])] = (
                    video, outdir)
            finished = [child for child in running if child.poll() is not None]
            if not finished:
                time.sleep(0.05)
                continue
            for child in finished:
                video, outdir = running.pop(child)
                code, text = child.poll(), child.output()
                child.close()
                done[outdir] = outcome = _child_outcome(video, outdir, code, text)
                report(outcome)
    finally:
        stop_all(running)  # interrupted: end the children; each removes its temporary folder
    return [done[o] for o in outdirs]


def _child_outcome(video: Path, outdir: Path, code: int, text: str) -> ClipOutcome:
    """A clip's outcome from its `gaitlab analyze` process: exit status `code` and what it printed (its error
    is the last line starting "gaitlab: ")."""
    if code == EXIT_OK:
        return ClipOutcome(video, outdir, "ok", text=text)
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("gaitlab: ")]
    message = errors[-1][len("gaitlab: "):] if errors else (lines[-1] if lines else "")
    status = "input" if code == EXIT_INPUT else "internal"
    if status == "internal" and not errors:
        message = f"internal error: exit status {code} {message}".strip()
    return ClipOutcome(video, outdir, status, message)


def _summary(outdir: Path) -> dict | None:
    try:
        return json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _side_cell(summary: dict, side: str) -> dict | None:
    """A stance side's cell of the index: its css class, mean drop (degrees, "–" if missing), the word for
    its verdict and its step count; None without a verdict."""
    s = summary.get("sides", {}).get(side, {})
    if not s.get("measurable"):
        return None
    mean = s.get("mean_drop_deg")
    cls, word = ("over", "flagged") if s.get("flagged") else ("ok", "within")
    return {"cls": cls, "mean": f"{mean:.1f}°" if isinstance(mean, (int, float)) else "–", "word": word,
            "steps": int(s.get("steps", 0))}


def _row(root: Path, outcome: ClipOutcome) -> dict:
    """A clip's row of the index: its name, its folder as a link relative to root, and either its error
    (error is not None) or its view, verdict per side, warning count and whether it has an annotated video."""
    row = {"name": outcome.video.name, "href": quote(os.path.relpath(outcome.outdir, root).replace(os.sep, "/"))}
    summary = _summary(outcome.outdir) if outcome.status == "ok" else None
    if summary is None:
        return {**row, "error": outcome.message or "no summary was written"}
    return {**row, "error": None, "view": f"{summary.get('view', '')}, {summary.get('activity', '')}",
            "left": _side_cell(summary, "left"), "right": _side_cell(summary, "right"),
            "warnings": len(summary.get("warnings", [])), "video": (outcome.outdir / "annotated.mp4").is_file()}


def write_index(root: Path, outcomes: list[ClipOutcome], threshold_deg: float) -> Path:
    """root/index.html, from templates/batch_index.html.j2: one row per clip (verdict per side, links to its
    report and video, or its error); `threshold_deg` is the threshold the clips were judged by, degrees."""
    html = render("batch_index.html.j2", generator=Markup(GENERATOR), rows=[_row(root, o) for o in outcomes],
                  analysed=sum(o.status == "ok" for o in outcomes), threshold=f"{threshold_deg:g}°",
                  generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"))
    path = root / INDEX_NAME
    tmp = path.with_name(f".{INDEX_NAME}.{os.getpid()}.part")  # this process's own: batches may share a folder
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written index
        raise
    return path
