"""The journal that makes a migration resumable: what it says (``Checkpoint``), one JSONL file that says it, and
the journal of a run that keeps none."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from wfkit._errors import WfkitError

Step = Literal["state", "starting", "started", "confirmed", "terminating", "terminated", "forwarding", "done",
               "archived", "skipped", "failed"]
"""One step of one workflow's migration, journaled before the next starts.

restart: ``state`` (what the copy starts from) → ``starting`` → ``started`` → ``confirmed`` (running on the
target) → ``terminating`` → ``terminated`` (the source) → ``forwarding`` (late signals) → ``done``; or
``skipped`` (the source finished by itself meanwhile). archive: ``archived``. Any strategy: ``failed``.
"""

Record = dict[str, Any]
"""What the journal knows of one workflow run (a workflow ID and the source run ID it had when it was migrated:
an ID reused for a new run on the source is a new record): ``steps`` (every step, in order), the fields of its
latest steps (``source_run_id``, ``target_run_id``, ``token``, ``mode``, ``state_time``, ``args``, ...),
``True`` under each step name reached since the latest ``state`` (``confirmed``, ``terminated``, ``done``,
...), and ``failed`` (the error) when its last attempt failed."""

_FLAG_STEPS = ("confirmed", "terminating", "terminated", "forwarding", "done", "archived", "skipped")
_ATTEMPT_KEYS = ("target_run_id", "confirmed", "terminating", "terminated", "forwarding", "done", "failed")


class Checkpoint(Protocol):
    """A migration's journal: each step of each workflow, written before the next step starts."""

    @property
    def location(self) -> str | None:
        """Where the journal is kept (None: nowhere — the run is not resumable)."""
        ...

    def workflow_ids(self) -> list[str]:
        """Every workflow the journal knows, in the order it first met them."""
        ...

    def get(self, workflow_id: str, source_run_id: str | None = None) -> Record:
        """What the journal knows of one workflow's source run (empty when nothing); without a run ID, of the
        latest run it met with that workflow ID."""
        ...

    def write(self, workflow_id: str, step: Step, **fields: Any) -> None:
        """Record that ``workflow_id`` reached ``step`` (with its fields) — durably, before returning. The step
        belongs to the source run ``fields["source_run_id"]``, or else to the latest run met with that ID."""
        ...

    def close(self) -> None:
        """Flush the journal to disk and release it."""
        ...


DEFAULT_CHECKPOINT = "auto"
"""``checkpoint="auto"`` (the default of ``MigrationPlan.run`` and of the CLIs): a journal of its own for each
migration (strategy, source, target, query) in wfkit's state directory, so that running the same migration
again resumes it and two different migrations never share a file (see ``default_checkpoint_path``)."""

_HEADER_KEYS = ("strategy", "source", "target", "query")


def state_dir() -> Path:
    """Where wfkit keeps migration journals: ``$WFKIT_STATE_DIR``, else ``$XDG_STATE_HOME/wfkit``, else
    ``~/.local/state/wfkit``."""
    if os.environ.get("WFKIT_STATE_DIR"):
        return Path(os.environ["WFKIT_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "wfkit"


def default_checkpoint_path(header: dict[str, Any]) -> Path:
    """The journal of one migration: ``<state dir>/migrations/<strategy>-<hash of source, target, query>.jsonl``."""
    key = json.dumps([header.get(k) for k in _HEADER_KEYS], default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return state_dir() / "migrations" / f"{header.get('strategy')}-{digest}.jsonl"


def open_checkpoint(path: str | os.PathLike[str] | None, header: dict[str, Any]) -> Checkpoint:
    """The journal at ``path`` (created, or reopened to resume; ``"auto"``: this migration's own file in the
    state directory), or no journal for None."""
    if path is None:
        return NullCheckpoint()
    if isinstance(path, str) and path == DEFAULT_CHECKPOINT:
        path = default_checkpoint_path(header)
    return JsonlCheckpoint(path, header)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class JsonlCheckpoint:
    """An append-only JSONL journal: a header line, then one line per step of each workflow, written (and
    flushed to the OS) before the next step starts. A torn last line (a crash mid-write) is ignored. Each line
    names its workflow (``wf``) and source run (``src``): records are kept per (workflow ID, source run ID).
    A journal written for another strategy, source, target or query is refused."""

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]):
        self.path = Path(path)
        self.records: dict[tuple[str, str | None], Record] = {}
        self._latest: dict[str, str | None] = {}
        existing_header = self._load()
        if existing_header is not None:
            for key in _HEADER_KEYS:
                if existing_header.get(key) != header.get(key):
                    raise WfkitError(
                        f"checkpoint {self.path} belongs to another migration ({key}: "
                        f"{existing_header.get(key)!r}, this plan: {header.get(key)!r}): give another file, "
                        "or the default checkpoint (one file per migration)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if self._torn:
            os.write(self._fd, b"\n")  # end the torn line, so that the next record starts a line of its own
        if existing_header is None:
            self._append({**header, "wfkit_migration": 1, "t": _now()})

    def _load(self) -> dict[str, Any] | None:
        """Read an existing journal into ``records``; its header, if any."""
        self._torn = False
        if not self.path.exists() or not self.path.stat().st_size:
            return None
        text = self.path.read_text(encoding="utf-8")
        self._torn = not text.endswith("\n")
        header = None
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # torn last line
            if "wfkit_migration" in rec:
                header = header or rec
                continue
            self._merge(rec)
        return header

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, dict[str, Record]]:
        """(header, the latest record of each workflow) of the journal at ``path``, read without opening it for
        writing (``{}`` when there is none yet)."""
        ck = cls.__new__(cls)
        ck.path, ck.records, ck._latest = Path(path), {}, {}
        header = ck._load()
        return header, {wid: ck.records.get((wid, run), {}) for wid, run in ck._latest.items()}

    @property
    def location(self) -> str:
        return str(self.path)

    def workflow_ids(self) -> list[str]:
        return list(self._latest)

    def _run_of(self, wid: str, rec: dict[str, Any]) -> str | None:
        for key in ("src", "source_run_id"):
            if isinstance(rec.get(key), str) and rec[key]:
                return rec[key]
        return self._latest.get(wid)

    def _merge(self, rec: dict[str, Any]) -> None:
        wid = rec.get("wf")
        if not isinstance(wid, str):
            return
        run = self._run_of(wid, rec)
        self._latest[wid] = run  # (a dict keeps the order in which workflows were first met)
        cur = self.records.setdefault((wid, run), {"steps": []})
        step = rec.get("step")
        cur["steps"].append(step)
        if step == "state":  # a fresh state starts a new attempt
            for k in _ATTEMPT_KEYS:
                cur.pop(k, None)
        cur.update({k: v for k, v in rec.items() if k not in ("wf", "step", "t", "src")})
        cur["updated"] = rec.get("t")  # when its latest step was journaled
        if run is not None:
            cur["source_run_id"] = run
        if step in _FLAG_STEPS:
            cur[step] = True
        if step == "failed":
            cur["failed"] = rec.get("error")

    def _append(self, rec: dict[str, Any]) -> None:
        line = json.dumps(rec, separators=(",", ":"), default=str) + "\n"
        os.write(self._fd, line.encode("utf-8"))  # one write on an O_APPEND descriptor: whole lines

    def write(self, workflow_id: str, step: Step, **fields: Any) -> None:
        rec = {"t": _now(), "wf": workflow_id, "src": self._run_of(workflow_id, fields), "step": step, **fields}
        self._append(rec)
        self._merge(rec)

    def get(self, workflow_id: str, source_run_id: str | None = None) -> Record:
        run = source_run_id if source_run_id is not None else self._latest.get(workflow_id)
        return self.records.get((workflow_id, run), {})

    def close(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError:
            pass
        os.close(self._fd)


class NullCheckpoint:
    """No journal (a dry run, or ``checkpoint=None``)."""

    @property
    def location(self) -> None:
        return None

    def workflow_ids(self) -> list[str]:
        return []

    def get(self, workflow_id: str, source_run_id: str | None = None) -> Record:
        return {}

    def write(self, workflow_id: str, step: Step, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass
