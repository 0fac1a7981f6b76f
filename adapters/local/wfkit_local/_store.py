"""The local engine's state in a SQLite file (``local:///path/to/state.db``): every run and every event, written
as they happen, read back when a process opens the file again (a notebook kernel restarted); a worker then
resumes the open runs by replaying their histories."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import wfkit.engine as wfe

if TYPE_CHECKING:
    from ._server import Run

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (run_id TEXT NOT NULL, event_id INTEGER NOT NULL, event TEXT NOT NULL,
                                   PRIMARY KEY (run_id, event_id));
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_seconds REAL NOT NULL);
"""

_TIMES = ("start_time", "close_time", "task_since", "first_start")
_DURATIONS = ("execution_timeout", "run_timeout", "task_timeout")
_FIELDS = ("namespace", "workflow_id", "run_id", "workflow_type", "task_queue", "status", "memo",
           "search_attributes", "parent", "next_run_id", "cron_schedule", "first_task_done", "retry_policy", "attempt",
           *_TIMES, *_DURATIONS)


def _lock(path: str) -> Any:
    """Hold ``<path>.lock`` for the life of the process: one process at a time runs a state file's workflows
    (two would both resume them and write diverging histories)."""
    import fcntl
    import os

    try:
        f = open(path + ".lock", "a+")  # noqa: SIM115 - held open until the process ends
    except OSError as exc:
        raise wfe.ConnectionFailed(f"local engine state file {path}: cannot create its lock file: "
                                   f"{exc.strerror}") from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise wfe.ConnectionFailed(f"local engine state file {path} is in use by {holder}: one process at a time "
                                   "runs a state file's workflows") from None
    f.seek(0)
    f.truncate()
    f.write(f"process {os.getpid()}")
    f.flush()
    return f


class Store:
    """One SQLite file; autocommit, one connection guarded by a lock (activities may run in threads)."""

    def __init__(self, path: str):
        self.path = path
        self._lockfile = _lock(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise wfe.ConnectionFailed(f"local engine state file {path}: {exc}") from None
        self._lock = threading.Lock()
        self._seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM runs").fetchone()[0]

    def save_run(self, run: Run) -> None:
        meta: dict[str, Any] = {}
        for name in _FIELDS:
            v = getattr(run, name)
            if name in _TIMES:
                v = v.isoformat() if v is not None else None
            elif name in _DURATIONS:
                v = v.total_seconds() if v is not None else None
            meta[name] = v
        with self._lock:
            row = self._db.execute("SELECT seq FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
            if row is None:
                self._seq += 1
                seq = self._seq
            else:
                seq = row[0]
            self._db.execute("INSERT OR REPLACE INTO runs (run_id, seq, meta) VALUES (?, ?, ?)",
                             (run.run_id, seq, json.dumps(meta)))

    def add_event(self, run_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO events (run_id, event_id, event) VALUES (?, ?, ?)",
                             (run_id, int(event["eventId"]), json.dumps(event)))

    def replace_events(self, run_id: str, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
            self._db.executemany("INSERT INTO events (run_id, event_id, event) VALUES (?, ?, ?)",
                                 [(run_id, int(e["eventId"]), json.dumps(e)) for e in events])

    def add_namespace(self, name: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO namespaces (name) VALUES (?)", (name,))

    def namespaces(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT name FROM namespaces")}

    def load(self) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Every run's fields and events, in the order the runs were created."""
        out = []
        with self._lock:
            rows = self._db.execute("SELECT run_id, meta FROM runs ORDER BY seq").fetchall()
            for run_id, meta in rows:
                events = [json.loads(e) for (e,) in self._db.execute(
                    "SELECT event FROM events WHERE run_id = ? ORDER BY event_id", (run_id,))]
                fields = json.loads(meta)
                for name in _TIMES:
                    if fields.get(name):
                        fields[name] = datetime.fromisoformat(fields[name])
                for name in _DURATIONS:
                    if fields.get(name) is not None:
                        fields[name] = timedelta(seconds=fields[name])
                if fields.get("parent") is not None:
                    fields["parent"] = tuple(fields["parent"])
                out.append((fields, events))
        return out

    def save_offset(self, offset: float) -> None:
        """How far a skipping clock is ahead of real time (event times never go back after a restart)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO clock (id, offset_seconds) VALUES (1, ?)", (offset,))

    def offset(self) -> float:
        with self._lock:
            row = self._db.execute("SELECT offset_seconds FROM clock WHERE id = 1").fetchone()
        return float(row[0]) if row else 0.0

    def close(self) -> None:
        with self._lock:
            self._db.close()
