"""The local web app: a Starlette ASGI app (Jinja2 pages, a little vanilla JS) served by uvicorn.

Everything lives in one data folder: the database, uploads waiting for analysis, one output folder per
session (what `gaitlab analyze` writes), the sessions' kept clips (for a re-analysis with corrected settings; never
served, see jobs.clip_dir) and cached pose tracks (deleted with them, see jobs.tracks_dir). Pages never show a
path, only the clip's basename, escaped.

Each route is a function of the request alone: what the routes share (data folder, job runner, templates, CSRF
secret, upload limits) is an AppContext that create_app puts in `app.state.ctx`; every query is a function of db.py.
"""
from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import tempfile
import unicodedata
import webbrowser
import zipfile
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gaitlab import __version__
from gaitlab.app import db, pages
from gaitlab.app.jobs import Runner, clip_dir, forget_track, kept_clip, report_note, session_dir, upload_dir
from gaitlab.core.result import (
    DEFAULT_THRESHOLD_DEG,
    MIN_STEPS_PER_SIDE,
    SIDES,
    SMALLEST_DETECTABLE_DIFFERENCE_DEG,
    THRESHOLD_RANGE_DEG,
)
from gaitlab.errors import GaitlabError, VideoError
from gaitlab.outputs.pdf import write_pdf
from gaitlab.outputs.templating import svg_data_uri
from gaitlab.outputs.wording import plural
from gaitlab.tracking.model import ModelInfo
from gaitlab.tracking.video import probe

HERE = Path(__file__).resolve().parent
MAX_UPLOAD_BYTES = 2 * 1024**3  # a minute of 4K phone video is well under this
# A phone on a slow or patchy link still sends something every few seconds; a minute of silence means the
# client is gone, and its half-written clip would otherwise hold a connection and disk space forever.
UPLOAD_STALL_TIMEOUT_S = 60.0
MAX_LABEL_CHARS = 80
MAX_NOTE_CHARS = 2000  # a person's note; with a session's note, what a job's note may hold (run.job.MAX_NOTE_CHARS)
MAX_SEARCH_CHARS = 200  # longer than any label or note worth typing; SQLite refuses LIKE patterns past 50 000
EARLIEST_SESSION_DATE = date(1900, 1, 1)  # anything earlier is a mistyped year
SESSION_FILES = ("report.html", "report.pdf", "summary.json", "steps.csv", "frames.csv", "landmarks.npz",
                 "annotated.mp4")
VIEWS = ("auto", "posterior", "anterior")
KEEP_CLIPS = "keep_clips"  # the setting (in the meta table): "1" keeps each new session's clip, "0" deletes it
PROGRESS_TABLE_ROWS = 12  # the latest sessions the progress PDF's table lists: as many as fit on its one page
PROGRESS_NOTE_CHARS = 90  # a longer note is cut there on the progress PDF (two lines of its table)
TOKEN_COOKIE = "gaitlab_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# pages load nothing from elsewhere; report.html needs inline styles and data: images
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")


def default_data_dir() -> Path:
    """Where the app keeps its data unless told otherwise: $XDG_DATA_HOME/gaitlab, or ~/.local/share/gaitlab."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "gaitlab"


def clip_basename(name: str) -> str:
    """The last path component of a browser-supplied file name, printable, short enough for any file system."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = name, ""
    while len(stem.encode()) > 150:
        stem = stem[:-1]
    return (f"{stem}.{suffix}" if suffix else stem) or "clip"


def check_video(path: Path) -> None:
    """Prove the upload is a video by decoding it (never trust the name or the browser's type)."""
    probe(path)


class RowIdConvertor(Convertor[int]):
    """A database id in a path. At most 18 digits, so it always fits SQLite's 64-bit integers: a longer
    number matches no route (404) instead of overflowing in the query (500)."""
    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        """The path segment as an id."""
        return int(value)

    def to_string(self, value: int) -> str:
        """An id as a path segment (url_for)."""
        return str(value)


register_url_convertor("rowid", RowIdConvertor())


def _host_is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Guard:
    """Every request: the access token when one is set (from ?token= once, then a cookie), the Host header
    on a loopback-only server (so a web page cannot reach it by DNS rebinding), and security headers."""

    def __init__(self, app, token: str | None, loopback_only: bool):
        self.app, self.token, self.loopback_only = app, token, loopback_only

    async def __call__(self, scope, receive, send):
        """The ASGI entry: refuse (400/403) or redirect (a ?token= link, to set the cookie), else pass the
        request on with the security headers added; other scopes (lifespan, websocket) pass unchanged."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        host = (request.url.hostname or "").strip("[]")
        if self.loopback_only and host not in LOOPBACK_NAMES:
            return await _error_text(400, "Open gaitlab at http://127.0.0.1 on this computer.")(scope, receive, send)
        if self.token:
            given = request.query_params.get("token")
            if given is not None and secrets.compare_digest(given.encode(), self.token.encode()):
                query = "&".join(f"{quote(k)}={quote(v)}" for k, v in request.query_params.multi_items()
                                 if k != "token")
                response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), 303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return await response(scope, receive, send)
            if not secrets.compare_digest(request.cookies.get(TOKEN_COOKIE, "").encode(), self.token.encode()):
                return await _error_text(403, "This gaitlab app needs its access link: open the address printed "
                                              "where `gaitlab app` was started (it ends in ?token=…).")(
                    scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error_text(status: int, text: str) -> Response:
    return Response(text, status, media_type="text/plain; charset=utf-8")


@dataclass(frozen=True)
class AppContext:
    """What the routes share, set up once by create_app and reached through `request.app.state.ctx`."""
    data_dir: Path
    runner: Runner
    templates: Jinja2Templates
    csrf: str  # the secret every form and upload carries; kept in the database, so pages outlive a restart
    max_upload_bytes: int
    upload_stall_timeout_s: float

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """A database connection for one request (see db.connect)."""
        return db.connect(self.data_dir)


def create_app(data_dir: Path, model: ModelInfo, *, workers: int = 1, token: str | None = None,
               loopback_only: bool = True, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               upload_stall_timeout_s: float = UPLOAD_STALL_TIMEOUT_S) -> Guard:
    """The web app on a data folder (created, or its database upgraded, as needed), behind its Guard.

    Parameters
    ----------
    data_dir : the folder holding the database, uploads, sessions' outputs and pose tracks
    model : the pose model every analysis uses
    workers : how many analyses run at a time, each in its own process
    token : the access token a browser must show once (None: no token asked for)
    loopback_only : refuse requests whose Host is not this computer (a server listening on loopback only)
    max_upload_bytes : the largest clip accepted, in bytes
    upload_stall_timeout_s : seconds of silence after which an upload or a form is given up
    """
    data_dir = Path(data_dir)
    for sub in ("uploads", "sessions", "clips", "tmp"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    db.migrate(data_dir)
    with db.connect(data_dir) as con:
        csrf = db.meta_value(con, "csrf_secret", secrets.token_urlsafe(32))
    routes = [
        Route("/", people),
        Route("/people", add_person, methods=["POST"]),
        Route("/people/{pid:rowid}", person),
        Route("/people/{pid:rowid}/edit", edit_person, methods=["POST"]),
        Route("/people/{pid:rowid}/delete", delete_person, methods=["POST"]),
        Route("/people/{pid:rowid}/export.zip", export_person),
        Route("/people/{pid:rowid}/compare", compare),
        Route("/people/{pid:rowid}/progress.pdf", progress_pdf),
        Route("/people/{pid:rowid}/new", new_analysis),
        Route("/people/{pid:rowid}/uploads", upload, methods=["POST"]),
        Route("/jobs/{jid}", job),
        Route("/jobs/{jid}/events", job_events),
        Route("/jobs/{jid}/delete", delete_job, methods=["POST"]),
        Route("/sessions/{sid}", session),
        Route("/sessions/{sid}/files/{name}", session_file),
        Route("/sessions/{sid}/delete", delete_session, methods=["POST"]),
        Route("/sessions/{sid}/edit", edit_session, methods=["POST"]),
        Route("/sessions/{sid}/clip/delete", delete_clip, methods=["POST"]),
        Route("/settings", settings),
        Route("/settings", save_settings, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=_lifespan, exception_handlers={HTTPException: http_error})
    app.state.ctx = AppContext(data_dir, Runner(data_dir, model, workers), _templates(csrf, max_upload_bytes), csrf,
                               max_upload_bytes, upload_stall_timeout_s)
    return Guard(app, token, loopback_only)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Dispatch jobs while the app serves; a clean stop puts running ones back in the queue."""
    runner = app.state.ctx.runner
    runner.start()
    yield
    await run_in_threadpool(runner.stop)


def _templates(csrf: str, max_upload_bytes: int) -> Jinja2Templates:
    """The pages' templates, with what every page may show or send already in their globals."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.globals.update(csrf=csrf, version=__version__, sides=SIDES, badge=pages.badge, sentence=pages.sentence,
                       sdd=SMALLEST_DETECTABLE_DIFFERENCE_DEG, min_steps=MIN_STEPS_PER_SIDE,
                       max_upload_bytes=max_upload_bytes, threshold_range=THRESHOLD_RANGE_DEG,
                       max_label_chars=MAX_LABEL_CHARS, max_note_chars=MAX_NOTE_CHARS)
    env.filters.update(size=disk_size, plural=plural)
    return Jinja2Templates(env=env)


def disk_size(n_bytes: int) -> str:
    """A size on disk in words, e.g. '12.3 MB' (decimal units, as file managers show them)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.3g} {unit}"
    return f"{n_bytes} bytes"


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _page(request: Request, name: str, status_code: int = 200, headers: dict | None = None, **context) -> Response:
    return _ctx(request).templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def _found(row: sqlite3.Row | None) -> sqlite3.Row:
    """The row a page is about; a 404 page when it is gone."""
    if row is None:
        raise HTTPException(404, "This page no longer exists: it may have been deleted.")
    return row


async def _checked_form(request: Request) -> FormData:
    """The posted form, once it has arrived in time and carries this app's CSRF secret; an error page otherwise."""
    ctx = _ctx(request)
    try:  # a form is a few kilobytes: all of it arrives well within the upload stall timeout
        form = await asyncio.wait_for(request.form(), ctx.upload_stall_timeout_s)
    except asyncio.TimeoutError:
        raise HTTPException(408, "The form did not arrive in time: check the connection, reload the page and "
                                 "try again.", headers={"Connection": "close"}) from None
    if not secrets.compare_digest(str(form.get("csrf", "")).encode(), ctx.csrf.encode()):
        raise HTTPException(403, "This form did not come from this gaitlab app, or the app was reset: "
                                 "reload the page and try again.")
    return form


def _cancel_and_forget(ctx: AppContext, jobs: list[sqlite3.Row]) -> None:
    """Remove what deleted job rows (id, track_key) leave: their uploaded or kept clip, output folder and pose
    track."""
    for row in jobs:
        ctx.runner.cancel(row["id"])  # a running worker's files go when it has stopped
        for folder in (upload_dir, session_dir, clip_dir):
            shutil.rmtree(folder(ctx.data_dir, row["id"]), ignore_errors=True)
        forget_track(ctx.data_dir, row["track_key"])


def _clip_bytes(data_dir: Path, session_id: str) -> int | None:
    """The size of a session's kept clip in bytes, or None if it was not kept."""
    clip = kept_clip(data_dir, session_id)
    return None if clip is None else clip.stat().st_size


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Any refusal or missing page, as a page that says what happened."""
    return _page(request, "error.html", exc.status_code, exc.headers, message=exc.detail)


# ---- people ----------------------------------------------------------------------------------------

async def people(request: Request) -> Response:
    """The home page: everyone, or those whose label or note contains the search text ?q=."""
    q = request.query_params.get("q", "").strip()
    if len(q) > MAX_SEARCH_CHARS or _hidden_characters(q, multiline=False):
        raise HTTPException(400, f"Search for printable text of at most {MAX_SEARCH_CHARS} characters.")
    with _ctx(request).connect() as con:
        rows = db.find_people(con, q)
    return _page(request, "people.html", people=rows, q=q)


def _person_fields(form: FormData) -> tuple[str, str]:
    """A person form's label and note, checked; a 400 page saying what is wrong otherwise."""
    label, note = _form_text(form, "label"), _form_text(form, "note")
    if not label or len(label) > MAX_LABEL_CHARS or _hidden_characters(label, multiline=False):
        raise HTTPException(400, f"Give the person a label of 1 to {MAX_LABEL_CHARS} printable characters (a code "
                                 "such as P-014 rather than a name), without tabs, line breaks or control characters.")
    if len(note) > MAX_NOTE_CHARS or _hidden_characters(note, multiline=True):
        raise HTTPException(400, f"The note must be at most {MAX_NOTE_CHARS} printable characters: line breaks are "
                                 "fine, control characters are not.")
    return label, note


def _label_taken(label: str) -> HTTPException:
    return HTTPException(400, f"There is already a person labelled “{label}”: choose another label.")


async def add_person(request: Request) -> Response:
    """Add a person from the form's label and note, then show them."""
    label, note = _person_fields(await _checked_form(request))
    try:
        with _ctx(request).connect() as con:
            pid = db.add_person(con, label, note)
    except sqlite3.IntegrityError:
        raise _label_taken(label) from None
    return RedirectResponse(f"/people/{pid}", 303)


async def edit_person(request: Request) -> Response:
    """Correct a person's label and note. Every report of theirs carries both, so each session whose clip is kept
    and whose outputs say otherwise is analysed again with its own settings (a re-analysis, as when a session is
    edited), taking the new outputs only if that succeeds; a session without a kept clip keeps the label its report
    was made with, and the person page says so."""
    form = await _checked_form(request)
    ctx, pid = _ctx(request), request.path_params["pid"]
    label, note = _person_fields(form)
    with ctx.connect() as con:
        who = _found(db.person(con, pid))
        sessions = db.person_sessions(con, pid)
        # a re-analysis, queued now or later, prints the person's note above its session's note
        session_notes = [s["note"] for s in sessions] + [j["note"] for j in db.unfinished_jobs_of(con, pid)]
        if any(len(report_note(note, n)) > MAX_NOTE_CHARS for n in session_notes):
            raise HTTPException(400, f"The person's note, with the note of one of their sessions, must be at most "
                                     f"{MAX_NOTE_CHARS} characters: shorten one of them.")
        try:
            db.edit_person(con, pid, label, note)
        except sqlite3.IntegrityError:
            raise _label_taken(label) from None
        for s in sessions:
            if kept_clip(ctx.data_dir, s["id"]) is None or (s["report_label"] == label and note == who["note"]):
                continue
            pending = [r for r in db.redo_jobs_of(con, s["id"]) if r["state"] in ("queued", "running")]
            if any(r["state"] == "queued" for r in pending):
                continue  # it reads the label and note when it starts
            # a running one started with the old label: another follows it, with the settings it was given (one
            # with the session's would undo them)
            settings = pending[-1] if pending else db.job(con, s["id"])
            _queue_redo(con, s, settings["session_date"], db.job_options(settings), settings["note"])
    ctx.runner.poke()
    return RedirectResponse(f"/people/{pid}", 303)


async def person(request: Request) -> Response:
    """A person's page: their sessions with a trend plot, and their analyses not done."""
    pid = request.path_params["pid"]
    with _ctx(request).connect() as con:
        who = _found(db.person(con, pid))
        sessions = db.person_sessions(con, pid)
        jobs = db.unfinished_jobs_of(con, pid)
    trend = await run_in_threadpool(pages.trend_plot, sessions) if sessions else None
    clips = {s["id"]: _clip_bytes(_ctx(request).data_dir, s["id"]) for s in sessions}
    remade = {j["redo_of"] for j in jobs if j["redo_of"] and j["state"] != "failed"}
    return _page(request, "person.html", person=who, sessions=sessions, jobs=jobs, trend=trend, clips=clips,
                 clips_total=sum(n for n in clips.values() if n), remade=len(remade))


async def delete_person(request: Request) -> Response:
    """Delete a person with all their jobs, sessions and files."""
    await _checked_form(request)
    ctx, pid = _ctx(request), request.path_params["pid"]
    with ctx.connect() as con:
        _found(db.person(con, pid))
        jobs = db.jobs_of(con, pid)
        db.delete_person(con, pid)
    _cancel_and_forget(ctx, jobs)
    return RedirectResponse("/", 303)


async def export_person(request: Request) -> Response:
    """A zip of the person's record and every session's outputs."""
    ctx, pid = _ctx(request), request.path_params["pid"]
    with ctx.connect() as con:
        who = dict(_found(db.person(con, pid)))
        sessions = db.person_sessions(con, pid)
    path = await run_in_threadpool(_export_zip, ctx.data_dir, who, sessions)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", who["label"]).strip("_") or "person"
    return FileResponse(path, filename=f"gaitlab_{slug}.zip", background=BackgroundTask(path.unlink))


async def compare(request: Request) -> Response:
    """Two of a person's sessions (?a= and ?b=) side by side, the earlier first."""
    pid = request.path_params["pid"]
    ids = (request.query_params.get("a", ""), request.query_params.get("b", ""))
    if not all(ids):
        raise HTTPException(400, "Choose two sessions to compare.")
    with _ctx(request).connect() as con:
        who = _found(db.person(con, pid))
        chosen = [db.session_dict(_found(db.session_of(con, i, pid))) for i in ids]
    if chosen[0]["id"] == chosen[1]["id"]:
        raise HTTPException(400, "Choose two different sessions to compare.")
    a, b = sorted(chosen, key=lambda s: (s["session_date"], s["created_at"]))
    return _page(request, "compare.html", person=who, a=a, b=b, rows=pages.compare(a, b))


async def progress_pdf(request: Request) -> Response:
    """A one-page PDF of a person's progress: the drop per side over sessions with its 95% intervals, and a
    table of the latest sessions with their notes."""
    ctx, pid = _ctx(request), request.path_params["pid"]
    with ctx.connect() as con:
        who = dict(_found(db.person(con, pid)))
        sessions = db.person_sessions(con, pid)
    if not sessions:
        raise HTTPException(404, "This person has no sessions yet: there is no progress to print.")
    path = await run_in_threadpool(_progress_pdf, ctx, who, sessions)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", who["label"]).strip("_") or "person"
    return FileResponse(path, filename=f"gaitlab_progress_{slug}.pdf", content_disposition_type="inline",
                        background=BackgroundTask(path.unlink))


def _progress_pdf(ctx: AppContext, who: dict, sessions: list[dict]) -> Path:
    """Render the progress page (templates/progress.html) and print it into a new file in DATA/tmp."""
    rows = pages.progress_rows(sessions)
    for r in rows:
        r["note"] = _cut(r["note"], PROGRESS_NOTE_CHARS)
    html = ctx.templates.get_template("progress.html").render(
        person={**who, "note": _cut(who["note"], PROGRESS_NOTE_CHARS)}, sessions=sessions, rows=rows[:PROGRESS_TABLE_ROWS], left_out=max(len(rows) - PROGRESS_TABLE_ROWS, 0),
        plot=svg_data_uri(pages.drop_figure(sessions, (8.0, 3.4))), made=date.today().isoformat())
    fd, name = tempfile.mkstemp(prefix="progress-", suffix=".pdf", dir=ctx.data_dir / "tmp")
    os.close(fd)
    write_pdf(html, name)
    return Path(name)


def _cut(text: str, max_chars: int) -> str:
    """`text` on one line, cut to at most `max_chars` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"


# ---- settings --------------------------------------------------------------------------------------

def _keeps_clips(con: sqlite3.Connection) -> bool:
    """Whether new sessions keep their clip (the app's default: yes)."""
    return db.meta_value(con, KEEP_CLIPS, "1") == "1"


async def settings(request: Request) -> Response:
    """The settings page: whether clips are kept, and the disk space the kept ones use."""
    ctx = _ctx(request)
    with ctx.connect() as con:
        keep = _keeps_clips(con)
        rows = db.kept_clip_sessions(con)
    kept = [{**dict(r), "bytes": n} for r in rows if (n := _clip_bytes(ctx.data_dir, r["id"])) is not None]
    return _page(request, "settings.html", keep=keep, kept=kept, total=sum(k["bytes"] for k in kept))


async def save_settings(request: Request) -> Response:
    """Store the settings form (an unticked box is not sent: off)."""
    form = await _checked_form(request)
    with _ctx(request).connect() as con:
        db.set_meta_value(con, KEEP_CLIPS, "1" if form.get("keep_clips") else "0")
    return RedirectResponse("/settings", 303)


# ---- new analysis ----------------------------------------------------------------------------------

async def new_analysis(request: Request) -> Response:
    """The page to record or upload a clip of a person, with the analysis settings."""
    with _ctx(request).connect() as con:
        who = _found(db.person(con, request.path_params["pid"]))
        keep = _keeps_clips(con)
    return _page(request, "new.html", person=who, today=date.today().isoformat(), threshold=DEFAULT_THRESHOLD_DEG,
                 keep=keep)


async def upload(request: Request) -> JSONResponse:
    """Queue an analysis of a clip. The clip is the raw request body (streamed to disk, capped); its settings
    are in the query string. Answers in JSON: the job and its page, or what is wrong."""
    ctx = _ctx(request)
    if not secrets.compare_digest(request.headers.get("x-csrf-token", "").encode(), ctx.csrf.encode()):
        return _refuse(403, "This page is out of date: reload it and try again.")
    pid = request.path_params["pid"]
    with ctx.connect() as con:
        if db.person(con, pid) is None:
            return _refuse(404, "This person no longer exists.")
    try:
        settings = _upload_settings(request.query_params)
    except ValueError as exc:
        return _refuse(400, str(exc))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > ctx.max_upload_bytes:
        return _refuse(413, _too_large(ctx.max_upload_bytes))
    job_id = secrets.token_hex(8)
    folder = upload_dir(ctx.data_dir, job_id)
    folder.mkdir()
    path = folder / clip_basename(settings.pop("name"))
    refused = await _receive_clip(request, path, ctx.max_upload_bytes, ctx.upload_stall_timeout_s)
    if refused is not None:
        return refused
    options = {k: settings.pop(k) for k in ("threshold_deg", "view", "blur_faces", "annotated_video")}
    try:
        with ctx.connect() as con:  # the setting as it is now: the page said so when the clip was chosen
            db.add_job(con, job_id, pid, path.name, settings["date"], settings["source"], options,
                       keep_clip=_keeps_clips(con))
    except sqlite3.IntegrityError:  # the person was deleted while the clip arrived
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse(404, "This person no longer exists.")
    ctx.runner.poke()
    return JSONResponse({"job": job_id, "url": f"/jobs/{job_id}"}, 201)


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


async def _receive_clip(request: Request, path: Path, max_bytes: int, stall_timeout_s: float) -> JSONResponse | None:
    """Write the request body to `path` and prove it a video: None once kept, else the refusal, with the
    folder of `path` removed (also on any other error)."""
    kept = False
    try:
        size = 0
        with open(path, "wb") as f:
            async for chunk in _body_chunks(request, stall_timeout_s):
                size += len(chunk)
                if size > max_bytes:
                    return _refuse(413, _too_large(max_bytes))
                f.write(chunk)
        if size == 0:
            return _refuse(400, "The file is empty.")
        await run_in_threadpool(check_video, path)
        kept = True
    except ClientDisconnect:
        return _refuse(400, "The upload was cut off before the whole file arrived; nothing was saved.")
    except asyncio.TimeoutError:
        stalled = _refuse(408, f"The upload stopped: nothing arrived for {stall_timeout_s:g} s, so "
                               "nothing was saved. Check the connection and try again.")
        stalled.headers["Connection"] = "close"  # what may still come is not the start of a next request
        return stalled
    except VideoError as exc:
        return _refuse(400, f"{exc}. Choose a video file (MP4, MOV, WebM, …).")
    finally:
        if not kept:
            shutil.rmtree(path.parent, ignore_errors=True)
    return None


# ---- jobs ------------------------------------------------------------------------------------------

def _job_status(ctx: AppContext, job_id: str) -> dict:
    """What the progress page shows of a job: its state ('gone' once deleted), error, how many jobs are ahead
    in the queue, and while it runs frames done and to do, frames per second and seconds left."""
    with ctx.connect() as con:
        row = db.job(con, job_id)
        if row is None:
            return {"state": "gone"}
        ahead = db.jobs_ahead(con, job_id)
    live = ctx.runner.live.get(job_id)
    return {"state": row["state"], "error": row["error"], "ahead": ahead, "url": f"/sessions/{row['redo_of'] or job_id}",
            "frames_done": live.frames_done if live else 0, "frames_total": live.frames_total if live else 0,
            "fps": round(live.fps, 1) if live else 0, "eta_s": round(live.eta_s) if live else 0}


async def job(request: Request) -> Response:
    """A job's progress page; its session once it is done."""
    ctx, job_id = _ctx(request), request.path_params["jid"]
    with ctx.connect() as con:
        row = _found(db.job(con, job_id))
        who = _found(db.person(con, row["person_id"]))
    if row["state"] == "done":
        return RedirectResponse(f"/sessions/{row['redo_of'] or job_id}", 303)
    return _page(request, "job.html", job=row, person=who, status=_job_status(ctx, job_id))


async def job_events(request: Request) -> StreamingResponse:
    """Server-sent events: the job's status whenever it changes, until it has ended."""
    return StreamingResponse(_status_events(_ctx(request), request.path_params["jid"]),
                             media_type="text/event-stream", headers={"Cache-Control": "no-store"})


async def _status_events(ctx: AppContext, job_id: str) -> AsyncIterator[str]:
    """The job's status as server-sent event lines, each time it changes, until it has ended."""
    last = None
    while True:
        status = _job_status(ctx, job_id)
        if status != last:
            yield f"data: {json.dumps(status)}\n\n"
            last = status
        if status["state"] in ("done", "failed", "gone"):
            return
        await asyncio.sleep(0.3)  # seconds between looks at the job


async def delete_job(request: Request) -> Response:
    """Cancel a queued or running analysis, or dismiss a failed one."""
    await _checked_form(request)
    ctx, job_id = _ctx(request), request.path_params["jid"]
    with ctx.connect() as con:
        row = _found(db.unfinished_job(con, job_id))
        db.delete_job(con, job_id)
    _cancel_and_forget(ctx, [row])
    return RedirectResponse(f"/sessions/{row['redo_of']}" if row["redo_of"] else f"/people/{row['person_id']}", 303)


# ---- sessions --------------------------------------------------------------------------------------

async def session(request: Request) -> Response:
    """A session's page: its results, report and files."""
    ctx, sid = _ctx(request), request.path_params["sid"]
    with ctx.connect() as con:
        s = db.session_dict(_found(db.session(con, sid)))
        who = _found(db.person(con, s["person_id"]))
        options = db.job_options(_found(db.job(con, sid)))
        redos = [r for r in db.redo_jobs_of(con, sid) if r["state"] != "done"]
    return _page(request, "session.html", s=s, person=who, blurred=options["blur_faces"],
                 chosen_view=options.get("view", "auto"), clip_bytes=_clip_bytes(ctx.data_dir, sid), jobs=redos,
                 views=VIEWS)


async def session_file(request: Request) -> Response:
    """One of a session's output files: shown in the browser (report, video, summary) or downloaded."""
    ctx, sid, name = _ctx(request), request.path_params["sid"], request.path_params["name"]
    with ctx.connect() as con:
        _found(db.session(con, sid))
    path = session_dir(ctx.data_dir, sid) / name
    if name not in SESSION_FILES or not path.is_file():
        raise HTTPException(404, "This file is not part of the session.")
    inline = name.rsplit(".", 1)[-1] in ("html", "pdf", "mp4", "json")
    return FileResponse(path, filename=name, content_disposition_type="inline" if inline else "attachment")


async def delete_session(request: Request) -> Response:
    """Delete a session with its job and files."""
    await _checked_form(request)
    ctx, sid = _ctx(request), request.path_params["sid"]
    with ctx.connect() as con:
        row = _found(db.session_job(con, sid))
        redos = db.redo_jobs_of(con, sid)
        db.delete_job(con, sid)  # the session row goes with it, and its re-analyses with the session
    _cancel_and_forget(ctx, [row, *redos])
    return RedirectResponse(f"/people/{row['person_id']}", 303)


async def edit_session(request: Request) -> Response:
    """Correct a session's date, view, threshold and note. With its clip kept, the clip is analysed again with
    them (a re-analysis job, whose progress page this leads to) and the session takes the new outputs only if that
    succeeds; without it, only the date and note change, in the record (the outputs keep theirs)."""
    form = await _checked_form(request)
    ctx, sid = _ctx(request), request.path_params["sid"]
    try:
        day = _session_date(_form_text(form, "date")).isoformat()
        threshold, view = _threshold(_form_text(form, "threshold")), _view(_form_text(form, "view"))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    note = _form_text(form, "note")
    with ctx.connect() as con:
        s = _found(db.session(con, sid))
        who = _found(db.person(con, s["person_id"]))
        options = db.job_options(_found(db.job(con, sid)))
        if len(report_note(who["note"], note)) > MAX_NOTE_CHARS or _hidden_characters(note, multiline=True):
            raise HTTPException(400, f"The session's note, with the person's note, must be at most {MAX_NOTE_CHARS} "
                                     "printable characters: line breaks are fine, control characters are not.")
        if any(r["state"] in ("queued", "running") for r in db.redo_jobs_of(con, sid)):
            raise HTTPException(409, "This session is already being analysed again: wait for it to finish, then "
                                     "edit it.")
        analysis_changed = (view, threshold) != (options.get("view", "auto"), options["threshold_deg"])
        if kept_clip(ctx.data_dir, sid) is None:
            if analysis_changed:
                raise HTTPException(400, "The clip was not kept: view and threshold cannot be changed (only the "
                                         "date and the note).")
            db.edit_session_record(con, sid, day, note)
            return RedirectResponse(f"/sessions/{sid}", 303)
        if not analysis_changed and (day, note) == (s["session_date"], s["note"]):
            return RedirectResponse(f"/sessions/{sid}", 303)
        job_id = _queue_redo(con, s, day, {**options, "view": view, "threshold_deg": threshold}, note)
    ctx.runner.poke()
    return RedirectResponse(f"/jobs/{job_id}", 303)


def _queue_redo(con: sqlite3.Connection, s: sqlite3.Row | dict, day: str, options: dict, note: str) -> str:
    """Queue a re-analysis of session `s`'s kept clip with this date, these analysis settings and this note; its job
    id. The job reads the person's label and note when it starts (jobs._record)."""
    job_id = secrets.token_hex(8)
    db.add_job(con, job_id, s["person_id"], s["clip_name"], day, s["source"], options, note=note, redo_of=s["id"])
    return job_id


async def delete_clip(request: Request) -> Response:
    """Delete a session's kept clip (its outputs stay; it can no longer be analysed again)."""
    await _checked_form(request)
    ctx, sid = _ctx(request), request.path_params["sid"]
    with ctx.connect() as con:
        _found(db.session(con, sid))
    shutil.rmtree(clip_dir(ctx.data_dir, sid), ignore_errors=True)
    return RedirectResponse(f"/sessions/{sid}", 303)


def _too_large(limit: int) -> str:
    return (f"The file is larger than the {limit / 1024**3:.3g} GB limit: trim it to 10–60 s of walking or "
            "running and try again.")


def _hidden_characters(text: str, *, multiline: bool) -> bool:
    """Whether `text` holds characters a page would not show as stored: control characters (NUL, escape, …)
    and invisible formatting (bidirectional overrides, zero-width joiners), with which two labels could look
    alike or a note read otherwise than it is kept. A one-line text may use the plain space only; a
    multi-line one also tabs and line breaks."""
    if not multiline:
        return not text.isprintable()
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text if c not in "\t\r\n")


def _form_text(form, key: str) -> str:
    """A text field of a posted form, stripped; a file sent in its place is refused rather than stored as a name."""
    value = form.get(key, "")
    if not isinstance(value, str):
        raise HTTPException(400, f"The form's {key} must be text, not a file.")
    return value.strip()


async def _body_chunks(request: Request, stall_timeout_s: float) -> AsyncIterator[bytes]:
    """The request body as it arrives; asyncio.TimeoutError once nothing has come for `stall_timeout_s` seconds."""
    stream = request.stream()
    while True:
        try:
            chunk = await asyncio.wait_for(anext(stream), stall_timeout_s)
        except StopAsyncIteration:
            return
        yield chunk


def _session_date(text: str) -> date:
    """A session date written YYYY-MM-DD, from EARLIEST_SESSION_DATE to tomorrow (a browser in a time zone
    ahead of this computer's may already be there); ValueError says what is wrong in plain words."""
    latest = date.today() + timedelta(days=1)
    try:  # fromisoformat alone would also take 20250314 or week dates, which no date field sends
        day = date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
    except ValueError:
        day = None
    if day is None or not EARLIEST_SESSION_DATE <= day <= latest:
        raise ValueError(f"The session date must be a date such as 2025-03-14, from "
                         f"{EARLIEST_SESSION_DATE.isoformat()} to today.")
    return day


def _threshold(text: str) -> float:
    """A threshold in degrees within THRESHOLD_RANGE_DEG; ValueError says what is wrong in plain words."""
    try:
        threshold = float(text)
    except ValueError:
        threshold = float("nan")
    low, high = THRESHOLD_RANGE_DEG
    if not low <= threshold <= high:
        raise ValueError(f"The threshold must be a number of degrees between {low:g} and {high:g}.")
    return threshold


def _view(text: str) -> str:
    """One of VIEWS; ValueError says what is wrong in plain words."""
    if text not in VIEWS:
        raise ValueError("The view must be auto, posterior (from behind) or anterior (from the front).")
    return text


def _upload_settings(query) -> dict:
    """The analysis settings sent with an upload, checked; ValueError says what is wrong in plain words."""
    threshold = _threshold(query.get("threshold", str(DEFAULT_THRESHOLD_DEG)))
    view = _view(query.get("view", "auto"))
    day = _session_date(query.get("date") or date.today().isoformat())
    source = query.get("source", "upload")
    if source not in ("upload", "camera"):
        raise ValueError("Unknown source of the clip.")
    return {"name": query.get("name", "clip"), "date": day.isoformat(), "source": source,
            "threshold_deg": threshold, "view": view, "blur_faces": query.get("blur", "1") != "0",
            "annotated_video": query.get("video", "1") != "0"}


def _export_zip(data_dir: Path, person: dict, sessions: list[dict]) -> Path:
    """A zip of the person's record (person.json) and every session's output folder."""
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=data_dir / "tmp")
    os.close(fd)
    record = {"gaitlab_version": __version__, "label": person["label"], "note": person["note"],
              "sessions": [{k: v for k, v in s.items() if k != "person_id"} for s in sessions]}
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("person.json", json.dumps(record, indent=2, ensure_ascii=False))
        for s in sessions:
            folder = session_dir(data_dir, s["id"])
            for f in sorted(folder.iterdir()) if folder.is_dir() else ():
                packed = zipfile.ZIP_STORED if f.suffix in (".mp4", ".npz") else zipfile.ZIP_DEFLATED
                z.write(f, f"{s['session_date']}_{s['id']}/{f.name}", compress_type=packed)
    return Path(name)


def _lock(data_dir: Path):
    """Hold the data folder for this process: two servers on one database would fail each other's jobs."""
    handle = open(data_dir / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise GaitlabError(f"{data_dir} is in use by another `gaitlab app`: stop it, or pass --data") from None
    return handle


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (IPv6 when the host has a colon); GaitlabError if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise GaitlabError(f"cannot listen on {host}:{port} ({exc.strerror}): is gaitlab app already running? "
                           "Pass another --port") from None
    sock.listen(128)  # from now on a browser waits for the server to start instead of being refused
    return sock


def run_app(data: str | None, host: str, port: int, workers: int, open_browser: bool, token: str | None) -> int:
    """`gaitlab app`: serve until Ctrl-C."""
    from gaitlab.tracking.model import resolve_model

    model = resolve_model()
    data_dir = Path(data).expanduser() if data else default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(data_dir)
    loopback = _host_is_loopback(host)
    if not loopback and not token:
        token = secrets.token_urlsafe(18)
    app = create_app(data_dir, model, workers=workers, token=token, loopback_only=loopback)
    sock = bind(host, port)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{sock.getsockname()[1]}/"
    url += f"?token={token}" if token else ""
    print(f"gaitlab app: {url}\ndata folder: {data_dir}\nstop with Ctrl-C", flush=True)
    if not loopback:
        print("other devices: use this computer's address with the same port and ?token=…; the camera can "
              "record only in a browser on this computer (browsers allow it only on 127.0.0.1 or https)",
              flush=True)
    if open_browser:
        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3))
    try:
        server.run(sockets=[sock])
    finally:
        lock.close()
    return 0
