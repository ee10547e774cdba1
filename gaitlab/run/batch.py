"""`gaitlab analyze` on several clips or a folder: one output folder per clip in a batch folder, `--jobs N`
clips at a time, and an index.html linking the reports.

A clip that fails (bad input or an internal error) gets its one-line error and the others go on. With
`--jobs 1` the clips run one after another in this process; with more, each runs as its own
`gaitlab analyze` process (a crash or a kill takes only that clip down, and SIGTERM / Ctrl-C end them all,
each removing its half-written folder). The index.html in the batch folder is replaced only if gaitlab
wrote it (it names gaitlab as its generator).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from gaitlab.errors import GaitlabError
from gaitlab.runtime import child_env

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".3gp", ".mpg", ".mpeg",
                  ".wmv"}
DEFAULT_BATCH_DIR = "gaitlab_batch"
INDEX_NAME = "index.html"
GENERATOR = '<meta name="generator" content="gaitlab">'  # in every index gaitlab writes: only such is replaced


@dataclass
class ClipOutcome:
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
    todo = list(zip(videos, outdirs))
    running: dict[subprocess.Popen, tuple[Path, Path, object]] = {}
    done: dict[Path, ClipOutcome] = {}
    env = child_env()
    try:
        while todo or running:
            while todo and len(running) < jobs:
                video, outdir = todo.pop(0)
                log = tempfile.TemporaryFile()
                cmd = [sys.executable, "-m", "gaitlab.cli", "analyze", str(video), "-o", str(outdir), *child_args]
                running[subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)] = (video, outdir, log)
            finished = [p for p in running if p.poll() is not None]
            if not finished:
                time.sleep(0.05)
                continue
            for proc in finished:
                video, outdir, log = running.pop(proc)
                log.seek(0)
                text = log.read().decode(errors="replace").strip()
                log.close()
                lines = text.splitlines()
                errors = [line for line in lines if line.startswith("gaitlab: ")]
                if proc.returncode == 0:
                    outcome = ClipOutcome(video, outdir, "ok", text=text)
                else:
                    message = errors[-1][len("gaitlab: "):] if errors else (lines[-1] if lines else "")
                    status = "input" if proc.returncode == 2 else "internal"
                    if status == "internal" and not errors:
                        message = f"internal error: exit status {proc.returncode} {message}".strip()
                    outcome = ClipOutcome(video, outdir, status, message)
                done[outdir] = outcome
                report(outcome)
    finally:
        for proc in running:  # interrupted: end the children; each removes its temporary folder
            if proc.poll() is None:
                proc.terminate()
        for proc, (_, _, log) in running.items():
            proc.wait()
            log.close()
    return [done[o] for o in outdirs]


def _summary(outdir: Path) -> dict | None:
    try:
        return json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _side_cell(summary: dict, side: str) -> str:
    s = summary.get("sides", {}).get(side, {})
    if not s.get("measurable"):
        return '<td class="none">no verdict</td>'
    mean = s.get("mean_drop_deg")
    value = f"{mean:.1f}°" if isinstance(mean, (int, float)) else "–"
    cls, word = ("over", "flagged") if s.get("flagged") else ("ok", "within")
    return (f'<td class="{cls}">{escape(value)} <span class="word">{escape(word)}</span>'
            f'<span class="steps"> · {int(s.get("steps", 0))} steps</span></td>')


def write_index(root: Path, outcomes: list[ClipOutcome], threshold_deg: float) -> Path:
    """root/index.html: one row per clip (verdict per side, links to its report and video, or its error)."""
    rows = []
    for o in outcomes:
        rel = quote(os.path.relpath(o.outdir, root).replace(os.sep, "/"))
        name = escape(o.video.name)
        summary = _summary(o.outdir) if o.status == "ok" else None
        if summary is not None:
            links = f'<a href="{rel}/report.html">report</a> · <a href="{rel}/report.pdf">PDF</a>'
            if (o.outdir / "annotated.mp4").is_file():
                links += f' · <a href="{rel}/annotated.mp4">video</a>'
            view = escape(f"{summary.get('view', '')}, {summary.get('activity', '')}")
            warn = len(summary.get("warnings", []))
            rows.append(f'<tr><td class="clip"><a href="{rel}/report.html">{name}</a></td><td>{view}</td>'
                        f'{_side_cell(summary, "left")}{_side_cell(summary, "right")}'
                        f'<td>{warn or ""}</td><td>{links}</td></tr>')
        else:
            message = o.message or "no summary was written"
            rows.append(f'<tr class="failed"><td class="clip">{name}</td>'
                        f'<td colspan="5" class="error">{escape(message)}</td></tr>')
    ok = sum(o.status == "ok" for o in outcomes)
    html = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{GENERATOR}
<title>gaitlab batch – {len(outcomes)} clips</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
th {{ font-weight: 600; background: #f6f6f6; }}
td.over {{ color: #b22; font-weight: 600; }} td.ok {{ color: #2a7a2a; }} td.none, .steps {{ color: #777; }}
.word {{ font-weight: normal; }} tr.failed td.error {{ color: #b22; }}
.muted {{ color: #666; }}
</style>
</head>
<body>
<h1>Pelvic drop (Trendelenburg) – batch of {len(outcomes)} clips</h1>
<p class="muted">{ok} analysed, {len(outcomes) - ok} failed · mean contralateral drop per stance leg, flagged above
{threshold_deg:g}° · generated {escape(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"))} ·
a screening aid, not a diagnosis.</p>
<table>
<thead><tr><th>clip</th><th>view</th><th>left-leg stance</th><th>right-leg stance</th><th>warnings</th>
<th>outputs</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    path = root / INDEX_NAME
    tmp = path.with_name(f".{INDEX_NAME}.{os.getpid()}.part")  # this process's own: batches may share a folder
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written index
        raise
    return path
