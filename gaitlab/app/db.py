"""The app's SQLite database: people, sessions (finished analyses) and jobs (queued, running, failed, done).

One file in the data folder, WAL mode so the server's request threads and the job dispatcher can read while
one of them writes. The schema version is SQLite's `user_version`; MIGRATIONS[i] brings version i to i + 1.
Per-side results and warnings are stored as JSON text: the same dicts as summary.json.
"""
from __future__ import annotations

import json
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
)


def now() -> str:
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


def session_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["sides"] = json.loads(d["sides"])
    d["warnings"] = json.loads(d["warnings"])
    return d


def person_sessions(con: sqlite3.Connection, person_id: int) -> list[dict]:
    rows = con.execute("SELECT * FROM sessions WHERE person_id = ? ORDER BY session_date, created_at",
                       (person_id,)).fetchall()
    return [session_dict(r) for r in rows]
