"""`gaitlab analyze` on several clips or a folder: one output folder per clip in a batch folder, `--jobs N`
clips at a time, and an index.html linking the reports.

A clip that fails (bad input or an internal error) gets its one-line error and the others go on. With
`--jobs 1` the clips run one after another in this process; with more, each runs as its own
`gaitlab analyze` process (a crash or a kill takes only that clip down, and SIGTERM / Ctrl-C end them all,
each removing its half-written folder; runtime.Child starts, reads and ends them). The index.html in the batch folder is replaced only if gaitlab
wrote it (it names gaitlab as its generator).

Every batch keeps a catalog in the batch folder (gaitlab.run.catalog): a batch run again skips the clips it has
analysed already (same content, gaitlab version and settings, output still there), takes up again the clips a
killed run left, retries those that failed on an internal error up to MAX_ATTEMPTS, and writes cohort.csv (one
row per clip, gaitlab.outputs.cohort). With --scheduler the clips run on a Dask cluster (gaitlab.run.cluster).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, TextIO
from urllib.parse import quote

from markupsafe import Markup

from gaitlab import __version__
from gaitlab.errors import GaitlabError
from gaitlab.outputs.batch_plots import index_plots
from gaitlab.outputs.cohort import COHORT_NAME, cohort_row, write_cohort
from gaitlab.outputs.templating import render
from gaitlab.run.catalog import MAX_ATTEMPTS, Catalog, ClipKey, settings_key
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
    skipped: bool = False  # not analysed in this run: the catalog had it (done, or failed for good)
    seconds: float | None = None  # how long it took (a cluster's worker says)
    worker: str = ""  # where it ran (a cluster's worker)


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
    # the verdict class (summary schema 2); older summaries have only "flagged"
    verdict = s.get("verdict_class") or ("above" if s.get("flagged") else "not_above")
    cls, word = {"above": ("over", "flagged"), "not_above": ("ok", "within"),
                 "cannot_tell": ("unsure", "cannot tell")}[verdict]
    return {"cls": cls, "mean": f"{mean:.1f}°" if isinstance(mean, (int, float)) else "–", "word": word,
            "steps": int(s.get("steps", 0))}


def _row(root: Path, outcome: ClipOutcome, summary: dict | None) -> dict:
    """A clip's row of the index: its name, its folder as a link relative to root, and either its error
    (error is not None: no summary) or its view, verdict per side, warning count and whether it has an annotated
    video."""
    row = {"name": outcome.video.name, "href": quote(os.path.relpath(outcome.outdir, root).replace(os.sep, "/"))}
    if summary is None:
        return {**row, "error": outcome.message or "no summary was written"}
    return {**row, "error": None, "view": f"{summary.get('view', '')}, {summary.get('activity', '')}",
            "left": _side_cell(summary, "left"), "right": _side_cell(summary, "right"),
            "warnings": len(summary.get("warnings", [])), "video": (outcome.outdir / "annotated.mp4").is_file()}


def write_index(root: Path, outcomes: list[ClipOutcome], threshold_deg: float) -> Path:
    """root/index.html, from templates/batch_index.html.j2: one row per clip (verdict per side, links to its
    report and video, or its error), and above it the spread of the clips' mean drops (gaitlab.outputs.
    batch_plots, with 2 clips measured or more); `threshold_deg` is the threshold the clips were judged by, degrees."""
    summaries = [_summary(o.outdir) if o.status == "ok" else None for o in outcomes]
    html = render("batch_index.html.j2", generator=Markup(GENERATOR),
                  rows=[_row(root, o, s) for o, s in zip(outcomes, summaries)],
                  plots=index_plots(summaries, threshold_deg),
                  analysed=sum(o.status == "ok" for o in outcomes), threshold=f"{threshold_deg:g}°",
                  cohort=COHORT_NAME if (root / COHORT_NAME).is_file() else None,
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


# ---- progress, catalog and cohort ------------------------------------------------------------------------------

def progress_line(total: int, done: int, failed: int, running: int, skipped: int, elapsed_s: float) -> str:
    """One line of a batch's progress: clips done / failed / running of the total, clips per minute analysed in
    this run so far and the time left at that rate (skipped clips count as done, not in the rate)."""
    finished = done + failed
    rate = (finished - skipped) / (elapsed_s / 60) if elapsed_s > 0 else 0.0
    left = total - finished
    eta = "–" if rate <= 0 or left <= 0 else _duration(60 * left / rate)
    return (f"{finished}/{total} clips: {done} done, {failed} failed, {running} running · {rate:.1f} clips/min · "
            f"ETA {eta}")


def _duration(seconds: float) -> str:
    """seconds as "45 s", "12 min" or "3 h 20 min"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class BatchProgress:
    """The batch's progress_line on stderr, overwritten in place on a terminal; elsewhere (logs, pipes) one
    line every `log_every` clips and at the end."""

    def __init__(self, total: int, stream: TextIO | None = None, log_every: int = 25) -> None:
        self.total, self.done, self.failed, self.running, self.skipped = total, 0, 0, 0, 0
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._log_every = log_every
        self._start = time.monotonic()
        self._shown = False

    def line(self) -> str:
        """The current progress_line."""
        return progress_line(self.total, self.done, self.failed, self.running, self.skipped,
                             time.monotonic() - self._start)

    def clip(self, outcome: ClipOutcome) -> None:
        """Count a finished (or skipped) clip and show the line."""
        self.done += outcome.status == "ok"
        self.failed += outcome.status != "ok"
        self.skipped += outcome.skipped
        finished = self.done + self.failed
        self.running = min(self.running, self.total - finished)  # the next count from the runner may be late
        if self._tty or finished == self.total or (not outcome.skipped and finished % self._log_every == 0):
            self._show()

    def tick(self, running: int) -> None:
        """Update the count of clips running now (on a terminal, show it)."""
        if running != self.running:
            self.running = running
            if self._tty:
                self._show()

    def clear(self) -> None:
        """End the overwritten line so that other output starts on a line of its own."""
        if self._shown and self._tty:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False

    def _show(self) -> None:
        self._stream.write(f"\r{self.line()} " if self._tty else f"gaitlab: {self.line()}\n")
        self._stream.flush()
        self._shown = True


def _skip_outcome(video: Path, outdir: Path, entry: dict | None, force: bool, retry_failed: bool) -> ClipOutcome | None:
    """The outcome of a clip the catalog says needs no analysis now (None: analyse it): done with its output
    still there, or failed on its input (the same bytes and settings fail the same way; --retry-failed tries
    again), or failed on internal errors MAX_ATTEMPTS times already."""
    if entry is None or force:
        return None
    if entry["status"] == "done":
        return ClipOutcome(video, outdir, "ok", skipped=True) if (outdir / "summary.json").is_file() else None
    if entry["status"] != "failed":
        return None  # running: left by a run that ended midway
    kind = entry["error_kind"] or "internal"
    if kind == "input" and not retry_failed:
        return ClipOutcome(video, outdir, "input", entry["error"] or "", skipped=True)
    if kind == "internal" and entry["attempts"] >= MAX_ATTEMPTS:
        return ClipOutcome(video, outdir, "internal", f"{entry['error']} (gave up after {entry['attempts']} "
                           "attempts)", skipped=True)
    return None


def _keys(catalog: Catalog, videos: list[Path], outdirs: list[Path], settings: dict) -> list[ClipKey | None]:
    """Each clip's catalog key (None: the clip cannot be read, so it is not catalogued: its analysis says why)."""
    keys: list[ClipKey | None] = []
    for video, outdir in zip(videos, outdirs):
        try:
            sha = catalog.content_hash(video)
        except OSError:
            keys.append(None)
            continue
        keys.append(ClipKey(sha, __version__, settings_key(settings), outdir.name))
    return keys


def local_runner(jobs: int, run_here: Callable[[Path, Path], str], child_args: list[str]) -> "Runner":
    """The Runner of a batch on this computer: run_batch, `jobs` clips at a time (the running count is what is
    started: min(jobs, clips left))."""
    def run(videos: list[Path], outdirs: list[Path], on_outcome: Callable[[ClipOutcome], None],
            on_running: Callable[[int], None]) -> list[ClipOutcome]:
        left = [len(videos)]
        on_running(min(jobs, left[0]))

        def report(outcome: ClipOutcome) -> None:
            left[0] -= 1
            on_running(min(jobs, left[0]))
            on_outcome(outcome)

        return run_batch(videos, outdirs, jobs, run_here, child_args, report)
    return run


Runner = Callable[[list[Path], list[Path], Callable[[ClipOutcome], None], Callable[[int], None]], list[ClipOutcome]]


def run_catalogued(root: Path, videos: list[Path], outdirs: list[Path], settings: dict, runner: Runner,
                   report: Callable[[ClipOutcome], None], progress: BatchProgress | None = None,
                   force: bool = False, retry_failed: bool = False) -> list[ClipOutcome]:
    """Run a batch through the catalog of `root` (module docstring): skip what needs no analysis, claim the rest
    and have runner(videos, outdirs, on_outcome, on_running) analyse it, recording each outcome as it comes;
    then write cohort.csv. `settings`: everything that changes a result (a clip analysed with others is
    analysed again). Returns every clip's outcome, in order."""
    progress = progress or BatchProgress(len(videos))
    with Catalog(root) as catalog:
        keys = _keys(catalog, videos, outdirs, settings)
        outcomes: dict[int, ClipOutcome] = {}
        todo: list[int] = []
        for i, (video, outdir, key) in enumerate(zip(videos, outdirs, keys)):
            skip = _skip_outcome(video, outdir, catalog.entry(key) if key else None, force, retry_failed)
            if skip is None:
                todo.append(i)
                if key:
                    catalog.claim(key, video.name, video)
            else:
                outcomes[i] = skip
                progress.clip(skip)
        index_of = {outdirs[i]: i for i in todo}

        def on_outcome(outcome: ClipOutcome) -> None:
            i = index_of[outcome.outdir]
            outcomes[i] = outcome
            if keys[i]:
                ok = outcome.status == "ok"
                catalog.finish(keys[i], ok, outcome.message, "" if ok else outcome.status, outcome.seconds,
                               outcome.worker)
            progress.clear()
            report(outcome)
            progress.clip(outcome)

        if todo:
            runner([videos[i] for i in todo], [outdirs[i] for i in todo], on_outcome, progress.tick)
        progress.clear()
        ordered = [outcomes[i] for i in range(len(videos))]
        write_cohort_table(root, ordered, [k.sha256 if k else "" for k in keys])
    return ordered


def write_cohort_table(root: Path, outcomes: list[ClipOutcome], hashes: list[str]) -> Path:
    """root/cohort.csv: a row per clip (gaitlab.outputs.cohort) from its summary.json, or its error."""
    rows = []
    for outcome, sha in zip(outcomes, hashes):
        summary = _summary(outcome.outdir) if outcome.status == "ok" else None
        report = os.path.relpath(outcome.outdir / "report.html", root).replace(os.sep, "/")
        rows.append(cohort_row(outcome.video.name, sha, summary, outcome.message, report))
    return write_cohort(root / COHORT_NAME, rows)
