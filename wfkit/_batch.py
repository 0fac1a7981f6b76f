"""Batch operations by list query: ``client.batch(action, query, ...)`` previews what every matching workflow
would get (nothing changes); ``plan.run(confirm=True)`` does it, at most ``concurrency`` at a time, with a
progress bar, and returns a results frame.

Each batch keeps a JSONL journal (by default its own file in wfkit's state directory, one per action, namespace,
query and arguments): running the same batch again, after a crash or not, skips every workflow the journal
says is done. A workflow the journal saw started but not finished (a crash in between) is checked on the
server first: a signal already in its history, a cancel already requested, a run already reset or closed is
not acted on twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._converter import to_json_value
from ._errors import WfkitError, WorkflowNotFound

if TYPE_CHECKING:
    from ._client import Client
    from ._execution import Execution

__all__ = ["BATCH_ACTIONS", "DEFAULT_JOURNAL", "BatchPlan", "batch_plan"]

BATCH_ACTIONS = ("signal", "cancel", "terminate", "reset")
"""What a batch can do to each workflow a list query matches."""

DEFAULT_JOURNAL = "auto"
"""``journal="auto"``: the batch's own journal in wfkit's state directory (``<state dir>/batches/``)."""

RESULT_COLUMNS = ("workflow_id", "run_id", "outcome", "error", "new_run_id")
"""The results frame: ``outcome`` is done, failed, skipped (closed meanwhile) or already done (the journal, or
the server, says an earlier run of this batch did it)."""

PREVIEW_COLUMNS = ("workflow_id", "run_id", "workflow_type", "status", "action", "detail", "journal")


def journal_path(header: dict[str, Any]) -> Path:
    """The default journal of one batch: ``<state dir>/batches/<action>-<hash of namespace, query, args>.jsonl``."""
    from wfkit.migrate._checkpoint import state_dir

    key = json.dumps([header.get(k) for k in ("strategy", "source", "target", "query")], default=str)
    return state_dir() / "batches" / f"{header['strategy']}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsonl"


@dataclasses.dataclass
class BatchPlan:
    """A batch operation not yet done: ``preview`` says what each workflow would get; ``run(confirm=True)``
    does it."""

    client: Client = dataclasses.field(repr=False)
    action: str
    query: str
    executions: list[Execution] = dataclasses.field(repr=False)
    signal: str | None = None
    args: tuple[Any, ...] = ()
    reason: str | None = None
    reset_to: str | int = "last"
    preview: Any = dataclasses.field(default=None, repr=False)
    """One row per matching workflow: ``workflow_id, run_id, workflow_type, status, action, detail`` (what it
    would get) and ``journal`` (``done`` when an earlier run of this batch already did it)."""
    journal: str | os.PathLike[str] | None = DEFAULT_JOURNAL
    """Where the batch journals each workflow (None: nowhere — a rerun acts again)."""
    reset_points: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)
    cannot_reset: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    """Runs the preview found no reset point in (why, by run ID): the run skips them."""
    closed_matches: int = 0
    """Workflows the query matched that are closed already: left out (a batch acts on running ones)."""

    def __repr__(self) -> str:
        closed = f", {self.closed_matches} closed ones left out" if self.closed_matches else ""
        return (f"<wfkit.BatchPlan {self.action} {len(self.executions)} running workflows matching {self.query!r}"
                f"{closed} (not done: run(confirm=True))>")

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import batch_plan_html

        return batch_plan_html(self)

    def header(self) -> dict[str, Any]:
        target = {"signal": self.signal, "args": [to_json_value(a) for a in self.args], "reason": self.reason,
                  "reset_to": self.reset_to}
        return {"strategy": f"batch-{self.action}", "source": self.client.url,
                "target": json.dumps(target, sort_keys=True, default=str), "query": self.query}

    async def run(self, *, confirm: bool = False, concurrency: int = 8, progress: bool = True) -> Any:
        """Do the batch: the results frame (``workflow_id, run_id, outcome, error, new_run_id``).

        Raises:
            WfkitError: ``confirm`` is not True (look at ``preview`` first), or ``concurrency`` < 1.
        """
        if confirm is not True:
            raise WfkitError(f"batch {self.action} of {len(self.executions)} workflows not done: look at "
                             "plan.preview, then call plan.run(confirm=True)")
        if concurrency < 1:
            raise WfkitError(f"concurrency must be >= 1, got {concurrency}")
        from ._loop import on_loop

        return await on_loop(self._run(concurrency, progress))

    def _open_journal(self) -> Any:
        from wfkit.migrate._checkpoint import JsonlCheckpoint, NullCheckpoint

        if self.journal is None:
            return NullCheckpoint()
        header = self.header()
        path = journal_path(header) if self.journal == DEFAULT_JOURNAL else self.journal
        return JsonlCheckpoint(path, header)

    async def _run(self, concurrency: int, progress: bool) -> Any:
        import pandas as pd

        ck = self._open_journal()
        sem = asyncio.Semaphore(concurrency)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(self.executions), desc=f"batch {self.action}", unit="wf", leave=False)

        async def one(ex: Execution) -> dict[str, Any]:
            async with sem:
                row = await self._one(ck, ex)
            if bar is not None:
                bar.update()
            return row

        try:
            rows = list(await asyncio.gather(*(one(ex) for ex in self.executions)))
        finally:
            if bar is not None:
                bar.close()
            ck.close()
        return pd.DataFrame({c: [r.get(c) for r in rows] for c in RESULT_COLUMNS}, columns=list(RESULT_COLUMNS))

    async def _one(self, ck: Any, ex: Execution) -> dict[str, Any]:
        wid, rid = ex.workflow_id, ex.run_id
        row: dict[str, Any] = {"workflow_id": wid, "run_id": rid, "error": None, "new_run_id": None}
        rec = ck.get(wid)
        if rec.get("done") or rec.get("skipped"):
            return {**row, "outcome": "already done", "new_run_id": rec.get("new_run_id")}
        inner = self.client._inner
        try:
            if "starting" in rec.get("steps", ()) and await self._already_done(rec, ex):
                ck.write(wid, "done", source_run_id=rec.get("source_run_id") or rid, verified=True)
                return {**row, "outcome": "already done"}
            ck.write(wid, "starting", source_run_id=rid, started=_now())
            if self.action == "signal":
                assert self.signal is not None
                await inner.signal(wid, rid, self.signal, [to_json_value(a) for a in self.args])
            elif self.action == "cancel":
                await inner.cancel(wid, rid)
            elif self.action == "terminate":
                await inner.terminate(wid, rid, self.reason or "batch terminate by wfkit")
            else:
                if rid not in self.reset_points:
                    why = self.cannot_reset.get(rid, "no reset point")
                    ck.write(wid, "skipped", source_run_id=rid, error=why)
                    return {**row, "outcome": "skipped", "error": why}
                event_id = self.reset_points[rid]
                row["new_run_id"] = await inner.reset(wid, rid, event_id, self.reason or "batch reset by wfkit",
                                                      _request_id(self.header(), wid, rid))
            ck.write(wid, "done", source_run_id=rid, new_run_id=row["new_run_id"])
            return {**row, "outcome": "done"}
        except WorkflowNotFound as exc:
            ck.write(wid, "skipped", source_run_id=rid, error=str(exc))
            return {**row, "outcome": "skipped", "error": str(exc)}
        except WfkitError as exc:
            if await self._closed(ex):
                ck.write(wid, "skipped", source_run_id=rid, error=str(exc))
                return {**row, "outcome": "skipped", "error": f"closed meanwhile: {exc}"}
            ck.write(wid, "failed", source_run_id=rid, error=str(exc))
            return {**row, "outcome": "failed", "error": str(exc)}

    async def _closed(self, ex: Execution) -> bool:
        try:
            return not (await self.client._inner.describe(ex.workflow_id, ex.run_id)).is_open
        except WfkitError:
            return False

    async def _already_done(self, rec: dict[str, Any], ex: Execution) -> bool:
        """After a crash between journaling ``starting`` and ``done``: did the action reach the server?"""
        inner = self.client._inner
        started_run = rec.get("source_run_id")
        if self.action in ("reset", "terminate"):
            # The listing holds running runs only: the run it acted on is gone (reset into a new run, or
            # terminated and started again) exactly when the action reached the server.
            return bool(started_run) and started_run != ex.run_id
        history = await inner.history(ex.workflow_id, started_run or ex.run_id)
        frame = history.to_dataframe()
        since = rec.get("started")
        if since:  # (a few seconds of slack for clocks that disagree)
            frame = frame[frame["time"] >= datetime.fromisoformat(since) - timedelta(seconds=5)]
        kinds = frame["event_type"].astype(str)
        if self.action == "cancel":
            return bool((kinds == "WorkflowExecutionCancelRequested").any())
        sent = frame[(kinds == "WorkflowExecutionSignaled") & (frame["signal_name"] == self.signal)]
        want = [to_json_value(a) for a in self.args]
        want_payload = want[0] if len(want) == 1 else (want or None)
        return any(_same(p, want_payload) for p in sent["payload"].tolist())


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _request_id(header: dict[str, Any], workflow_id: str, run_id: str) -> str:
    import uuid

    key = json.dumps([header, workflow_id, run_id], sort_keys=True, default=str)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "wfkit-batch:" + key))


def _detail(plan: BatchPlan, ex: Execution, discard: int | None = None, signals: int | None = None) -> str:
    if plan.action == "signal":
        args = ", ".join(json.dumps(to_json_value(a), default=str) for a in plan.args)
        return f"signal {plan.signal}({args})"
    if plan.action == "cancel":
        return "cancel request (its code may clean up)"
    if plan.action == "terminate":
        return f"terminate: {plan.reason or 'batch terminate by wfkit'}"
    if ex.run_id in plan.cannot_reset:
        return f"cannot reset (skipped): {plan.cannot_reset[ex.run_id]}"
    event = plan.reset_points.get(ex.run_id)
    return (f"reset to {plan.reset_to} (after event {event}): discards {discard} events, "
            f"reapplies {signals} signals")


async def batch_plan(client: Client, action: str, query: str, *, signal: str | None, args: Sequence[Any],
                     reason: str | None, reset_to: str | int, limit: int | None,
                     journal: str | os.PathLike[str] | None, concurrency: int) -> BatchPlan:
    import pandas as pd

    from ._reset import reset_point

    if action not in BATCH_ACTIONS:
        raise WfkitError(f"batch action {action!r}: expected one of {', '.join(BATCH_ACTIONS)}")
    if not query or not query.strip():
        raise WfkitError("batch: a list query is required (a batch over every workflow is too easy to regret)")
    if action == "signal" and not signal:
        raise WfkitError("batch signal: give the signal's name (signal=...)")
    if action != "signal" and (signal or args):
        raise WfkitError(f"batch {action}: signal and args are for action 'signal' only")
    execs = await client.list(query, limit=limit)
    if execs.truncated:
        raise WfkitError(f"batch: more than {limit} workflows match {query!r}: narrow the query or raise limit")
    running = [e for e in execs if e.is_open]
    closed = len(execs) - len(running)
    plan = BatchPlan(client, action, query, running, signal=signal, args=tuple(args), reason=reason,
                     reset_to=reset_to, journal=journal, closed_matches=closed)
    counts: dict[str, tuple[int, int]] = {}
    if action == "reset":
        sem = asyncio.Semaphore(max(1, concurrency))

        async def point(e: Execution) -> None:
            async with sem:
                h = await client._inner.history(e.workflow_id, e.run_id)
            try:
                event = reset_point(h, reset_to)
            except WfkitError as exc:  # e.g. no workflow task completed yet: this one is skipped, not the batch
                plan.cannot_reset[e.run_id] = str(exc)
                return
            plan.reset_points[e.run_id] = event
            frame, sig = h.to_dataframe(), h.signals()
            counts[e.run_id] = (int((frame["event_id"] > event).sum()), int((sig["event_id"] > event).sum()))

        await asyncio.gather(*(point(e) for e in running))
    done: set[str] = set()
    path = None if journal is None else journal_path(plan.header()) if journal == DEFAULT_JOURNAL else Path(journal)
    if path is not None and path.exists():  # the preview writes nothing, not even a journal
        ck = plan._open_journal()
        try:
            done = {e.workflow_id for e in running
                    if ck.get(e.workflow_id).get("done") or ck.get(e.workflow_id).get("skipped")}
        finally:
            ck.close()
    plan.preview = pd.DataFrame({
        "workflow_id": [e.workflow_id for e in running], "run_id": [e.run_id for e in running],
        "workflow_type": [e.workflow_type for e in running], "status": [e.status for e in running],
        "action": [action] * len(running),
        "detail": [_detail(plan, e, *counts.get(e.run_id, (None, None))) for e in running],
        "journal": ["done" if e.workflow_id in done else "" for e in running],
    }, columns=list(PREVIEW_COLUMNS))
    return plan
