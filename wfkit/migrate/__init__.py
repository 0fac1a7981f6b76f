"""Move workflows between engines (Cadence ⇄ Temporal, or between namespaces of one engine).

::

    plan = await wfkit.migrate.plan(cadence, temporal, query="WorkflowType='OrderWorkflow'", strategy="restart")
    plan.preview                      # what would happen to each workflow, and why
    report = await plan.run(batch_size=50, checkpoint="migration.jsonl")
    report.stats, report.frame

Strategies:

``restart`` (open workflows)
    Each running workflow is started again on the target, with the same workflow ID, type and task queue (and
    memo and tags), from its state: what its ``@wfkit.migration_state`` method returns, asked through the query
    ``__wfkit_migration_state`` that every wfkit worker answers for such workflows. A workflow without one can
    only restart from its original input (read from the source history's first event), which runs its completed
    activities again: that needs ``allow_reexecution=True``, and the preview's ``reexecutes`` column names them.
    The copy on the target is confirmed running before the source is terminated (with a reason naming the
    target), then the signals that reached the source after the state was taken are sent to the copy, in order.
    Every step is appended to a JSONL checkpoint before the next one starts, and the copy's memo records where
    it came from, so running the same plan again (after a crash, a server restart, a kernel dying) finishes the
    job: nothing is started twice, and nothing is terminated on the source without a running copy.
``drain``
    Nothing moves: new starts go to the target through ``plan.router`` (a ``wfkit.Router`` that still finds
    old workflows on the source), and each ``run()`` reports what is still open on the source, until nothing is.
``archive`` (closed workflows)
    Each closed workflow's history is written to ``archive_dir`` twice: in the target engine's native JSON
    (``<target engine>/``) and in wfkit's portable JSON (``wfkit/``), with a ``manifest.json`` listing files,
    event counts and checksums; every file is read back and its event count checked.

Blocking twins: ``wfkit.migrate.sync.plan(...)``, ``wfkit.migrate.sync.readiness(...)``, ``plan.sync.run(...)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfkit._client import Client
from wfkit._converter import json_values
from wfkit._definitions import MIGRATION_STATE_QUERY, WorkflowDefn, workflow_defn
from wfkit._errors import QueryFailed, WfkitError, WorkflowAlreadyStarted, WorkflowNotFound
from wfkit._execution import Execution
from wfkit._loop import SyncProxy, on_loop, run_sync
from wfkit._router import MIGRATION_REASON_PREFIX, MIGRATION_SOURCE_FINISHED, Router

__all__ = [
    "MIGRATION_MEMO_KEY",
    "PREVIEW_COLUMNS",
    "READINESS_COLUMNS",
    "REPORT_COLUMNS",
    "STRATEGIES",
    "MigrationPlan",
    "MigrationReport",
    "MigrationStats",
    "plan",
    "readiness",
    "sync",
]

STRATEGIES = ("restart", "drain", "archive")

MIGRATION_MEMO_KEY = "wfkit.migration"
"""Memo key of a workflow that ``restart`` started on the target: where it came from (engine, address,
namespace, source run ID), the token of the checkpointed state it started from, the restart mode and the
workflow time of that state. A rerun recognises its own copies by it."""

PREVIEW_COLUMNS = ("workflow_id", "status", "action", "reexecutes", "reason", "workflow_type", "run_id",
                   "task_queue")
REPORT_COLUMNS = ("workflow_id", "workflow_type", "action", "status", "outcome", "error", "source_run_id",
                  "target_run_id", "signals_forwarded", "started_at", "finished_at", "state_seconds",
                  "start_seconds", "terminate_seconds", "forward_seconds", "duration")
READINESS_COLUMNS = ("workflow_type", "workflows", "open", "closed", "signals", "timers", "versions",
                     "child_workflows", "continue_as_new", "search_attributes", "side_effects", "reexecutes",
                     "migration_state", "blockers", "notes", "ready")

_WF_TASK_EVENTS = ("WorkflowTaskStarted", "WorkflowTaskCompleted")
_SYSTEM_SEARCH_ATTRIBUTES = {"CadenceChangeVersion", "TemporalChangeVersion", "BuildIds"}
_VERSION_MARKERS = {"Version", "core_patch"}
_SIDE_EFFECT_MARKERS = {"SideEffect", "MutableSideEffect", "core_local_activity", "LocalActivity"}


@dataclasses.dataclass
class MigrationStats:
    """Counts of a migration run (``report.stats``)."""

    total: int = 0
    """Workflows the run looked at."""
    successful: int = 0
    """Migrated (restart), archived (archive), finished on the source (drain) — or, in a dry run, would be."""
    failed: int = 0
    """Could not be migrated; ``report.frame.error`` says why (a rerun tries them again)."""
    skipped: int = 0
    """Nothing to do: already on the target, closed, blocked by the plan, or finished during the run."""
    pending: int = 0
    """drain: still open on the source."""


@dataclasses.dataclass
class _Item:
    workflow_id: str
    run_id: str | None
    workflow_type: str
    status: str
    task_queue: str | None
    action: str
    reexecutes: list[str]
    reason: str
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)
    tags: tuple[str, ...] = ()


# --- history helpers --------------------------------------------------------------------------------------------

def _event_args(history: Any, index: int, field: str = "input") -> list[Any]:
    """The argument list of one event's payload field (workflow input, signal input), exactly as sent."""
    from wfkit.history._payload import Opaque, _temporal_payload_json, b64

    attrs = history._store.native_attrs(index)
    value = attrs.get(field)
    if value is None or value == "":
        return []
    if history.engine == "temporal":
        payloads = (value.get("payloads") or []) if isinstance(value, dict) else []
        out = [_temporal_payload_json(p) for p in payloads]
    else:
        try:
            out = json_values(b64(value)) if isinstance(value, str) else []
        except (ValueError, UnicodeDecodeError) as exc:
            raise WfkitError(f"event {index} of {history.workflow_id!r}: {field} is not JSON ({exc}): wfkit can "
                             "only move JSON payloads") from None
    bad = [v for v in out if isinstance(v, Opaque)]
    if bad:
        raise WfkitError(f"event {index} of {history.workflow_id!r}: {field} is {bad[0]}: wfkit can only move "
                         "JSON payloads (a custom codec must decode them first)")
    return out


def _completed_activity_types(history: Any) -> list[str]:
    acts = history.activities()
    done = acts[acts["status"] == "completed"]["activity_type"]
    seen: list[str] = []
    for t in done:
        if isinstance(t, str) and t not in seen:
            seen.append(t)
    return seen


def _state_point(frame: Any, state_time: str | None) -> int:
    """Event ID up to which the state taken at workflow time ``state_time`` reflects the history (``frame`` is
    ``History.to_dataframe()``).

    A workflow task's time is its WorkflowTaskStarted event's (Temporal) or its DecisionTaskCompleted event's
    (Cadence): the state reflects every event before the last such event at or before that time; events
    after it (signals that arrived later) did not reach the state.
    """
    if not state_time:
        return 0
    import pandas as pd

    t = pd.Timestamp(state_time)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    wft = frame[frame["event_type"].isin(_WF_TASK_EVENTS)]
    hit = wft[wft["time"].dt.floor("us") <= t.floor("us")]
    return int(hit["event_id"].max()) if len(hit) else 0


def _signals_after(history: Any, frame: Any, point: int) -> list[tuple[int, str, list[Any]]]:
    """(event_id, signal name, args) of every signal recorded after event ``point``, in order."""
    mask = (frame["event_type"] == "WorkflowExecutionSignaled") & (frame["event_id"] > point)
    return [(int(frame.at[i, "event_id"]), str(frame.at[i, "signal_name"]), _event_args(history, int(i)))
            for i in frame.index[mask]]


def _terminate_reason(frame: Any) -> str | None:
    if not len(frame) or frame["event_type"].iloc[-1] != "WorkflowExecutionTerminated":
        return None
    attrs = frame["attributes"].iloc[-1]
    reason = attrs.get("reason") if isinstance(attrs, dict) else None
    return reason if isinstance(reason, str) else None


class _Clock:
    """Seconds spent in each step of one workflow's migration, into its report row."""

    def __init__(self, row: dict[str, Any]):
        self.row = row
        self.t = time.monotonic()

    def lap(self, column: str) -> None:
        now = time.monotonic()
        self.row[column] = now - self.t
        self.t = now


def _where(client: Any) -> dict[str, str]:
    return {"engine": client.engine, "address": client.address, "namespace": client.namespace}


def _now() -> datetime:
    return datetime.now(UTC)


# --- checkpoint -------------------------------------------------------------------------------------------------

class _Checkpoint:
    """An append-only JSONL journal: a header line, then one line per step of each workflow, written (and
    flushed to the OS) before the next step starts. A torn last line (a crash mid-write) is ignored."""

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]):
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        existing_header = None
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # torn last line
                if "wfkit_migration" in rec:
                    existing_header = existing_header or rec
                    continue
                self._merge(rec)
        if existing_header is not None:
            for key in ("strategy", "source", "target"):
                if existing_header.get(key) != header.get(key):
                    raise WfkitError(
                        f"checkpoint {self.path} belongs to another migration ({key}: "
                        f"{existing_header.get(key)!r}, this plan: {header.get(key)!r}): give another file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if existing_header is None:
            self._append({**header, "wfkit_migration": 1, "t": _now().isoformat()})

    def _merge(self, rec: dict[str, Any]) -> None:
        wid = rec.get("wf")
        if not isinstance(wid, str):
            return
        cur = self.records.get(wid)
        if cur is None:
            cur = self.records[wid] = {"steps": []}
            self.order.append(wid)
        step = rec.get("step")
        cur["steps"].append(step)
        if step == "state":  # a fresh state starts a new attempt
            for k in ("target_run_id", "confirmed", "terminating", "terminated", "forwarding", "done", "failed"):
                cur.pop(k, None)
        cur.update({k: v for k, v in rec.items() if k not in ("wf", "step", "t")})
        if step in ("confirmed", "terminating", "terminated", "forwarding", "done", "archived", "skipped"):
            cur[step] = True
        if step == "failed":
            cur["failed"] = rec.get("error")

    def _append(self, rec: dict[str, Any]) -> None:
        line = json.dumps(rec, separators=(",", ":"), default=str) + "\n"
        os.write(self._fd, line.encode("utf-8"))  # one write on an O_APPEND descriptor: whole lines

    def write(self, wid: str, step: str, **fields: Any) -> None:
        rec = {"t": _now().isoformat(), "wf": wid, "step": step, **fields}
        self._append(rec)
        self._merge(rec)

    def get(self, wid: str) -> dict[str, Any]:
        return self.records.get(wid, {})

    def close(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError:
            pass
        os.close(self._fd)


class _NullCheckpoint:
    """No journal (a dry run, or ``checkpoint=None``)."""

    def __init__(self) -> None:
        self.records: dict[str, Any] = {}
        self.order: list[str] = []

    def write(self, wid: str, step: str, **fields: Any) -> None:
        pass

    def get(self, wid: str) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


# --- the plan ---------------------------------------------------------------------------------------------------

async def plan(source: Client, target: Client, query: str | None = None, strategy: str = "restart",
               allow_reexecution: bool = False, workflows: Sequence[type] | None = None,
               task_queue: str | None = None, archive_dir: str | os.PathLike[str] | None = None, *,
               concurrency: int = 16) -> MigrationPlan:
    """Look at the source's workflows matching ``query`` and decide what ``strategy`` would do to each.

    Args:
        source, target: clients (any engines, either direction).
        query: which workflows (SPEC's list-query subset), e.g. ``"WorkflowType='OrderWorkflow'"``; restart and
            drain take the running ones among them, archive the closed ones.
        strategy: ``"restart"``, ``"drain"`` or ``"archive"`` (see the module docs).
        allow_reexecution: restart: let a workflow without ``@wfkit.migration_state`` restart from its original
            input, which runs its completed activities again (the preview's ``reexecutes`` names them).
        workflows: the ``@wfkit.workflow`` classes, to tell which have a migration state without asking the
            source's workers (types not given are asked through the ``__wfkit_migration_state`` query).
        task_queue: restart: the task queue on the target (default: each workflow's own).
        archive_dir: archive: where the files go (default ``wfkit-archive-<source engine>-<time>``).
        concurrency: how many source/target calls the planning makes at once.

    Returns:
        A ``MigrationPlan``: ``plan.preview`` (a DataFrame: workflow_id, status, action, reexecutes, reason, …)
        and ``await plan.run(...)``.
    """
    if strategy not in STRATEGIES:
        raise WfkitError(f"strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if source is target:
        raise WfkitError("source and target are the same client")
    if concurrency < 1:
        raise WfkitError(f"concurrency must be >= 1, got {concurrency}")
    defns: dict[str, WorkflowDefn] = {}
    for w in workflows or ():
        d = workflow_defn(w)
        defns[d.name] = d
    p = MigrationPlan(source, target, query=query, strategy=strategy, allow_reexecution=allow_reexecution,
                      definitions=defns, task_queue=task_queue, archive_dir=archive_dir, concurrency=concurrency)
    await on_loop(p._build())
    return p


def _and(base: str, query: str | None) -> str:
    return f"{base} AND ({query})" if query and query.strip() else base


class MigrationPlan:
    """What a migration would do to each workflow (``preview``) and ``run()`` to do it. Made by ``plan()``."""

    def __init__(self, source: Client, target: Client, *, query: str | None, strategy: str,
                 allow_reexecution: bool, definitions: dict[str, WorkflowDefn], task_queue: str | None,
                 archive_dir: str | os.PathLike[str] | None, concurrency: int):
        self.source = source
        self.target = target
        self.query = query
        self.strategy = strategy
        self.allow_reexecution = allow_reexecution
        self.definitions = definitions
        self.task_queue = task_queue
        self.archive_dir = Path(archive_dir) if archive_dir is not None else None
        self.concurrency = concurrency
        self.created = _now()
        self.items: list[_Item] = []
        self._probes: dict[str, asyncio.Future[str]] = {}
        self._hooks: dict[str, Any] = {}  # step -> callable(workflow_id): fault injection in tests/benchmarks
        self.router: Router | None = None
        """drain: routes new starts to the target and finds old workflows on the source."""
        if strategy == "drain":
            self.router = Router({"source": source, "target": target}, default="target")
        self.sync = SyncProxy(self)

    async def _hook(self, step: str, workflow_id: str) -> None:
        fn = self._hooks.get(step)
        if fn is not None:
            result = fn(workflow_id)
            if asyncio.iscoroutine(result):
                await result

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for it in self.items:
            counts[it.action] = counts.get(it.action, 0) + 1
        what = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "nothing to do"
        return (f"<wfkit.MigrationPlan {self.strategy} {self.source.engine}@{self.source.address} -> "
                f"{self.target.engine}@{self.target.address}: {len(self.items)} workflows ({what})>")

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self))
        return f"<p><b>{head}</b></p>" + self.preview.to_html(max_rows=50, escape=True)

    @property
    def preview(self) -> Any:
        """One row per workflow: ``workflow_id, status`` (on the source), ``action`` (restart,
        restart_from_input, resume, archive, wait, skip, blocked), ``reexecutes`` (activity types that would
        run again), ``reason``, and ``workflow_type, run_id, task_queue``."""
        import pandas as pd

        rows = [{"workflow_id": it.workflow_id, "status": it.status, "action": it.action,
                 "reexecutes": list(it.reexecutes), "reason": it.reason, "workflow_type": it.workflow_type,
                 "run_id": it.run_id, "task_queue": it.task_queue} for it in self.items]
        return pd.DataFrame(rows, columns=list(PREVIEW_COLUMNS))

    # --- building ----------------------------------------------------------------------------------------
    async def _gather(self, fn: Any, items: Iterable[Any]) -> list[Any]:
        sem = asyncio.Semaphore(self.concurrency)

        async def one(x: Any) -> Any:
            async with sem:
                return await fn(x)

        return list(await asyncio.gather(*(one(x) for x in items)))

    async def _build(self) -> None:
        if self.strategy == "archive":
            execs = [e for e in await self.source.list(self.query, limit=None) if e.status != "running"]
            self.items = [_Item(e.workflow_id, e.run_id, e.workflow_type, e.status, e.task_queue, "archive", [],
                                f"closed ({e.status}): history written as {self.target.engine} and wfkit JSON",
                                dict(e.memo), tuple(e.tags)) for e in execs]
            return
        execs = list(await self.source.list(_and("ExecutionStatus='Running'", self.query), limit=None))
        if self.strategy == "drain":
            self.items = [_Item(e.workflow_id, e.run_id, e.workflow_type, e.status, e.task_queue, "wait", [],
                                "open on the source: it finishes there; new starts go to the target",
                                dict(e.memo), tuple(e.tags)) for e in execs]
            return
        self.items = list(await self._gather(self._plan_restart, execs))

    async def _probe(self, workflow_type: str, example: Execution | None) -> str:
        """``"state"`` when workflows of this type answer the migration-state query, ``"no_state"`` when they
        have no ``@wfkit.migration_state``, ``"no_answer"`` when no worker answered (asked once per type)."""
        defn = self.definitions.get(workflow_type)
        if defn is not None and defn.migration_state is None:
            return "no_state"
        if example is None:
            return await self._probes[workflow_type] if workflow_type in self._probes else "no_answer"
        if workflow_type not in self._probes:  # one question per type, however many ask at once
            self._probes[workflow_type] = asyncio.ensure_future(self._ask_state(example))
        answer = await self._probes[workflow_type]
        if answer == "gone":  # that one closed meanwhile: ask another
            self._probes.pop(workflow_type, None)
            answer = await self._ask_state(example)
            if answer != "gone":
                self._probes[workflow_type] = asyncio.ensure_future(asyncio.sleep(0, answer))
        return "no_answer" if answer == "gone" else answer

    async def _ask_state(self, example: Execution) -> str:
        try:
            await self.source.handle(example.workflow_id, example.run_id).query(MIGRATION_STATE_QUERY, timeout=5)
            return "state"
        except QueryFailed as exc:
            text = str(exc)
            return "no_state" if ("Unknown query type" in text or "not found" in text) else "no_answer"
        except WorkflowNotFound:
            return "gone"

    async def _twin(self, workflow_id: str, source_run_id: str | None) -> tuple[Execution | None, str | None]:
        """(the target's latest execution of this ID, "ours"/"other"/None)."""
        try:
            ex = await self.target.handle(workflow_id).describe()
        except WorkflowNotFound:
            return None, None
        mark = ex.memo.get(MIGRATION_MEMO_KEY) if isinstance(ex.memo, dict) else None
        ours = isinstance(mark, dict) and mark.get("source_run_id") == source_run_id and \
            mark.get("source", {}).get("engine") == self.source.engine
        return ex, ("ours" if ours else "other")

    async def _plan_restart(self, e: Execution) -> _Item:
        task_queue = e.task_queue
        memo, tags = dict(e.memo), tuple(e.tags)
        if task_queue is None:  # basic visibility listings do not say
            try:
                d = await self.source.handle(e.workflow_id, e.run_id).describe()
                task_queue, memo, tags = d.task_queue, dict(d.memo), tuple(d.tags)
            except WorkflowNotFound:
                pass
        item = _Item(e.workflow_id, e.run_id, e.workflow_type, e.status, task_queue, "restart", [], "", memo, tags)
        twin, whose = await self._twin(e.workflow_id, e.run_id)
        if whose == "ours":
            assert twin is not None
            item.action = "resume"
            item.reason = (f"an earlier run restarted it on {self.target.engine} (run {twin.run_id}, "
                           f"{twin.status}): terminate the source and forward late signals")
            return item
        if whose == "other" and twin is not None and twin.status == "running":
            item.action = "blocked"
            item.reason = (f"workflow ID already running on {self.target.engine} (run {twin.run_id}), "
                           "not started by wfkit migrate")
            return item
        probe = await self._probe(e.workflow_type, e)
        if probe == "state":
            item.reason = "from its @wfkit.migration_state"
            return item
        try:
            history = await self.source.handle(e.workflow_id, e.run_id).history()
            item.reexecutes = _completed_activity_types(history)
            _event_args(history, 0)
        except WfkitError as exc:
            item.action, item.reason = "blocked", f"cannot read its input from the source history: {exc}"
            return item
        why = ("no @wfkit.migration_state" if probe == "no_state" else
               "no worker answered the migration-state query")
        again = (f": restarting from its original input runs {', '.join(item.reexecutes)} again"
                 if item.reexecutes else ": restarting from its original input (no activity completed yet)")
        if self.allow_reexecution:
            item.action, item.reason = "restart_from_input", why + again + "; all its signals are forwarded"
        else:
            item.action = "blocked"
            item.reason = why + again + "; pass allow_reexecution=True to accept that"
        return item

    # --- running -----------------------------------------------------------------------------------------
    async def run(self, batch_size: int = 50, checkpoint: str | os.PathLike[str] | None = "migration.jsonl",
                  dry_run: bool = False, progress: bool = True, *,
                  timeout: float | None = 120.0) -> MigrationReport:
        """Carry the plan out (or, with ``dry_run``, check each step that only reads, and change nothing).

        Args:
            batch_size: how many workflows are migrated at once.
            checkpoint: the JSONL journal that makes the run resumable (None: no journal — not crash-safe).
                Run the same plan again with the same file to finish an interrupted migration.
            dry_run: ask the source for each state (restart) or read each history (archive), write nothing.
            progress: show a ``tqdm`` progress bar.
            timeout: seconds one workflow's migration may take (a server that does not answer, say); past it
                the workflow is reported failed and the run goes on — running the plan again resumes it from the
                checkpoint. None: wait as long as it takes.

        Returns:
            A ``MigrationReport``: ``stats`` (total, successful, failed, skipped, pending) and ``frame``.
        """
        if batch_size < 1:
            raise WfkitError(f"batch_size must be >= 1, got {batch_size}")
        if timeout is not None and timeout <= 0:
            raise WfkitError(f"timeout must be > 0 seconds or None, got {timeout}")
        return await on_loop(self._run(batch_size, checkpoint, dry_run, progress, timeout))

    def _header(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "source": self.source.url, "target": self.target.url,
                "query": self.query}

    async def _run(self, batch_size: int, checkpoint: Any, dry_run: bool, progress: bool,
                   timeout: float | None) -> MigrationReport:
        ck: Any = _NullCheckpoint() if (dry_run or checkpoint is None) else _Checkpoint(checkpoint, self._header())
        started = time.monotonic()
        try:
            if self.strategy == "drain":
                rows = await self._run_drain()
            else:
                items = list(self.items)
                if self.strategy == "restart":
                    known = {it.workflow_id for it in items}
                    for wid in ck.order:  # in the checkpoint: finish (or report) them even if the source
                        rec = ck.get(wid)  # no longer lists them as running
                        if wid not in known and rec.get("source_run_id"):
                            items.append(_Item(wid, rec.get("source_run_id"), rec.get("workflow_type", ""),
                                               "unknown", rec.get("task_queue"), "resume", [],
                                               "in the checkpoint of an earlier run"))
                one = self._restart_one if self.strategy == "restart" else self._archive_one
                if self.strategy == "archive":
                    self._archive_root(create=not dry_run)
                rows = await self._run_items(items, one, ck, batch_size, dry_run, progress, timeout)
                if self.strategy == "archive" and not dry_run:
                    self._write_manifest(rows)
        finally:
            ck.close()
        return MigrationReport(self, rows, dry_run=dry_run, elapsed=time.monotonic() - started,
                               checkpoint=None if isinstance(ck, _NullCheckpoint) else str(ck.path))

    async def _run_items(self, items: list[_Item], one: Any, ck: Any, batch_size: int, dry_run: bool,
                         progress: bool, timeout: float | None) -> list[dict[str, Any]]:
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc=f"{self.strategy} {self.source.engine}→{self.target.engine}",
                       unit="wf")
        counts = {"successful": 0, "failed": 0, "skipped": 0}
        sem = asyncio.Semaphore(batch_size)

        async def guarded(it: _Item) -> dict[str, Any]:
            async with sem:
                row = {"workflow_id": it.workflow_id, "workflow_type": it.workflow_type, "action": it.action,
                       "status": "failed", "outcome": "", "error": None, "source_run_id": it.run_id,
                       "target_run_id": None, "signals_forwarded": 0, "started_at": _now(), "finished_at": None}
                try:
                    await asyncio.wait_for(one(it, ck, dry_run, row), timeout)
                except Exception as exc:  # noqa: BLE001 - one workflow's failure is its row, not the run's end
                    row["status"] = "failed"
                    if isinstance(exc, TimeoutError) and not isinstance(exc, WfkitError):
                        row["outcome"] = "timed out"
                        row["error"] = (f"TimeoutError: not done within {timeout:g} s (a server not answering?); "
                                        "run the plan again to resume it")
                    else:
                        row["outcome"] = row["outcome"] or "failed"
                        row["error"] = f"{type(exc).__name__}: {exc}"
                    if not dry_run:
                        ck.write(it.workflow_id, "failed", error=row["error"])
                row["finished_at"] = _now()
                counts[row["status"]] = counts.get(row["status"], 0) + 1
                if bar is not None:
                    bar.update()
                    bar.set_postfix(counts, refresh=False)
                return row

        try:
            return list(await asyncio.gather(*(guarded(it) for it in items)))
        finally:
            if bar is not None:
                bar.close()

    # --- restart -----------------------------------------------------------------------------------------
    async def _restart_one(self, it: _Item, ck: Any, dry_run: bool, row: dict[str, Any]) -> None:
        wid = it.workflow_id
        rec = ck.get(wid)
        if rec.get("done"):
            row.update(status="skipped", outcome="already migrated (checkpoint)",
                       target_run_id=rec.get("target_run_id"), source_run_id=rec.get("source_run_id"))
            return
        if it.action in ("blocked", "skip"):
            row.update(status="skipped", outcome=f"{it.action}: {it.reason}")
            return
        source_run = rec.get("source_run_id") or it.run_id
        row["source_run_id"] = source_run
        src = self.source.handle(wid, source_run)
        clock = _Clock(row)

        async def source_now() -> Execution | None:
            try:
                return await src.describe()
            except WorkflowNotFound:
                return None

        (twin, whose), src_ex = await asyncio.gather(self._twin(wid, source_run), source_now())
        if whose == "other" and twin is not None and twin.status == "running":
            raise WfkitError(f"workflow ID already running on {self.target.engine} (run {twin.run_id}), not "
                             "started by this migration: left alone")
        if whose != "ours":
            twin = None
        resumed = twin is not None
        if twin is None:
            if rec.get("confirmed"):
                raise WfkitError("the copy this migration started on the target is gone; source left running")
            if src_ex is None or src_ex.status != "running":
                status = src_ex.status if src_ex is not None else "gone"
                row.update(status="skipped", outcome=f"closed on the source ({status}) before it was restarted")
                return
            mode, args, state_time, note = await self._capture(it, source_run)
            row["outcome"] = note
            clock.lap("state_seconds")
            if dry_run:
                row.update(status="successful", outcome=f"would restart from {mode}")
                return
            token = uuid.uuid4().hex
            task_queue = self.task_queue or it.task_queue or src_ex.task_queue
            if not task_queue:
                raise WfkitError("the source does not say the workflow's task queue: pass task_queue=")
            ck.write(wid, "state", source_run_id=source_run, token=token, mode=mode, state_time=state_time,
                     workflow_type=it.workflow_type, task_queue=task_queue, args=args)
            memo = {k: v for k, v in (src_ex.memo or it.memo or {}).items() if k != MIGRATION_MEMO_KEY}
            memo[MIGRATION_MEMO_KEY] = {"source": _where(self.source), "source_run_id": source_run,
                                        "token": token, "mode": mode, "state_time": state_time}
            await self._hook("state", wid)
            ck.write(wid, "starting", token=token)
            try:
                h = await self.target.start(it.workflow_type, *args, id=wid, task_queue=task_queue, memo=memo,
                                            tags=list(src_ex.tags or it.tags) or None,
                                            id_reuse_policy="allow_duplicate")
                target_run = h.run_id
            except WorkflowAlreadyStarted:
                twin, whose = await self._twin(wid, source_run)
                if whose != "ours" or twin is None:
                    raise
                target_run, resumed = twin.run_id, True
            ck.write(wid, "started", target_run_id=target_run)
            await self._hook("started", wid)
        else:
            mark = twin.memo.get(MIGRATION_MEMO_KEY, {})
            mode, state_time, target_run = mark.get("mode"), mark.get("state_time"), twin.run_id
            if dry_run:
                row.update(status="successful", outcome="would resume (copy already on the target)",
                           target_run_id=target_run)
                return
            if rec.get("target_run_id") != target_run:
                ck.write(wid, "started", target_run_id=target_run, source_run_id=source_run,
                         token=mark.get("token"), mode=mode, state_time=state_time, workflow_type=it.workflow_type)
        row["target_run_id"] = target_run
        tgt = self.target.handle(wid, target_run)

        # 1. the copy runs (or already finished) on the target
        tex = await tgt.describe()
        if tex.status not in ("running", "completed", "continued_as_new"):
            raise WfkitError(f"the copy on {self.target.engine} is {tex.status}: source left running")
        ck.write(wid, "confirmed", target_status=tex.status)
        clock.lap("start_seconds")

        # 2. only now does the source stop
        reason = (f"{MIGRATION_REASON_PREFIX}{self.target.engine} at {self.target.address} "
                  f"(namespace {self.target.namespace}), run {target_run}")
        terminated_now = False
        status = src_ex.status if src_ex is not None else ("terminated" if rec.get("terminating") else "gone")
        if status == "gone":
            raise WfkitError("the source run is gone (past its retention?): its copy on the target is left as is")
        if status == "running":
            ck.write(wid, "terminating")
            try:
                await src.terminate(reason)
                terminated_now = True
            except WfkitError:
                status = (await src.describe()).status
                if status == "running":
                    raise
        if not terminated_now and status != "terminated":
            # It finished by itself while its copy was being started: the copy must not run on.
            await tgt.terminate(f"{MIGRATION_SOURCE_FINISHED}{status} on {self.source.engine} while this "
                                "copy was starting")
            ck.write(wid, "skipped", reason=f"source {status} during migration")
            row.update(status="skipped", outcome=f"finished on the source ({status}) during the migration; "
                                                 "the copy was terminated")
            return
        ck.write(wid, "terminated")
        clock.lap("terminate_seconds")
        await self._hook("terminated", wid)

        # 3. the signals the state did not see
        history = await src.history()
        frame = history.to_dataframe()
        note = ""
        if not terminated_now:
            why = _terminate_reason(frame)
            if why is not None and not why.startswith(MIGRATION_REASON_PREFIX):
                note = f"the source had been terminated by someone else ({why}); "
        point = _state_point(frame, state_time) if mode == "state" else 0
        signals = _signals_after(history, frame, point)
        already = 0
        if signals and (resumed or rec.get("forwarding")):
            already = await self._forwarded_count(tgt, signals)
        if signals[already:]:
            ck.write(wid, "forwarding", event_ids=[s[0] for s in signals], already=already)
            for _, name, args in signals[already:]:
                await tgt.signal(name, *args)
                await self._hook("signal", wid)
        ck.write(wid, "done", target_run_id=target_run, signals=len(signals))
        clock.lap("forward_seconds")
        row["signals_forwarded"] = len(signals)
        if resumed and not terminated_now and already == len(signals):
            row.update(status="skipped", outcome=note + "already on the target")
            return
        row.update(status="successful",
                   outcome=note + (row["outcome"] or "") + ("resumed: " if resumed else "") + f"restarted from {mode}"
                   + (f", {len(signals)} signal(s) forwarded" if signals else ""))

    async def _capture(self, it: _Item, source_run: str | None) -> tuple[str, list[Any], str | None, str]:
        """(mode, args, workflow time of the state, note) for starting the copy."""
        src = self.source.handle(it.workflow_id, source_run)
        note = ""
        if it.action != "restart_from_input":
            try:
                answer = await src.query(MIGRATION_STATE_QUERY, timeout=10)
            except QueryFailed as exc:
                if not self.allow_reexecution:
                    raise WfkitError(f"could not take its migration state: {exc}") from exc
                note = "migration-state query failed, so from the input; "
            else:
                if not isinstance(answer, dict) or "state" not in answer:
                    raise WfkitError(f"unexpected answer to {MIGRATION_STATE_QUERY}: {answer!r}")
                return "state", [answer["state"]], answer.get("time"), note
        if not self.allow_reexecution:
            raise WfkitError("no migration state, and allow_reexecution=False")
        history = await src.history()
        return "input", _event_args(history, 0), None, note

    @staticmethod
    async def _forwarded_count(tgt: Any, signals: list[tuple[int, str, list[Any]]]) -> int:
        """How many of ``signals`` (from the start) an interrupted run already delivered to the copy."""
        history = await tgt.history()
        got = [(name, args) for _, name, args in _signals_after(history, history.to_dataframe(), 0)]
        k = 0
        for name, args in got:
            if k < len(signals) and (signals[k][1], signals[k][2]) == (name, args):
                k += 1
        return k

    # --- drain -------------------------------------------------------------------------------------------
    async def _run_drain(self) -> list[dict[str, Any]]:
        now_open = {e.workflow_id: e for e in
                    await self.source.list(_and("ExecutionStatus='Running'", self.query), limit=None)}
        rows = []
        for it in self.items:
            ex = now_open.pop(it.workflow_id, None)
            still = ex is not None and ex.run_id == it.run_id or (ex is not None and it.run_id is None)
            rows.append(self._drain_row(it.workflow_id, it.workflow_type, it.run_id, still))
        for wid, ex in now_open.items():  # started on the source after the plan
            rows.append(self._drain_row(wid, ex.workflow_type, ex.run_id, True, late=True))
        return rows

    def _drain_row(self, wid: str, wtype: str, run_id: str | None, still_open: bool, late: bool = False
                   ) -> dict[str, Any]:
        now = _now()
        outcome = "still open on the source" + (" (started there after the plan)" if late else "") \
            if still_open else "finished on the source"
        return {"workflow_id": wid, "workflow_type": wtype, "action": "wait",
                "status": "pending" if still_open else "successful", "outcome": outcome, "error": None,
                "source_run_id": run_id, "target_run_id": None, "signals_forwarded": 0, "started_at": now,
                "finished_at": now}

    # --- archive -----------------------------------------------------------------------------------------
    def _archive_root(self, create: bool = True) -> Path:
        if self.archive_dir is None:
            stamp = self.created.strftime("%Y%m%dT%H%M%SZ")
            self.archive_dir = Path(f"wfkit-archive-{self.source.engine}-{stamp}")
        if create:
            for sub in (self.target.engine, "wfkit"):
                (self.archive_dir / sub).mkdir(parents=True, exist_ok=True)
        return self.archive_dir

    def _archive_paths(self, it: _Item) -> tuple[Path, Path]:
        root = self._archive_root(create=False)
        name = f"{urllib.parse.quote(it.workflow_id, safe='')}__{it.run_id}.json"
        return root / self.target.engine / name, root / "wfkit" / name

    async def _archive_one(self, it: _Item, ck: Any, dry_run: bool, row: dict[str, Any]) -> None:
        from wfkit.history._history import History

        native_path, wfkit_path = self._archive_paths(it)
        rec = ck.get(it.workflow_id)
        if rec.get("archived") and rec.get("run_id") == it.run_id and native_path.exists() and wfkit_path.exists() \
                and _sha256(native_path) == rec.get("native_sha256") and _sha256(wfkit_path) == rec.get("wfkit_sha256"):
            row.update(status="skipped", outcome="already archived (checkpoint)")
            row["_manifest"] = rec.get("entry")
            return
        history = await self.source.handle(it.workflow_id, it.run_id).history()
        note = ""
        if history.engine == self.target.engine:
            native = history.to_json(format=self.target.engine)
        else:
            from wfkit._replay import NotConvertible, replayable_json

            try:  # converted so that the target's own replayer reads it
                native = replayable_json(history, self.target.engine)
            except NotConvertible as exc:
                native = history.to_json(format=self.target.engine)
                note = f" (not replayable on {self.target.engine}: {exc})"
        portable = history.to_json(format="wfkit")
        n = len(history)
        for what, text in ((self.target.engine, native), ("wfkit", portable)):
            back = History.from_json(text)
            if len(back) != n:
                raise WfkitError(f"{what} JSON of {it.workflow_id!r} reads back {len(back)} events, not {n}")
        if dry_run:
            row.update(status="successful", outcome=f"would archive {n} events")
            return
        for path, text in ((native_path, native), (wfkit_path, portable)):
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        for path in (native_path, wfkit_path):  # verify what is on disk
            if len(History.from_json(path)) != n:
                raise WfkitError(f"{path} does not read back {n} events")
        root = self._archive_root(create=False)
        entry = {"workflow_id": it.workflow_id, "run_id": it.run_id, "workflow_type": it.workflow_type,
                 "status": it.status, "events": n,
                 "files": {self.target.engine: str(native_path.relative_to(root)),
                           "wfkit": str(wfkit_path.relative_to(root))},
                 "sha256": {self.target.engine: _sha256(native_path), "wfkit": _sha256(wfkit_path)},
                 "replayable": not note}
        ck.write(it.workflow_id, "archived", run_id=it.run_id, native_sha256=entry["sha256"][self.target.engine],
                 wfkit_sha256=entry["sha256"]["wfkit"], entry=entry)
        row.update(status="successful", outcome=f"archived {n} events{note}")
        row["_manifest"] = entry

    def _write_manifest(self, rows: list[dict[str, Any]]) -> None:
        root = self._archive_root(create=False)
        path = root / "manifest.json"
        entries: dict[str, Any] = {}
        if path.exists():
            try:
                for e in json.loads(path.read_text(encoding="utf-8")).get("workflows", []):
                    entries[f"{e['workflow_id']}__{e['run_id']}"] = e
            except (ValueError, KeyError):
                entries = {}
        for r in rows:
            e = r.pop("_manifest", None)
            if e:
                entries[f"{e['workflow_id']}__{e['run_id']}"] = e
        files_on_disk = {p.name for p in (root / self.target.engine).glob("*.json")}
        wfkit_on_disk = {p.name for p in (root / "wfkit").glob("*.json")}
        listed = {Path(e["files"][self.target.engine]).name for e in entries.values()}
        manifest = {
            "wfkit_archive": 1, "created": _now().isoformat(), "source": _where(self.source),
            "target_engine": self.target.engine, "query": self.query, "count": len(entries),
            "events": sum(e["events"] for e in entries.values()),
            "verified": listed == files_on_disk == wfkit_on_disk,
            "formats": {self.target.engine: f"{self.target.engine} native history JSON", "wfkit": "wfkit JSON"},
            "workflows": sorted(entries.values(), key=lambda e: (e["workflow_id"], e["run_id"] or "")),
        }
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
        self.manifest = manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- the report -------------------------------------------------------------------------------------------------

class MigrationReport:
    """What ``MigrationPlan.run`` did: ``stats`` (a ``MigrationStats``) and ``frame`` (one row per workflow:
    workflow_id, workflow_type, action, status — successful/failed/skipped/pending —, outcome, error,
    source_run_id, target_run_id, signals_forwarded, started_at, finished_at, duration)."""

    def __init__(self, plan: MigrationPlan, rows: list[dict[str, Any]], *, dry_run: bool, elapsed: float,
                 checkpoint: str | None):
        import pandas as pd

        for r in rows:
            r.pop("_manifest", None)
        self.plan = plan
        self.strategy = plan.strategy
        self.dry_run = dry_run
        self.elapsed = elapsed
        """Seconds the run took."""
        self.checkpoint = checkpoint
        df = pd.DataFrame(rows, columns=list(REPORT_COLUMNS[:-1]))
        for c in ("state_seconds", "start_seconds", "terminate_seconds", "forward_seconds"):
            df[c] = df[c].astype("float64")
        for c in ("started_at", "finished_at"):
            df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
        df["duration"] = (df["finished_at"] - df["started_at"]).astype("timedelta64[ns]")
        df["signals_forwarded"] = df["signals_forwarded"].astype("int64")
        self.frame = df
        st = df["status"].value_counts()
        self.stats = MigrationStats(total=len(df), successful=int(st.get("successful", 0)),
                                    failed=int(st.get("failed", 0)), skipped=int(st.get("skipped", 0)),
                                    pending=int(st.get("pending", 0)))
        self.archive_dir = str(plan.archive_dir) if plan.strategy == "archive" and plan.archive_dir else None
        self.manifest: dict[str, Any] | None = getattr(plan, "manifest", None) if not dry_run else None
        self.router = plan.router

    @property
    def rate(self) -> float:
        """Workflows handled per second."""
        return self.stats.total / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining(self) -> list[str]:
        """drain: workflow IDs still open on the source."""
        return list(self.frame.loc[self.frame["status"] == "pending", "workflow_id"])

    @property
    def failures(self) -> Any:
        """The rows that failed."""
        return self.frame[self.frame["status"] == "failed"]

    def __repr__(self) -> str:
        s = self.stats
        dry = " (dry run)" if self.dry_run else ""
        pend = f", {s.pending} pending" if s.pending else ""
        return (f"<wfkit.MigrationReport {self.strategy}{dry}: {s.total} total, {s.successful} successful, "
                f"{s.failed} failed, {s.skipped} skipped{pend} in {self.elapsed:.1f} s>")

    def _repr_html_(self) -> str:
        import html

        return f"<p><b>{html.escape(repr(self))}</b></p>" + self.frame.to_html(max_rows=50, escape=True)


# --- readiness --------------------------------------------------------------------------------------------------

async def readiness(histories: Any, *, query: str | None = None, workflows: Sequence[type] | None = None,
                    concurrency: int = 16, progress: bool = False) -> Any:
    """What stands between these workflows and a migration, per workflow type.

    Args:
        histories: ``wfkit.History`` objects — or a client (or Router), whose executions matching ``query``
            are fetched.
        workflows: the ``@wfkit.workflow`` classes (to tell which have a ``@wfkit.migration_state``).

    Returns:
        A DataFrame, one row per workflow type: ``workflows, open, closed`` counts; how many workflows use
        ``signals, timers, versions, child_workflows, continue_as_new, search_attributes, side_effects``;
        ``reexecutes`` (activity types open workflows completed, which a restart from input runs again);
        ``migration_state`` (True/False, None when unknown); ``blockers`` and ``notes`` (lists of text);
        ``ready`` (no blockers).
    """
    defns = {workflow_defn(w).name: workflow_defn(w) for w in workflows or ()}
    if hasattr(histories, "fetch_histories") or hasattr(histories, "clients"):
        hs = await _fetch_all(histories, query, concurrency, progress)
    else:
        from wfkit.history._history import History

        hs = [histories] if isinstance(histories, History) else list(histories)
    return await asyncio.to_thread(_readiness, hs, defns)


async def _fetch_all(client: Any, query: str | None, concurrency: int, progress: bool) -> list[Any]:
    clients = list(client.clients.values()) if hasattr(client, "clients") else [client]
    out: list[Any] = []
    for c in clients:
        execs = await c.list(query, limit=None)
        out += await c.fetch_histories(((e.workflow_id, e.run_id) for e in execs), concurrency=concurrency,
                                       progress=progress)
    return out


def _continued(df: Any) -> bool:
    if not len(df) or str(df["event_type"].iloc[0]) != "WorkflowExecutionStarted":
        return False
    a = df["attributes"].iloc[0]
    return isinstance(a, dict) and bool(a.get("continuedExecutionRunId"))


def _history_features(h: Any) -> dict[str, Any]:
    df = h.to_dataframe()
    et = df["event_type"].astype(str)
    markers: set[str] = set()
    custom_sa: set[str] = set()
    for i in df.index[et == "MarkerRecorded"]:
        a = df.at[i, "attributes"]
        if isinstance(a, dict) and isinstance(a.get("markerName"), str):
            markers.add(a["markerName"])
    for i in df.index[(et == "UpsertWorkflowSearchAttributes") | (et == "WorkflowExecutionStarted")]:
        a = df.at[i, "attributes"]
        sa = a.get("searchAttributes") if isinstance(a, dict) else None
        fields = sa.get("indexedFields") if isinstance(sa, dict) else None
        if isinstance(fields, dict):
            custom_sa |= {k for k in fields if k not in _SYSTEM_SEARCH_ATTRIBUTES}
    closed = bool(len(df)) and et.iloc[-1] in ("WorkflowExecutionCompleted", "WorkflowExecutionFailed",
                                               "WorkflowExecutionTimedOut", "WorkflowExecutionCanceled",
                                               "WorkflowExecutionTerminated", "WorkflowExecutionContinuedAsNew")
    children_started = int((et == "StartChildWorkflowExecutionInitiated").sum())
    children_closed = int(et.isin(["ChildWorkflowExecutionCompleted", "ChildWorkflowExecutionFailed",
                                   "ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionTimedOut",
                                   "ChildWorkflowExecutionTerminated",
                                   "StartChildWorkflowExecutionFailed"]).sum())
    try:
        _event_args(h, 0)
        decodable = True
    except WfkitError:
        decodable = False
    return {
        "workflow_type": h.workflow_type or "<unknown>", "open": not closed,
        "signals": bool((et == "WorkflowExecutionSignaled").any()), "timers": bool((et == "TimerStarted").any()),
        "versions": bool(markers & _VERSION_MARKERS),
        "child_workflows": children_started > 0, "open_children": children_started > children_closed,
        "continue_as_new": bool((et == "WorkflowExecutionContinuedAsNew").any()) or _continued(df),
        "search_attributes": sorted(custom_sa), "side_effects": bool(markers & _SIDE_EFFECT_MARKERS),
        "reexecutes": _completed_activity_types(h) if not closed else [], "decodable": decodable,
    }


def _readiness(hs: list[Any], defns: dict[str, WorkflowDefn]) -> Any:
    import pandas as pd

    per: dict[str, list[dict[str, Any]]] = {}
    for h in hs:
        f = _history_features(h)
        per.setdefault(f["workflow_type"], []).append(f)
    rows = []
    for wtype, fs in sorted(per.items()):
        open_fs = [f for f in fs if f["open"]]
        state = (defns[wtype].migration_state is not None) if wtype in defns else None
        reexec: list[str] = []
        for f in open_fs if not state else ():  # a restart from the migration state re-runs nothing itself
            reexec += [a for a in f["reexecutes"] if a not in reexec]
        blockers, notes = [], []
        if open_fs and state is False:
            blockers.append(f"{len(open_fs)} open without @wfkit.migration_state: a restart from the input runs "
                            f"{', '.join(reexec) or 'their activities'} again (needs allow_reexecution=True)")
        if open_fs and state is None:
            notes.append("pass workflows=[...] to check for @wfkit.migration_state (else restart asks the workers)")
        kids = sum(f["open_children"] for f in open_fs)
        if kids:
            blockers.append(f"{kids} open with running child workflows: a restart does not move children")
        undecodable = sum(not f["decodable"] for f in fs)
        if undecodable:
            blockers.append(f"{undecodable} with inputs wfkit cannot decode (custom codec/encryption)")
        sas = sorted({a for f in fs for a in f["search_attributes"]})
        if sas:
            notes.append(f"custom search attributes ({', '.join(sas)}) are not carried over; register them on the "
                         "target")
        if any(f["timers"] for f in open_fs):
            notes.append("timers of restarted workflows start again from zero on the target")
        if any(f["versions"] for f in fs):
            notes.append("get_version markers: restarted workflows take the newest version; cross-engine replay "
                         "maps the markers")
        if any(f["side_effects"] for f in fs):
            notes.append("side effects are recorded differently by each engine: cross-engine replay of these "
                         "histories is not possible")
        if any(f["continue_as_new"] for f in fs):
            notes.append("continue-as-new: the latest run is migrated; earlier runs stay on the source")
        rows.append({
            "workflow_type": wtype, "workflows": len(fs), "open": len(open_fs), "closed": len(fs) - len(open_fs),
            "signals": sum(f["signals"] for f in fs), "timers": sum(f["timers"] for f in fs),
            "versions": sum(f["versions"] for f in fs), "child_workflows": sum(f["child_workflows"] for f in fs),
            "continue_as_new": sum(f["continue_as_new"] for f in fs),
            "search_attributes": sum(bool(f["search_attributes"]) for f in fs),
            "side_effects": sum(f["side_effects"] for f in fs), "reexecutes": reexec, "migration_state": state,
            "blockers": blockers, "notes": notes, "ready": not blockers,
        })
    df = pd.DataFrame(rows, columns=list(READINESS_COLUMNS))
    for c in ("workflows", "open", "closed", "signals", "timers", "versions", "child_workflows", "continue_as_new",
              "search_attributes", "side_effects"):
        df[c] = df[c].astype("int64")
    df["migration_state"] = df["migration_state"].astype("boolean")
    df["ready"] = df["ready"].astype(bool)
    return df


# --- blocking twins ---------------------------------------------------------------------------------------------

class _SyncModule:
    """``wfkit.migrate.sync``: ``plan`` and ``readiness`` that block (for plain scripts)."""

    def plan(self, *args: Any, **kwargs: Any) -> MigrationPlan:
        return run_sync(plan(*args, **kwargs))

    def readiness(self, *args: Any, **kwargs: Any) -> Any:
        return run_sync(readiness(*args, **kwargs))

    def __repr__(self) -> str:
        return "<sync twins of wfkit.migrate: plan, readiness>"


sync = _SyncModule()
