"""The catalog of a batch folder (catalog.sqlite): which clips were analysed, by which gaitlab and with which
settings, so that a batch can be run again, or resumed after an interruption, and analyses only what is left.

A clip is known by its content (sha256 of the file), not its path: a clip moved or renamed in the archive is
still recognised. An entry is one (content, gaitlab version, settings, output folder name) with its status:
"running" (claimed by a batch run and not yet finished: a run that was killed leaves it so, and the next run
takes it up again), "done" or "failed", its attempts, and the last error and its kind ("input": the clip or
the settings; "internal": a crash, a killed worker, a bug). Hashes are kept per (path, size, modification
time) so a re-run does not read every clip again.

Only the process coordinating a batch writes the catalog (workers never do: SQLite's locking is not to be
trusted on network file systems); two batches into one folder at once are serialised by SQLite's lock.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

CATALOG_NAME = "catalog.sqlite"
MAX_ATTEMPTS = 3  # a clip failing on an internal error (or a killed worker) is tried at most this often in all
_CHUNK = 1 << 20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    sha256 TEXT NOT NULL,
    gaitlab_version TEXT NOT NULL,
    settings TEXT NOT NULL,
    folder TEXT NOT NULL,
    clip TEXT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_kind TEXT,
    worker TEXT,
    seconds REAL,
    started_at REAL,
    finished_at REAL,
    PRIMARY KEY (sha256, gaitlab_version, settings, folder)
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def settings_key(settings: dict) -> str:
    """The settings as the catalog keeps them: canonical JSON (sorted keys)."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ClipKey:
    """What identifies an analysis in the catalog."""

    sha256: str
    gaitlab_version: str
    settings: str  # settings_key()
    folder: str  # the output folder's name in the batch folder

    def params(self) -> tuple[str, str, str, str]:
        """The key's values in the table's primary-key order."""
        return self.sha256, self.gaitlab_version, self.settings, self.folder


class Catalog:
    """catalog.sqlite in a batch folder (module docstring); use as a context manager, or close()."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / CATALOG_NAME
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def content_hash(self, path: Path) -> str:
        """The clip's sha256, from the kept hashes if its size and modification time are unchanged, else read
        (and kept). Raises OSError for a file that cannot be read."""
        st = os.stat(path)
        key = os.path.abspath(path)
        row = self._db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (key,)).fetchone()
        if row and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
            return row["sha256"]
        sha = file_sha256(path)
        self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (key, st.st_size, st.st_mtime_ns, sha))
        return sha

    def entry(self, key: ClipKey) -> dict | None:
        """The clip's entry (every column), or None."""
        row = self._db.execute("SELECT * FROM clips WHERE sha256 = ? AND gaitlab_version = ? AND settings = ? "
                               "AND folder = ?", key.params()).fetchone()
        return dict(row) if row else None

    def claim(self, key: ClipKey, clip: str, path: Path) -> int:
        """Mark the clip running for this batch run, one attempt more; returns its attempts so far."""
        self._db.execute(
            "INSERT INTO clips (sha256, gaitlab_version, settings, folder, clip, path, status, attempts, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?) ON CONFLICT (sha256, gaitlab_version, settings, folder) DO UPDATE SET status = 'running', "
            "attempts = attempts + 1, clip = excluded.clip, path = excluded.path, started_at = excluded.started_at, "
            "error = NULL, error_kind = NULL, finished_at = NULL",
            (*key.params(), clip, os.path.abspath(path), time.time()))
        return self.entry(key)["attempts"]

    def finish(self, key: ClipKey, ok: bool, error: str = "", kind: str = "", seconds: float | None = None,
               worker: str = "") -> None:
        """Record how the clip's attempt ended: done, or failed with its error and kind ("input"/"internal")."""
        self._db.execute(
            "UPDATE clips SET status = ?, error = ?, error_kind = ?, seconds = ?, worker = ?, finished_at = ? "
            "WHERE sha256 = ? AND gaitlab_version = ? AND settings = ? AND folder = ?",
            ("done" if ok else "failed", error or None, kind or None, seconds, worker or None, time.time(),
             *key.params()))

    def counts(self) -> dict[str, int]:
        """Entries per status."""
        return {r["status"]: r["n"] for r in self._db.execute("SELECT status, count(*) AS n FROM clips GROUP BY status")}

    def entries(self) -> list[dict]:
        """Every entry, oldest first."""
        return [dict(r) for r in self._db.execute("SELECT * FROM clips ORDER BY started_at")]
