"""The app's SQLite database: people, sessions (finished analyses) and jobs (queued, running, failed, done).

One file in the data folder, WAL mode so the server's request threads and the job dispatcher can read while
one of them writes. The schema version is SQLite's `user_version`; MIGRATIONS[i] brings version i to i + 1.
Per-side results and warnings are stored as JSON text: the same dicts as summary.json.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from gaitlab.errors import GaitlabError

DB_NAME = "gaitlab.sqlite3"
MIGRATIONS = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- pseudonymous: a code, not a name
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,  -- generated; also the id of the session it produces (rowid: queue order)
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        clip_name TEXT NOT NULL,  -- basename as given by the browser, shown escaped
        session_date TEXT NOT NULL,
        source TEXT NOT NULL,  -- 'upload' | 'camera'
        options TEXT NOT NULL,  -- JSON: threshold_deg, view, blur_faces, annotated_video
        state TEXT NOT NULL,  -- 'queued' | 'running' | 'done' | 'failed'
        error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        pid INTEGER
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        session_date TEXT NOT NULL,
        created_at TEXT NOT NULL,
        clip_name TEXT NOT NULL,
        source TEXT NOT NULL,
        view TEXT NOT NULL,
        activity TEXT NOT NULL,
        threshold_deg REAL NOT NULL,
        sides TEXT NOT NULL,  -- JSON: summary.json's "sides"
        side_difference TEXT,
        warnings TEXT NOT NULL,  -- JSON list of strings
        gaitlab_version TEXT NOT NULL,
        annotated_video INTEGER NOT NULL
    );
    CREATE INDEX sessions_person ON sessions(person_id, session_date);
    """,
    # the job's pose track in the app's cache (DATA/tracks/<track_key>.npz), deleted with the job; '' until known
    "ALTER TABLE jobs ADD COLUMN track_key TEXT NOT NULL DEFAULT ''",
    # kept clips and editable sessions: whether the job keeps its clip (DATA/clips/<session id>/) once done; the
    # session's own note (the clinician's, e.g. "after 6 weeks of strengthening"); a job that re-analyses a
    # session's kept clip names that session in redo_of (NULL: a new clip), and goes with it
    """
    ALTER TABLE jobs ADD COLUMN keep_clip INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT '';
    ALTER TABLE jobs ADD COLUMN redo_of TEXT REFERENCES sessions(id) ON DELETE CASCADE;
    ALTER TABLE sessions ADD COLUMN note TEXT NOT NULL DEFAULT '';
    """,
    # editable people: the label a session's outputs carry (summary.json's subject), which a session without a kept
    # clip keeps after its person is renamed; until now nobody could be renamed, so it is the person's label
    """
    ALTER TABLE sessions ADD COLUMN report_label TEXT NOT NULL DEFAULT '';
    UPDATE sessions SET report_label = (SELECT label FROM people WHERE people.id = sessions.person_id);
    """,
)


def now() -> str:
    """The current time in UTC as ISO 8601 text to the second, e.g. 2025-03-14T09:26:53+00:00."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def connect(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """A connection for one request or one dispatcher step: commits on success, rolls back on error."""
    con = sqlite3.connect(data_dir / DB_NAME, timeout=30)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    try:
        with con:
            yield con
    finally:
        con.close()


def migrate(data_dir: Path) -> None:
    """Create or upgrade the database; refuse one written by a newer gaitlab rather than guess."""
    with connect(data_dir) as con:
        con.execute("PRAGMA journal_mode = WAL")
        version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise GaitlabError(f"the data folder {data_dir} was written by a newer gaitlab (schema {version}): "
                           "update gaitlab, or pass --data with another folder")
    for number, script in enumerate(MIGRATIONS[version:], version + 1):
        con = sqlite3.connect(data_dir / DB_NAME)
        try:  # executescript commits first, so the version bump goes in the same explicit transaction
            con.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        finally:
            con.close()


def meta_value(con: sqlite3.Connection, key: str, default: str) -> str:
    """A stored setting, written with `default` the first time it is asked for."""
    con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
    return con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]


def set_meta_value(con: sqlite3.Connection, key: str, value: str) -> None:
    """Store a setting."""
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


# ---- people ----------------------------------------------------------------------------------------

def _like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (escaped with a backslash)."""
    return re.sub(r"([\\%_])", r"\\\1", text)


def find_people(con: sqlite3.Connection, text: str) -> list[sqlite3.Row]:
    """People whose label or note contains `text` ('' = everyone; SQLite's LIKE ignores the case of ASCII
    letters), ordered by label, each with `n`, its number of sessions, and `last`, its latest session date
    (None without sessions)."""
    pattern = f"%{_like(text)}%"
    return con.execute(
        "SELECT p.*, COUNT(s.id) AS n, MAX(s.session_date) AS last FROM people p "
        "LEFT JOIN sessions s ON s.person_id = p.id WHERE p.label LIKE ? ESCAPE '\\' OR p.note LIKE ? "
        "ESCAPE '\\' GROUP BY p.id ORDER BY p.label COLLATE NOCASE",
        (pattern, pattern)).fetchall()


def add_person(con: sqlite3.Connection, label: str, note: str) -> int:
    """Add a person and return their id; sqlite3.IntegrityError when the label is taken (ignoring case)."""
    return con.execute("INSERT INTO people (label, note, created_at) VALUES (?, ?, ?)",
                       (label, note, now())).lastrowid


def person(con: sqlite3.Connection, person_id: int) -> sqlite3.Row | None:
    """A person's row (id, label, note, created_at), or None if there is no such person."""
    return con.execute("SELECT * FROM people WHERE id = ?", (person_id,)).fetchone()


def edit_person(con: sqlite3.Connection, person_id: int, label: str, note: str) -> None:
    """Correct a person's label and note in the database (their sessions' outputs keep what they were made with);
    sqlite3.IntegrityError when the label is another person's (ignoring case)."""
    con.execute("UPDATE people SET label = ?, note = ? WHERE id = ?", (label, note, person_id))


def delete_person(con: sqlite3.Connection, person_id: int) -> None:
    """Delete a person; their jobs and sessions go with them (ON DELETE CASCADE), their files do not."""
    con.execute("DELETE FROM people WHERE id = ?", (person_id,))


# ---- jobs ------------------------------------------------------------------------------------------

def add_job(con: sqlite3.Connection, job_id: str, person_id: int, clip_name: str, session_date: str,
            source: str, options: dict, *, keep_clip: bool = False, note: str = "", redo_of: str | None = None) -> None:
    """Queue a job.

    Parameters
    ----------
    job_id : the new job's id, also that of the session it will produce (unless it re-analyses one)
    person_id : whose clip it is; sqlite3.IntegrityError if there is no such person
    clip_name : the clip's basename as the browser gave it
    session_date : the day the clip was recorded, YYYY-MM-DD
    source : 'upload' or 'camera'
    options : the analysis settings: threshold_deg (degrees), view, blur_faces, annotated_video
    keep_clip : keep the clip in the data folder once analysed (for a later re-analysis)
    note : the session's note (the clinician's)
    redo_of : the session whose kept clip this job re-analyses, replacing its outputs if it succeeds (None: a
        new clip, in the job's upload folder); sqlite3.IntegrityError if there is no such session
    """
    con.execute("INSERT INTO jobs (id, person_id, clip_name, session_date, source, options, state, created_at, "
                "keep_clip, note, redo_of) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
                (job_id, person_id, clip_name, session_date, source, json.dumps(options), now(), int(keep_clip),
                 note, redo_of))


def job(con: sqlite3.Connection, job_id: str) -> sqlite3.Row | None:
    """A job's row, whatever its state, or None if there is no such job."""
    return con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


def job_options(row: sqlite3.Row) -> dict:
    """A job row's analysis settings, as given to add_job."""
    return json.loads(row["options"])


def unfinished_job(con: sqlite3.Connection, job_id: str) -> sqlite3.Row | None:
    """A job's row if it is queued, running or failed; None if it is done or there is no such job."""
    return con.execute("SELECT * FROM jobs WHERE id = ? AND state != 'done'", (job_id,)).fetchone()


def unfinished_jobs_of(con: sqlite3.Connection, person_id: int) -> list[sqlite3.Row]:
    """A person's queued, running and failed jobs, in queue order."""
    return con.execute("SELECT * FROM jobs WHERE person_id = ? AND state != 'done' ORDER BY rowid",
                       (person_id,)).fetchall()


def jobs_of(con: sqlite3.Connection, person_id: int) -> list[sqlite3.Row]:
    """The id and track_key of every job of a person, done or not: what their deletion leaves on disk."""
    return con.execute("SELECT id, track_key FROM jobs WHERE person_id = ?", (person_id,)).fetchall()


def jobs_ahead(con: sqlite3.Connection, job_id: str) -> int:
    """How many queued or running jobs were queued before this one (0 if there is no such job)."""
    return con.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND rowid < "
                       "(SELECT rowid FROM jobs WHERE id = ?)", (job_id,)).fetchone()[0]


def delete_job(con: sqlite3.Connection, job_id: str) -> None:
    """Delete a job; its session, if any, goes with it (ON DELETE CASCADE), its files do not."""
    con.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def next_queued(con: sqlite3.Connection, limit: int) -> list[sqlite3.Row]:
    """The first `limit` queued jobs, in queue order."""
    return con.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY rowid LIMIT ?", (limit,)).fetchall()


def queued_ids(con: sqlite3.Connection) -> set[str]:
    """The ids of all queued jobs."""
    return {r[0] for r in con.execute("SELECT id FROM jobs WHERE state = 'queued'")}


def running_job(con: sqlite3.Connection, job_id: str) -> sqlite3.Row | None:
    """A job's row if it is running; None if it is not, or there is no such job."""
    return con.execute("SELECT * FROM jobs WHERE id = ? AND state = 'running'", (job_id,)).fetchone()


def start_job(con: sqlite3.Connection, job_id: str, pid: int) -> None:
    """Mark a job running in the worker process `pid`."""
    con.execute("UPDATE jobs SET state = 'running', started_at = ?, pid = ? WHERE id = ?", (now(), pid, job_id))


def set_track_key(con: sqlite3.Connection, job_id: str, track_key: str) -> None:
    """Record the key of the job's pose track in the app's cache."""
    con.execute("UPDATE jobs SET track_key = ? WHERE id = ?", (track_key, job_id))


def end_job(con: sqlite3.Connection, job_id: str, state: str, error: str = "") -> None:
    """Mark a job ended: `state` 'done' or 'failed', with `error` the reason in plain words ('' when done)."""
    con.execute("UPDATE jobs SET state = ?, error = ?, finished_at = ?, pid = NULL WHERE id = ?",
                (state, error, now(), job_id))


def fail_orphans(con: sqlite3.Connection, error: str) -> None:
    """Fail every job marked running, with `error` as the reason: at start, those belong to a server that died."""
    con.execute("UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, pid = NULL WHERE state = 'running'",
                (error, now()))


def requeue(con: sqlite3.Connection, job_id: str) -> None:
    """Put a running job back in the queue, at its place (a job in any other state is left alone)."""
    con.execute("UPDATE jobs SET state = 'queued', started_at = NULL, pid = NULL WHERE id = ? AND state = 'running'",
                (job_id,))


# ---- sessions --------------------------------------------------------------------------------------

def add_session(con: sqlite3.Connection, job_row: sqlite3.Row, summary: dict) -> None:
    """Record the session a job produced, from the job's row and the summary.json of its output folder."""
    con.execute(
        "INSERT INTO sessions (id, person_id, session_date, created_at, clip_name, source, view, "
        "activity, threshold_deg, sides, side_difference, warnings, gaitlab_version, annotated_video, note, "
        "report_label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (job_row["id"], job_row["person_id"], job_row["session_date"], now(), job_row["clip_name"],
         job_row["source"], summary["view"], summary["activity"], summary["threshold_deg"],
         json.dumps(summary["sides"]), summary["side_difference"], json.dumps(summary["warnings"]),
         summary["gaitlab_version"], int(job_options(job_row)["annotated_video"]), job_row["note"],
         summary["subject"] or ""))


def replace_session(con: sqlite3.Connection, redo_row: sqlite3.Row, summary: dict) -> None:
    """Record what a re-analysis (a job with redo_of) produced: its session's results, date, note and the label its
    outputs carry, and the settings of the session's own job (what the session page says was chosen), from the
    re-analysis' row and the summary.json of its output folder."""
    sid = redo_row["redo_of"]
    con.execute(
        "UPDATE sessions SET session_date = ?, view = ?, activity = ?, threshold_deg = ?, sides = ?, "
        "side_difference = ?, warnings = ?, gaitlab_version = ?, note = ?, report_label = ? WHERE id = ?",
        (redo_row["session_date"], summary["view"], summary["activity"], summary["threshold_deg"],
         json.dumps(summary["sides"]), summary["side_difference"], json.dumps(summary["warnings"]),
         summary["gaitlab_version"], redo_row["note"], summary["subject"] or "", sid))
    con.execute("UPDATE jobs SET session_date = ?, options = ?, note = ? WHERE id = ?",
                (redo_row["session_date"], redo_row["options"], redo_row["note"], sid))


def edit_session_record(con: sqlite3.Connection, session_id: str, session_date: str, note: str) -> None:
    """Correct a session's date and note in the database only (its outputs keep what they were made with)."""
    con.execute("UPDATE sessions SET session_date = ?, note = ? WHERE id = ?", (session_date, note, session_id))
    con.execute("UPDATE jobs SET session_date = ?, note = ? WHERE id = ?", (session_date, note, session_id))


def redo_jobs_of(con: sqlite3.Connection, session_id: str) -> list[sqlite3.Row]:
    """The re-analyses of a session, in queue order, whatever their state."""
    return con.execute("SELECT * FROM jobs WHERE redo_of = ? ORDER BY rowid", (session_id,)).fetchall()


def session(con: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    """A session's row (sides and warnings still JSON text: see session_dict), or None if there is none."""
    return con.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()


def session_of(con: sqlite3.Connection, session_id: str, person_id: int) -> sqlite3.Row | None:
    """A session's row if it belongs to the person, else None."""
    return con.execute("SELECT * FROM sessions WHERE id = ? AND person_id = ?", (session_id, person_id)).fetchone()


def session_job(con: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    """The session's person_id with its job's id and track_key (what its deletion leaves on disk), or None."""
    return con.execute("SELECT s.person_id, j.id, j.track_key FROM sessions s JOIN jobs j ON j.id = s.id "
                       "WHERE s.id = ?", (session_id,)).fetchone()


def kept_clip_sessions(con: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every session (id, person_id, session_date, clip_name) with its person's label, by label then date: those
    whose clip may be kept in the data folder."""
    return con.execute("SELECT s.id, s.person_id, s.session_date, s.clip_name, p.label FROM sessions s "
                       "JOIN people p ON p.id = s.person_id ORDER BY p.label COLLATE NOCASE, s.session_date").fetchall()


def session_ids(con: sqlite3.Connection) -> set[str]:
    """The ids of all sessions."""
    return {r[0] for r in con.execute("SELECT id FROM sessions")}


def session_dict(row: sqlite3.Row) -> dict:
    """A session row as a dict, with sides and warnings decoded from JSON."""
    d = dict(row)
    d["sides"] = json.loads(d["sides"])
    d["warnings"] = json.loads(d["warnings"])
    return d


def person_sessions(con: sqlite3.Connection, person_id: int) -> list[dict]:
    """A person's sessions as dicts (see session_dict), oldest first: by session date, then by when analysed."""
    rows = con.execute("SELECT * FROM sessions WHERE person_id = ? ORDER BY session_date, created_at",
                       (person_id,)).fetchall()
    return [session_dict(r) for r in rows]
