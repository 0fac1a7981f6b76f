"""``restart``: each running workflow starts again on the target from its state (or its input), is confirmed
running there, then stops on the source; the signals its state did not see follow it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import TYPE_CHECKING, Any

from wfkit._definitions import MIGRATION_STATE_QUERY
from wfkit._errors import QueryFailed, WfkitError, WorkflowAlreadyStarted, WorkflowNotFound
from wfkit._execution import Execution
from wfkit._router import MIGRATION_REASON_PREFIX, MIGRATION_SOURCE_FINISHED
from wfkit.engine import Capability
from wfkit.migrate._history_args import (
    Signal,
    completed_activity_types,
    event_args,
    signals_after,
    state_point,
    terminate_reason,
)
from wfkit.migrate._strategies.base import Item, Strategy, gather_bounded, running, where

if TYPE_CHECKING:
    from wfkit.migrate._checkpoint import Checkpoint, Record
    from wfkit.migrate._plan import MigrationPlan
    from wfkit.migrate._report import Row

MIGRATION_MEMO_KEY = "wfkit.migration"
"""Memo key of a workflow that ``restart`` started on the target: where it came from (engine, address,
namespace, source run ID), the token of the checkpointed state it started from, the restart mode and the
workflow time of that state. A rerun recognises its own copies by it."""


class _Clock:
    """Seconds spent in each step of one workflow's migration, into its report row."""

    def __init__(self, row: Row):
        self.row = row
        self.t = time.monotonic()

    def lap(self, column: str) -> None:
        now = time.monotonic()
        self.row[column] = now - self.t
        self.t = now


@dataclasses.dataclass
class _Move:
    """One workflow's restart as it goes: what each step found, for the steps after it."""

    item: Item
    ck: Checkpoint
    rec: Record
    """What the checkpoint knew of it when this run began."""
    row: Row
    dry_run: bool
    clock: _Clock
    source_run: str | None = None
    source: Execution | None = None
    """The source run as this run found it (None: gone)."""
    copy: Execution | None = None
    """The copy an earlier run started on the target, if any."""
    resumed: bool = False
    mode: str | None = None
    """What the copy starts from: ``"state"`` or ``"input"``."""
    args: list[Any] = dataclasses.field(default_factory=list)
    """The copy's input: the state, or the original input."""
    state_time: str | None = None
    target_run: str | None = None
    terminated_now: bool = False
    signals: list[Signal] = dataclasses.field(default_factory=list)
    """The signals the copy's state did not see."""
    already: int = 0
    """How many of them an interrupted run had forwarded."""

    @property
    def workflow_id(self) -> str:
        return self.item.workflow_id


class Restart(Strategy):
    name = "restart"

    def __init__(self, plan: MigrationPlan):
        super().__init__(plan)
        self._probes: dict[str, asyncio.Future[str]] = {}

    # --- the preview ---------------------------------------------------------------------------------------
    async def build(self) -> list[Item]:
        execs = list(await self.source.list(running(self.plan.query), limit=None))
        items = await gather_bounded(self._plan_one, execs, self.plan.concurrency)
        return await gather_bounded(self._say_what_stays, items, self.plan.concurrency)

    async def _say_what_stays(self, item: Item) -> Item:
        """The preview says what of the source run cannot move with it (memo, timeouts and cron schedule always
        do; search attributes only where the target supports them)."""
        if not item.action.startswith("restart"):
            return item
        try:
            d = await self.source.handle(item.workflow_id, item.run_id).describe()
        except WorkflowNotFound:
            return item
        if d.search_attributes and Capability.SEARCH_ATTRIBUTES not in self.target.capabilities:
            item.reason += (f"; its search attributes ({', '.join(sorted(d.search_attributes))}) stay behind: "
                            f"{self.target.engine} does not support search_attributes here")
        return item

    async def _plan_one(self, e: Execution) -> Item:
        item = Item.of(e, "restart", "")
        if item.task_queue is None:  # basic visibility listings do not say
            try:
                d = await self.source.handle(e.workflow_id, e.run_id).describe()
                item.task_queue, item.memo, item.tags = d.task_queue, dict(d.memo), tuple(d.tags)
            except WorkflowNotFound:
                pass
        copy, ours = await self._copy_on_target(e.workflow_id, e.run_id)
        if copy is not None and ours:
            item.action = "resume"
            item.reason = (f"an earlier run restarted it on {self.target.engine} (run {copy.run_id}, "
                           f"{copy.status}): terminate the source and forward late signals")
            return item
        if copy is not None and copy.status == "running":
            item.action, item.reason = "blocked", self._taken(copy)
            return item
        probe = await self._probe(e.workflow_type, e)
        if probe == "state":
            item.reason = "from its @wfkit.migration_state"
            return item
        return await self._plan_from_input(item, probe)

    async def _plan_from_input(self, item: Item, probe: str) -> Item:
        """A workflow without a migration state: restarted from its input if the plan allows it (and the input
        can be read), else blocked."""
        try:
            history = await self.source.handle(item.workflow_id, item.run_id).history()
            item.reexecutes = completed_activity_types(history)
            event_args(history, 0)
        except WfkitError as exc:
            item.action, item.reason = "blocked", f"cannot read its input from the source history: {exc}"
            return item
        why = {"no_state": "no @wfkit.migration_state",
               "unknown_query": "its worker answered that it knows no migration-state query (a worker of another "
                                "SDK, or a wfkit workflow without @wfkit.migration_state)"
               }.get(probe, "no worker answered the migration-state query")
        again = (f": restarting from its original input runs {', '.join(item.reexecutes)} again"
                 if item.reexecutes else ": restarting from its original input (no activity completed yet)")
        if self.plan.allow_reexecution:
            item.action, item.reason = "restart_from_input", why + again + "; all its signals are forwarded"
        else:
            item.action = "blocked"
            item.reason = why + again + "; pass allow_reexecution=True to accept that"
        return item

    async def _probe(self, workflow_type: str, example: Execution) -> str:
        """``"state"`` when workflows of this type answer the migration-state query, ``"no_state"`` when their
        wfkit definition has no ``@wfkit.migration_state``, ``"unknown_query"`` when their worker answered that
        it has no such query (another SDK's worker, say), ``"no_answer"`` when no worker answered (asked once
        per type)."""
        defn = self.plan.definitions.get(workflow_type)
        if defn is not None and defn.migration_state is None:
            return "no_state"
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
            text = str(exc).lower()
            # temporalio: "… expected but not found"; the Go and Python Cadence clients: "unknown queryType …",
            # "Unknown query type …": a worker answered, it just has no such query
            answered = "unknown query" in text or "not found" in text
            return "unknown_query" if answered else "no_answer"
        except WorkflowNotFound:
            return "gone"

    async def _copy_on_target(self, workflow_id: str, source_run_id: str | None) -> tuple[Execution | None, bool]:
        """(the target's latest execution of this ID (None: there is none), whether this migration started it
        from this source run)."""
        try:
            ex = await self.target.handle(workflow_id).describe()
        except WorkflowNotFound:
            return None, False
        mark = ex.memo.get(MIGRATION_MEMO_KEY) if isinstance(ex.memo, dict) else None
        ours = isinstance(mark, dict) and mark.get("source_run_id") == source_run_id and \
            mark.get("source", {}).get("engine") == self.source.engine
        return ex, ours

    def _taken(self, other: Execution) -> str:
        """Why a workflow whose ID runs on the target, started by someone else, is left alone."""
        return (f"workflow ID already running on {self.target.engine} (run {other.run_id}), not started by this "
                "migration: left alone")

    # --- the run -------------------------------------------------------------------------------------------
    async def prepare(self, items: list[Item], ck: Checkpoint, dry_run: bool) -> list[Item]:
        """The plan's workflows, and those in the checkpoint the source no longer lists as running (an earlier
        run began them: this one finishes, or reports, them)."""
        known = {it.workflow_id for it in items}
        extra = []
        for wid in ck.workflow_ids():
            rec = ck.get(wid)
            if wid not in known and rec.get("source_run_id"):
                extra.append(Item(wid, rec.get("source_run_id"), rec.get("workflow_type", ""), "unknown",
                                  rec.get("task_queue"), "resume", [], "in the checkpoint of an earlier run"))
        return [*items, *extra]

    async def run_one(self, item: Item, ck: Checkpoint, dry_run: bool, row: Row) -> None:
        """Read the state, start the copy on the target, confirm it runs, stop the source, forward the late
        signals, record the outcome — each step journaled first, so a rerun resumes where this one stopped."""
        # the record of this source run only: a workflow ID reused on the source since is a new migration
        m = _Move(item, ck, ck.get(item.workflow_id, item.run_id), row, dry_run, _Clock(row))
        if self._nothing_to_do(m):
            return
        await self._find_runs(m)
        if m.copy is None:
            if not await self._take_state(m):
                return
            await self._start_copy(m)
        elif not self._adopt_copy(m):
            return
        await self._confirm_copy(m)
        if not await self._stop_source(m):
            return
        note = await self._forward_signals(m)
        self._record(m, note)

    def _nothing_to_do(self, m: _Move) -> bool:
        """Done by an earlier run, or not to be done at all."""
        if m.rec.get("done"):
            m.row.update(status="skipped", outcome="already migrated (checkpoint)",
                         target_run_id=m.rec.get("target_run_id"), source_run_id=m.rec.get("source_run_id"))
            return True
        if m.item.action in ("blocked", "skip"):
            m.row.update(status="skipped", outcome=f"{m.item.action}: {m.item.reason}")
            return True
        return False

    async def _find_runs(self, m: _Move) -> None:
        """The source run as it is now, and our copy on the target if an earlier run started one."""
        m.source_run = m.rec.get("source_run_id") or m.item.run_id
        m.row["source_run_id"] = m.source_run

        async def source_now() -> Execution | None:
            try:
                return await self.source.handle(m.workflow_id, m.source_run).describe()
            except WorkflowNotFound:
                return None

        (copy, ours), m.source = await asyncio.gather(self._copy_on_target(m.workflow_id, m.source_run),
                                                      source_now())
        if copy is not None and not ours and copy.status == "running":
            raise WfkitError(self._taken(copy))
        m.copy = copy if ours else None
        m.resumed = m.copy is not None

    async def _take_state(self, m: _Move) -> bool:
        """What the copy starts from; False when there is nothing more to do (the source closed, a dry run)."""
        if m.rec.get("confirmed"):
            raise WfkitError("the copy this migration started on the target is gone; source left running")
        if m.source is None or m.source.status != "running":
            status = m.source.status if m.source is not None else "gone"
            m.row.update(status="skipped", outcome=f"closed on the source ({status}) before it was restarted")
            return False
        m.mode, m.args, m.state_time, m.row["outcome"] = await self._read_state(m.item, m.source_run)
        m.clock.lap("state_seconds")
        if m.dry_run:
            m.row.update(status="successful", outcome=f"would restart from {m.mode}")
            return False
        return True

    async def _start_copy(self, m: _Move) -> None:
        """Journal the state, then start the copy on the target from it (marked in its memo as ours)."""
        assert m.source is not None
        task_queue = self.plan.task_queue or m.item.task_queue or m.source.task_queue
        if not task_queue:
            raise WfkitError("the source does not say the workflow's task queue: pass task_queue=")
        token = uuid.uuid4().hex
        m.ck.write(m.workflow_id, "state", source_run_id=m.source_run, token=token, mode=m.mode,
                   state_time=m.state_time, workflow_type=m.item.workflow_type, task_queue=task_queue, args=m.args)
        memo = {k: v for k, v in (m.source.memo or m.item.memo or {}).items() if k != MIGRATION_MEMO_KEY}
        memo[MIGRATION_MEMO_KEY] = {"source": where(self.source), "source_run_id": m.source_run, "token": token,
                                    "mode": m.mode, "state_time": m.state_time}
        await self.plan._hook("state", m.workflow_id)
        m.ck.write(m.workflow_id, "starting", token=token)
        src = m.source
        carried: dict[str, Any] = {
            "execution_timeout": src.execution_timeout, "run_timeout": src.run_timeout,
            "task_timeout": src.task_timeout, "cron_schedule": await self._cron_of(m)}
        if src.search_attributes and Capability.SEARCH_ATTRIBUTES in self.target.capabilities:
            carried["search_attributes"] = dict(src.search_attributes)
        try:
            h = await self.target.start(m.item.workflow_type, *m.args, id=m.workflow_id, task_queue=task_queue,
                                        memo=memo, tags=list(m.source.tags or m.item.tags) or None,
                                        id_reuse_policy="allow_duplicate", **carried)
            m.target_run = h.run_id
        except WorkflowAlreadyStarted:  # a start that reached the target before a crash
            copy, ours = await self._copy_on_target(m.workflow_id, m.source_run)
            if copy is None or not ours:
                raise
            m.target_run, m.resumed = copy.run_id, True
        m.ck.write(m.workflow_id, "started", target_run_id=m.target_run)
        await self.plan._hook("started", m.workflow_id)

    async def _cron_of(self, m: _Move) -> str | None:
        """The source run's cron schedule (its start event says it on every engine)."""
        history = await self.source.handle(m.workflow_id, m.source_run).history()
        frame = history.to_dataframe()
        if not len(frame):
            return None
        cron = frame["attributes"].iloc[0].get("cronSchedule")
        return cron if isinstance(cron, str) and cron else None

    async def _read_state(self, it: Item, source_run: str | None) -> tuple[str, list[Any], str | None, str]:
        """(mode, args, workflow time of the state, note) for starting the copy."""
        src = self.source.handle(it.workflow_id, source_run)
        note = ""
        if it.action != "restart_from_input":
            try:
                answer = await src.query(MIGRATION_STATE_QUERY, timeout=10)
            except QueryFailed as exc:
                if not self.plan.allow_reexecution:
                    raise WfkitError(f"could not take its migration state: {exc}") from exc
                note = "migration-state query failed, so from the input; "
            else:
                if not isinstance(answer, dict) or "state" not in answer:
                    raise WfkitError(f"unexpected answer to {MIGRATION_STATE_QUERY}: {answer!r}")
                return "state", [answer["state"]], answer.get("time"), note
        if not self.plan.allow_reexecution:
            raise WfkitError("no migration state, and allow_reexecution=False")
        history = await src.history()
        return "input", event_args(history, 0), None, note

    def _adopt_copy(self, m: _Move) -> bool:
        """Go on with the copy an earlier run started; False in a dry run."""
        assert m.copy is not None
        mark = m.copy.memo.get(MIGRATION_MEMO_KEY, {})
        m.mode, m.state_time, m.target_run = mark.get("mode"), mark.get("state_time"), m.copy.run_id
        if m.dry_run:
            m.row.update(status="successful", outcome="would resume (copy already on the target)",
                         target_run_id=m.target_run)
            return False
        if m.rec.get("target_run_id") != m.target_run:
            m.ck.write(m.workflow_id, "started", target_run_id=m.target_run, source_run_id=m.source_run,
                       token=mark.get("token"), mode=m.mode, state_time=m.state_time,
                       workflow_type=m.item.workflow_type)
        return True

    async def _confirm_copy(self, m: _Move) -> None:
        """The copy runs (or already finished) on the target."""
        m.row["target_run_id"] = m.target_run
        tex = await self.target.handle(m.workflow_id, m.target_run).describe()
        if tex.status not in ("running", "completed", "continued_as_new"):
            raise WfkitError(f"the copy on {self.target.engine} is {tex.status}: source left running")
        m.ck.write(m.workflow_id, "confirmed", target_status=tex.status)
        m.clock.lap("start_seconds")

    async def _stop_source(self, m: _Move) -> bool:
        """Only now does the source stop. False when it had finished by itself (then the copy is stopped)."""
        src = self.source.handle(m.workflow_id, m.source_run)
        reason = (f"{MIGRATION_REASON_PREFIX}{self.target.engine} at {self.target.address} "
                  f"(namespace {self.target.namespace}), run {m.target_run}")
        status = m.source.status if m.source is not None else \
            ("terminated" if m.rec.get("terminating") else "gone")
        if status == "gone":
            raise WfkitError("the source run is gone (past its retention?): its copy on the target is left as is")
        if status == "running":
            m.ck.write(m.workflow_id, "terminating")
            try:
                await src.terminate(reason)
                m.terminated_now = True
            except WfkitError:
                status = (await src.describe()).status
                if status == "running":
                    raise
        if not m.terminated_now and status != "terminated":
            # It finished by itself while its copy was being started: the copy must not run on.
            await self.target.handle(m.workflow_id, m.target_run).terminate(
                f"{MIGRATION_SOURCE_FINISHED}{status} on {self.source.engine} while this copy was starting")
            m.ck.write(m.workflow_id, "skipped", reason=f"source {status} during migration")
            m.row.update(status="skipped", outcome=f"finished on the source ({status}) during the migration; "
                                                   "the copy was terminated")
            return False
        m.ck.write(m.workflow_id, "terminated")
        m.clock.lap("terminate_seconds")
        await self.plan._hook("terminated", m.workflow_id)
        return True

    async def _forward_signals(self, m: _Move) -> str:
        """Send the copy the signals its state did not see (not again those an interrupted run sent); a note
        when someone else had terminated the source."""
        history = await self.source.handle(m.workflow_id, m.source_run).history()
        frame = history.to_dataframe()
        note = ""
        if not m.terminated_now:
            why = terminate_reason(frame)
            if why is not None and not why.startswith(MIGRATION_REASON_PREFIX):
                note = f"the source had been terminated by someone else ({why}); "
        point = state_point(frame, m.state_time) if m.mode == "state" else 0
        m.signals = signals = signals_after(history, frame, point)
        tgt = self.target.handle(m.workflow_id, m.target_run)
        if signals and (m.resumed or m.rec.get("forwarding")):
            m.already = await _forwarded_count(tgt, signals)
        if signals[m.already:]:
            m.ck.write(m.workflow_id, "forwarding", event_ids=[s[0] for s in signals], already=m.already)
            for _, name, args in signals[m.already:]:
                await tgt.signal(name, *args)
                await self.plan._hook("signal", m.workflow_id)
        m.ck.write(m.workflow_id, "done", target_run_id=m.target_run, signals=len(signals))
        m.clock.lap("forward_seconds")
        m.row["signals_forwarded"] = len(signals)
        return note

    def _record(self, m: _Move, note: str) -> None:
        """The row's status and outcome."""
        signals = m.signals
        if m.resumed and not m.terminated_now and m.already == len(signals):
            m.row.update(status="skipped", outcome=note + "already on the target")
            return
        m.row.update(status="successful",
                     outcome=note + (m.row["outcome"] or "") + ("resumed: " if m.resumed else "")
                     + f"restarted from {m.mode}" + (f", {len(signals)} signal(s) forwarded" if signals else ""))


async def _forwarded_count(tgt: Any, signals: list[Signal]) -> int:
    """How many of ``signals`` (from the start) an interrupted run already delivered to the copy."""
    history = await tgt.history()
    got = [(name, args) for _, name, args in signals_after(history, history.to_dataframe(), 0)]
    k = 0
    for name, args in got:
        if k < len(signals) and (signals[k][1], signals[k][2]) == (name, args):
            k += 1
    return k
