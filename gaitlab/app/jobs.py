"""Running analysis jobs in worker processes, one process per job, at most `workers` at a time.

The database is the queue: a job row is 'queued' until the dispatcher thread starts it, 'running' while its
process lives, then 'done' (with a session row) or 'failed' (with a reason in plain words). The server
process is the only writer of job states; a worker only runs `run_job` and reports through a pipe. A worker
that dies without reporting (killed, out of memory, a crash in native code) fails its job and nothing else.

Workers are multiprocessing 'spawn' processes, not runtime.Child like gaitlab's other child processes: the
dispatcher waits on every worker's pipe and process sentinel at once (connection.wait), hands a worker its model
and options as Python objects and takes back typed messages, and multiprocessing ends daemonic workers when the
server exits. A `python -m` child would need a progress channel and a sentinel of its own to do the same.

A clean stop (Ctrl-C) puts running jobs back in the queue, and the next start runs them; a job found
'running' at start belonged to a server that died, and is failed rather than retried (it may be the job
that brought the server down).
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection, wait
from pathlib import Path

from gaitlab.app import db
from gaitlab.errors import GaitlabError
from gaitlab.tracking.model import ModelInfo
from gaitlab.tracking.pipeline import cache_entry

log = logging.getLogger("gaitlab.app")
PROGRESS_INTERVAL_S = 0.25  # a worker reports progress at most this often
ORPHANED = ("the app stopped while this analysis was running (the computer was shut down or the app was killed); "
            "upload the clip again to analyse it")


@dataclass
class Live:
    """What the server knows about a running job beyond its row: for the progress page."""
    frames_done: int = 0
    frames_total: int = 0
    fps: float = 0.0
    eta_s: float = 0.0


def upload_dir(data_dir: Path, job_id: str) -> Path:
    """The folder holding a job's uploaded clip until its analysis has ended."""
    return data_dir / "uploads" / job_id


def session_dir(data_dir: Path, job_id: str) -> Path:
    """A job's output folder (what `gaitlab analyze` writes), kept as its session's files once done."""
    return data_dir / "sessions" / job_id


def clip_dir(data_dir: Path, session_id: str) -> Path:
    """The folder holding a session's kept clip, as uploaded: used only to analyse it again, never served (the
    faces in it are not blurred)."""
    return data_dir / "clips" / session_id


def kept_clip(data_dir: Path, session_id: str) -> Path | None:
    """A session's kept clip, or None if it was not kept (or has been deleted)."""
    return next(clip_dir(data_dir, session_id).glob("*"), None)


def tracks_dir(data_dir: Path) -> Path:
    """The app's own pose-track cache: kept in the data folder (not the user's cache), so that a person's tracks
    go with them. A job's entry is named by the track_key in its row."""
    return data_dir / "tracks"


def forget_track(data_dir: Path, track_key: str) -> None:
    """Delete a job's cached pose track ('' = none recorded). Clips with the same bytes share an entry: it goes
    with the first of their jobs to be deleted, and is made again if needed (it only saves time)."""
    if track_key:
        cache_entry(track_key, tracks_dir(data_dir)).unlink(missing_ok=True)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # unwinds run_job, which removes its half-written folder


def work(video: str, outdir: str, model: ModelInfo, options: dict, tracks: Path, conn: Connection,
         server_pid: int) -> None:
    """Worker process body: run the job with its pose track cached in `tracks`; send ('track', key) first, then
    ('progress', …) messages, then ('done',) or ('failed', reason)."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    last = 0.0

    def progress(p) -> None:
        nonlocal last
        if os.getppid() != server_pid:  # the server died: stop rather than finish unrecorded work
            raise KeyboardInterrupt
        if time.monotonic() - last >= PROGRESS_INTERVAL_S or p.frames_done == p.frames_total:
            last = time.monotonic()
            conn.send(("progress", p.frames_done, p.frames_total, p.fps, p.eta_s))

    try:
        # imported here, so that a stop while MediaPipe loads is as quiet as one later
        from gaitlab.run.job import JobOptions, run_job
        from gaitlab.tracking.pipeline import track_cache_key

        # replace_existing: the folder is ours; a leftover is from a run stopped after it finished
        # view_check: a "Filmed" choice the clip contradicts is analysed with the detected view (the session
        # page shows both)
        job = JobOptions(**options, replace_existing=True, tracks=tracks, view_check="detected")
        # the server deletes the track with the job (so the key is known: the clip is read twice)
        conn.send(("track", track_cache_key(Path(video), model, start_s=job.start_s, end_s=job.end_s)))
        run_job(video, outdir, model, job, progress=progress)
        conn.send(("done",))
    except KeyboardInterrupt:
        pass  # stopped by the server, which knows why
    except GaitlabError as exc:
        conn.send(("failed", str(exc)))
    except Exception as exc:  # an internal error: the job fails, the server and other jobs go on
        conn.send(("failed", f"internal error: {type(exc).__name__}: {exc}"))


def report_note(person_note: str, session_note: str) -> str:
    """The note a session's outputs carry: the person's, then the session's own on a line of its own."""
    return "\n".join(n for n in (person_note, session_note) if n)


def _record(con, row) -> dict:
    """Whose clip a job's is and when, as its outputs state it: the person's label, the person's and the
    session's note, the session date."""
    person = db.person(con, row["person_id"])
    return {"subject": person["label"] if person else "",
            "note": report_note(person["note"] if person else "", row["note"]),
            "session_date": date.fromisoformat(row["session_date"])}


def _exit_reason(exitcode: int | None) -> str:
    how = f"was killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exited with code {exitcode}"
    return (f"the analysis process stopped unexpectedly (it {how}); the computer may have run out of memory. "
            "Try a shorter or smaller clip")


class Runner:
    """Starts queued jobs in worker processes and records how they end (one dispatcher thread)."""

    def __init__(self, data_dir: Path, model: ModelInfo, workers: int = 1):
        self.data_dir, self.model, self.workers = data_dir, model, max(1, workers)
        self.live: dict[str, Live] = {}  # job id -> progress, for running jobs
        self._track_keys: dict[str, str] = {}  # job id -> its track's key, for running jobs (their rows may go)
        self._redo: dict[str, str] = {}  # job id -> the session it re-analyses, for running re-analyses
        self._procs: dict[str, tuple[multiprocessing.Process, Connection]] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gaitlab-jobs", daemon=True)
        self._ctx = multiprocessing.get_context("spawn")  # no fork: the server has threads

    def start(self) -> None:
        """Fail the jobs a dead server left running, clear what it left on disk, and start dispatching."""
        with db.connect(self.data_dir) as con:
            db.fail_orphans(con, ORPHANED)
            queued, sessions = db.queued_ids(con), db.session_ids(con)
        # what a stopped server left behind: uploads nobody waits for, output folders of no session, exports
        for folder, keep in ((self.data_dir / "uploads", queued), (self.data_dir / "sessions", sessions),
                             (self.data_dir / "clips", sessions), (self.data_dir / "tmp", set())):
            for path in folder.iterdir():
                if path.name in keep:
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop workers; their jobs go back to the queue, to run again at the next start."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()

    def poke(self) -> None:
        """A job was queued."""
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        """Stop a running job whose row is being deleted; its files are removed when the process has ended."""
        with self._lock:
            if job_id in self._procs:
                self._cancelled.add(job_id)
                self._procs[job_id][0].terminate()

    # ---- dispatcher thread -------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception:  # e.g. a full disk: keep dispatching, the next step may succeed
                log.exception("job dispatcher")
                time.sleep(1)
        with self._lock:
            for proc, _ in self._procs.values():
                proc.terminate()
        for job_id, (proc, conn) in list(self._procs.items()):
            proc.join()
            conn.close()
            self._requeue(job_id)

    def _step(self) -> None:
        self._launch()
        with self._lock:
            handles = [h for proc, conn in self._procs.values() for h in (proc.sentinel, conn)]
        if handles:
            wait(handles, timeout=0.5)
        else:
            self._wake.wait(0.5)
        self._wake.clear()
        self._collect()

    def _launch(self) -> None:
        free = self.workers - len(self._procs)
        if free <= 0:
            return
        with db.connect(self.data_dir) as con:
            for row in db.next_queued(con, free):
                job_id, redo_of = row["id"], row["redo_of"]
                # none if deleted meanwhile
                video = kept_clip(self.data_dir, redo_of) if redo_of else next(
                    upload_dir(self.data_dir, job_id).glob("*"), None)
                if video is None:
                    db.end_job(con, job_id, "failed", f"the {'kept' if redo_of else 'uploaded'} clip is missing "
                                                      "from the data folder")
                    continue
                receive, send = self._ctx.Pipe(duplex=False)
                proc = self._ctx.Process(
                    target=work, name=f"gaitlab-job-{job_id}", daemon=True,
                    args=(str(video), str(session_dir(self.data_dir, job_id)), self.model,
                          {**db.job_options(row), **_record(con, row)}, tracks_dir(self.data_dir), send,
                          os.getpid()))
                proc.start()
                send.close()  # the worker holds the only writing end: EOF here means it has ended
                with self._lock:
                    self._procs[job_id] = (proc, receive)
                    self.live[job_id] = Live()
                    if redo_of:
                        self._redo[job_id] = redo_of
                db.start_job(con, job_id, proc.pid)

    def _collect(self) -> None:
        for job_id, (proc, conn) in list(self._procs.items()):
            outcome = None
            try:
                while conn.poll():
                    msg = conn.recv()
                    if msg[0] == "progress":
                        self.live[job_id] = Live(*msg[1:])
                    elif msg[0] == "track":
                        self._track(job_id, msg[1])
                    else:
                        outcome = msg
            except (EOFError, OSError):
                pass  # the worker has ended; its exit code says how
            if outcome is None and proc.is_alive():
                continue
            proc.join()
            conn.close()
            with self._lock:
                del self._procs[job_id]
                self.live.pop(job_id, None)
                cancelled = job_id in self._cancelled
                self._cancelled.discard(job_id)
                self._redo.pop(job_id, None)
            track_key = self._track_keys.pop(job_id, "")
            if self._stopping.is_set() and outcome is None:
                self._requeue(job_id)
            elif cancelled:
                self._discard_files(job_id, track_key)
            else:
                try:
                    self._finish(job_id, outcome or ("failed", _exit_reason(proc.exitcode)), track_key)
                except Exception as exc:  # never leave a job 'running' behind
                    log.exception("recording job %s", job_id)
                    self._finish(job_id, ("failed", f"internal error while saving the results: {exc}"), track_key)

    def _track(self, job_id: str, track_key: str) -> None:
        """Record a job's track key, to delete its track with it; a re-analysis' is its session's, and stays."""
        if job_id in self._redo:
            return
        self._track_keys[job_id] = track_key
        with db.connect(self.data_dir) as con:
            db.set_track_key(con, job_id, track_key)

    def _finish(self, job_id: str, outcome: tuple, track_key: str) -> None:
        outdir = session_dir(self.data_dir, job_id)
        with db.connect(self.data_dir) as con:
            row = db.running_job(con, job_id)
            done = row is not None and outcome[0] == "done"
            if done and row["redo_of"]:
                self._replace_outputs(con, row, outdir)
            elif done:
                db.add_session(con, row, json.loads((outdir / "summary.json").read_text(encoding="utf-8")))
            if row is not None:
                db.end_job(con, job_id, outcome[0], outcome[1] if outcome[0] == "failed" else "")
        # the clip shows the face unblurred (the outputs blur it): kept only where asked for, and never served
        if done and row["keep_clip"] and not row["redo_of"]:
            clip_dir(self.data_dir, job_id).parent.mkdir(exist_ok=True)
            upload_dir(self.data_dir, job_id).rename(clip_dir(self.data_dir, job_id))
        shutil.rmtree(upload_dir(self.data_dir, job_id), ignore_errors=True)
        if not done or row["redo_of"]:  # deleted meanwhile, nothing complete to keep, or moved into place
            shutil.rmtree(outdir, ignore_errors=True)
        if not done:
            forget_track(self.data_dir, track_key)

    def _replace_outputs(self, con, row, outdir: Path) -> None:
        """A re-analysis succeeded: its outputs take the place of its session's, and its results, date and note
        those of the session's record (in the caller's transaction, which the swap's failure rolls back)."""
        db.replace_session(con, row, json.loads((outdir / "summary.json").read_text(encoding="utf-8")))
        dest = session_dir(self.data_dir, row["redo_of"])
        aside = self.data_dir / "tmp" / f"replaced-{row['id']}"
        dest.rename(aside)
        try:
            outdir.rename(dest)
        except OSError:
            aside.rename(dest)
            raise
        shutil.rmtree(aside, ignore_errors=True)

    def _requeue(self, job_id: str) -> None:
        with db.connect(self.data_dir) as con:
            db.requeue(con, job_id)

    def _discard_files(self, job_id: str, track_key: str) -> None:
        """A cancelled job's files, once its worker has ended (its track may have been written just before; a
        re-analysis' is its session's, and stays)."""
        shutil.rmtree(upload_dir(self.data_dir, job_id), ignore_errors=True)
        shutil.rmtree(session_dir(self.data_dir, job_id), ignore_errors=True)
        forget_track(self.data_dir, track_key)
