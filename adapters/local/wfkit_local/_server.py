"""The local engine's server: runs, their event histories, timers on a (skippable) clock, task dispatch.

Everything runs on the loop of the caller (wfkit's loop thread). A workflow task replays the run's history
through the worker's workflow code (``_replay``) and records the commands it issues as events; activities run
as tasks on the same loop (sync ones in a thread pool) with their timeouts and retry policy; timers wait on the
server's clock. With ``time=skip`` the clock jumps to the next timer whenever no workflow task is due and no
activity attempt runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import heapq
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import wfkit.engine as wfe
from wfkit.engine import ActivityDefn, ActivityInfo, StartOptions, WorkflowDefn, to_json_value

from . import _events as ev
from . import _telemetry as _tel
from ._replay import ENGINE, Replayer, _activity
from ._store import Store

_log = logging.getLogger("wfkit.local")

_CLOSE_EVENT = {"completed": "WorkflowExecutionCompleted", "failed": "WorkflowExecutionFailed",
                "canceled": "WorkflowExecutionCanceled", "terminated": "WorkflowExecutionTerminated",
                "timed_out": "WorkflowExecutionTimedOut", "continued_as_new": "WorkflowExecutionContinuedAsNew"}


@dataclasses.dataclass
class Run:
    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_time: datetime
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    status: str = "running"
    close_time: datetime | None = None
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)
    search_attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    execution_timeout: timedelta | None = None
    run_timeout: timedelta | None = None
    task_timeout: timedelta | None = None
    cron_schedule: str | None = None
    task_attempt: int = 1
    task_since: datetime | None = None
    retry_policy: dict[str, Any] | None = None
    """The workflow's retry policy (Temporal JSON), when it was started with one."""
    first_start: datetime | None = None
    """The start of the first run of its chain (continue-as-new, retries, cron): where the execution timeout
    counts from (None: this run is the first)."""
    attempt: int = 1
    reset_request: str | None = None
    sticky: tuple[Any, Replayer, int] | None = None
    """The worker and the workflow code in memory after the last workflow task, and where its history ended."""
    parent: tuple[str, int] | None = None       # (parent run ID, initiated event ID)
    next_run_id: str | None = None
    decision_owed: bool = False
    task_error: str | None = None
    first_task_done: bool = False
    activities: dict[int, Attempt] = dataclasses.field(default_factory=dict)
    timers: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    closed: asyncio.Event | None = None

    def execution(self) -> wfe.Execution:
        memo = {k: v for k, v in self.memo.items() if k != wfe.TAGS_MEMO_KEY}
        tags = tuple(self.memo.get(wfe.TAGS_MEMO_KEY) or ())
        return wfe.Execution(engine=ENGINE, workflow_id=self.workflow_id, run_id=self.run_id,
                             workflow_type=self.workflow_type, status=self.status, task_queue=self.task_queue,
                             start_time=self.start_time, close_time=self.close_time,
                             history_length=len(self.events), memo=memo, tags=tags,
                             search_attributes=dict(self.search_attributes))


class Attempt:
    """One scheduled activity: its attempts, their timeouts and retries, until it resolves."""

    def __init__(self, server: LocalServer, run: Run, scheduled_id: int, a: dict[str, Any]):
        self.server, self.run, self.scheduled_id, self.a = server, run, scheduled_id, a
        self.name = a["activityType"]["name"]
        self.task_queue = a["taskQueue"]["name"]
        self.attempt = 1
        self.task: asyncio.Task[Any] | None = None
        self.last_heartbeat = time.monotonic()
        self.details: tuple[Any, ...] = ()
        self.cancel_requested = False
        self.counted = False
        self.scheduled_time = server.now()
        self.last_started_time: datetime | None = None
        self.last_heartbeat_time: datetime | None = None
        self.last_failure: str | None = None
        self.next_attempt_time: datetime | None = None
        self.identity: str | None = None
        self.info = self._info()

    def _info(self) -> ActivityInfo:
        return ActivityInfo(engine=ENGINE, activity_id=self.a["activityId"], activity_type=self.name,
                            attempt=self.attempt, workflow_id=self.run.workflow_id, run_id=self.run.run_id,
                            task_queue=self.task_queue, heartbeat_details=self.details)

    def heartbeat(self, details: list[Any]) -> None:
        self.last_heartbeat = time.monotonic()
        self.last_heartbeat_time = self.server.now()
        self.details = tuple(details)

    def timeout(self, key: str) -> float | None:
        return ev.parse_duration(self.a.get(key))


class LocalServer:
    """All runs of one store (memory, or a SQLite file), with their clock and their workers."""

    def __init__(self, skip: bool = False, store: Store | None = None):
        self.skip = skip
        self.store = store
        self._resumed = store is None
        self.offset = 0.0
        self.runs: dict[str, Run] = {}
        self.current: dict[tuple[str, str], str] = {}
        self.workers: dict[str, list[LocalWorker]] = {}
        self._timers: list[list[Any]] = []
        self._seq = itertools.count()
        self._handle: asyncio.Handle | None = None
        self.busy = 0
        self.namespaces = {"default"}
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    # -- the state file --

    def load(self) -> None:
        """Read every run from the state file (open runs are resumed by :meth:`resume_all` on the loop)."""
        if self.store is None:
            return
        for fields, events in self.store.load():
            run = Run(**fields, events=events)
            self.runs[run.run_id] = run
            self.current[(run.namespace, run.workflow_id)] = run.run_id
            if run.status == "running":
                run.decision_owed = True
        self.namespaces |= self.store.namespaces()
        self.offset = max(self.offset, self.store.offset())

    def resume_all(self) -> None:
        """Once per process, on the loop: timers, activities and workflow tasks of the runs read from the file."""
        if self._resumed:
            return
        self._resumed = True
        for run in list(self.runs.values()):
            if run.status == "running":
                self.resume(run)

    def _save(self, run: Run) -> None:
        if self.store is not None:
            self.store.save_run(run)

    # -- clock --

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def at(self, due: datetime, fn: Callable[[], None]) -> list[Any]:
        """Call ``fn`` when the clock reaches ``due``; the returned entry's [3] = True cancels it."""
        entry = [due.timestamp(), next(self._seq), fn, False]
        heapq.heappush(self._timers, entry)
        self._arm()
        return entry

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the server's clock (skipped like timers)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        self.at(self.now() + timedelta(seconds=seconds), wake)
        await fut

    async def skip_by(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` at once, firing every timer due meanwhile, in order."""
        target = self.now().timestamp() + seconds
        while self._timers and self._timers[0][0] <= target:
            entry = heapq.heappop(self._timers)
            self.offset = max(self.offset, entry[0] - time.time())
            if not entry[3]:
                entry[2]()
            for _ in range(20):
                await asyncio.sleep(0)
        self.offset = max(self.offset, target - time.time())
        if self.store is not None:
            self.store.save_offset(self.offset)
        self._arm()

    def _idle(self) -> bool:
        """Nothing but timers to wait for: no activity attempt about to run or running, no workflow task due (a
        task no worker polls for counts too: time does not skip past a workflow that has not started, as on
        Temporal's time-skipping test server; a task failing again and again does not hold time)."""
        return self.busy == 0 and not any(r.decision_owed and r.task_attempt == 1
                                          for r in self.runs.values() if r.status == "running")

    def _arm(self) -> None:
        """Schedule the loop callback for the next timer (no task of its own: nothing outlives the loop). With
        time skipping, a short real pause first lets what was just started get going; if then nothing runs, the
        clock jumps to that timer."""
        loop = asyncio.get_running_loop()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        while self._timers and self._timers[0][3]:
            heapq.heappop(self._timers)
        if not self._timers:
            return
        wait = self._timers[0][0] - self.now().timestamp()
        if wait <= 0:
            self._handle = loop.call_soon(self._fire)
        elif self.skip:
            self._handle = loop.call_later(min(wait, 0.002), self._maybe_skip)
        else:
            self._handle = loop.call_later(wait, self._fire)

    def _maybe_skip(self) -> None:
        self._handle = None
        if self._timers and self._idle():
            self.offset += max(self._timers[0][0] - self.now().timestamp(), 0)
            if self.store is not None:
                self.store.save_offset(self.offset)
        self._fire()

    def _fire(self) -> None:
        self._handle = None
        now = self.now().timestamp()
        while self._timers and self._timers[0][0] <= now:
            entry = heapq.heappop(self._timers)
            if not entry[3]:
                try:
                    entry[2]()
                except Exception:  # noqa: BLE001 - one timer's failure must not stop the clock
                    _log.exception("timer callback failed")
        self._arm()

    # -- runs and events --

    def add_event(self, run: Run, name: str, a: dict[str, Any] | None = None) -> int:
        eid = len(run.events) + 1
        event = {"eventId": str(eid), "eventTime": ev.timestamp(self.now()), "eventType": ev.enum_name(name),
                 ev.attrs_key(name): a or {}}
        run.events.append(event)
        if self.store is not None:
            self.store.add_event(run.run_id, event)
        return eid

    def get_run(self, namespace: str, workflow_id: str, run_id: str | None) -> Run:
        rid = run_id or self.current.get((namespace, workflow_id))
        run = self.runs.get(rid) if rid else None
        if run is None or run.workflow_id != workflow_id or run.namespace != namespace:
            raise wfe.WorkflowNotFound(f"workflow {workflow_id!r}" + (f" run {run_id!r}" if run_id else "")
                                       + f" not found in namespace {namespace!r}")
        return run

    def start(self, namespace: str, workflow_type: str, args: list[Any], options: StartOptions, *,
              parent: tuple[str, int] | None = None, continued_from: Run | None = None,
              header: dict[str, Any] | None = None, attempt: int = 1, backoff: float | None = None) -> Run:
        key = (namespace, options.id)
        prior = self.runs.get(self.current.get(key, ""))
        if prior is not None and continued_from is None:
            policy = options.id_reuse_policy or "allow_duplicate"
            if prior.status == "running":
                if policy == "terminate_if_running":
                    self.close(prior, "terminated", {"reason": "terminated by a start with terminate_if_running"})
                else:
                    raise wfe.WorkflowAlreadyStarted(f"workflow {options.id!r} is already running",
                                                     workflow_id=options.id, run_id=prior.run_id)
            elif policy == "reject_duplicate" or (policy == "allow_duplicate_failed_only"
                                                  and prior.status in ("completed", "continued_as_new")):
                raise wfe.WorkflowAlreadyStarted(
                    f"workflow {options.id!r} ran before ({prior.status}) and its ID reuse policy is {policy}",
                    workflow_id=options.id, run_id=prior.run_id)
        run = Run(namespace, options.id, str(uuid.uuid4()), workflow_type, options.task_queue, self.now(),
                  memo=dict(options.memo or {}), search_attributes=dict(options.search_attributes or {}),
                  execution_timeout=options.execution_timeout, run_timeout=options.run_timeout, parent=parent,
                  task_timeout=options.task_timeout, cron_schedule=options.cron_schedule,
                  retry_policy=ev.retry_policy(options.retry_policy), attempt=attempt)
        a: dict[str, Any] = {"workflowType": {"name": workflow_type}, "taskQueue": {"name": options.task_queue},
                             "input": ev.payloads(args), "originalExecutionRunId": run.run_id,
                             "firstExecutionRunId": run.run_id, "attempt": attempt, "workflowId": options.id,
                             "identity": "wfkit-local"}
        if continued_from is not None:
            a["continuedExecutionRunId"] = continued_from.run_id
            a["firstExecutionRunId"] = continued_from.events[0][ev.attrs_key("WorkflowExecutionStarted")].get(
                "firstExecutionRunId", continued_from.run_id)
        for key_, td in (("workflowExecutionTimeout", options.execution_timeout),
                         ("workflowRunTimeout", options.run_timeout),
                         ("workflowTaskTimeout", options.task_timeout)):
            if td is not None:
                a[key_] = ev.duration(td)
        if options.cron_schedule:
            a["cronSchedule"] = options.cron_schedule
        if run.retry_policy is not None:
            a["retryPolicy"] = run.retry_policy
        if header is not None:
            a["header"] = header
        if options.memo:
            a["memo"] = {"fields": {k: ev.payloads([v])["payloads"][0] for k, v in options.memo.items()}}
        if parent is not None:
            prun = self.runs[parent[0]]
            a["parentWorkflowExecution"] = {"workflowId": prun.workflow_id, "runId": prun.run_id}
            a["parentInitiatedEventId"] = str(parent[1])
        self.add_event(run, "WorkflowExecutionStarted", a)
        self.runs[run.run_id] = run
        self.current[key] = run.run_id
        self._save(run)
        if continued_from is not None:
            run.first_start = continued_from.first_start or continued_from.start_time
        self._deadline(run)
        if run.cron_schedule and backoff is None:
            backoff = (cron_next(run.cron_schedule, run.start_time) - run.start_time).total_seconds()
        if backoff is not None:
            a["firstWorkflowTaskBackoff"] = f"{backoff:.6f}s"
            self.at(run.start_time + timedelta(seconds=backoff), lambda: self.request_decision(run))
        else:
            self.request_decision(run)
        return run

    def request_decision(self, run: Run) -> None:
        if run.status != "running":
            return
        run.decision_owed = True
        if self.workers.get(run.task_queue):
            asyncio.get_running_loop().call_soon(self.decide, run)

    def close(self, run: Run, status: str, a: dict[str, Any]) -> None:
        if run.status != "running":
            return
        run.status = status
        run.decision_owed = False
        if status != "continued_as_new" or "newExecutionRunId" not in a:
            self.add_event(run, _CLOSE_EVENT[status], a)
        run.close_time = self.now()
        self._save(run)
        if status in ("completed", "failed"):
            wfe.telemetry.workflow_closed(ENGINE, run.workflow_type, status == "completed",
                                          (run.close_time - run.start_time).total_seconds())
        for t in run.timers.values():
            t[3] = True
        for att in run.activities.values():
            if att.task is not None and not att.task.done():
                att.task.cancel()
        if run.closed is not None:
            run.closed.set()
        if run.parent is not None and self._retry_backoff(run, status, a) is None:
            self._notify_parent(run, status, a)
        if status != "continued_as_new":   # parent close policy: terminate (the servers' default)
            for e in run.events:
                if ev.event_type(e) == "ChildWorkflowExecutionStarted":
                    child = self.runs.get(ev.attrs(e)["workflowExecution"]["runId"])
                    if child is not None and child.status == "running":
                        self.close(child, "terminated", {"reason": f"parent {run.workflow_id} {status}",
                                                         "identity": "wfkit-local"})
        retry = self._retry_backoff(run, status, a)
        if retry is not None:
            opts = StartOptions(id=run.workflow_id, task_queue=run.task_queue, run_timeout=run.run_timeout,
                                execution_timeout=run.execution_timeout, memo=run.memo or None,
                                retry_policy=_policy(run.retry_policy))
            args = ev.values(run.events[0][ev.attrs_key("WorkflowExecutionStarted")].get("input"))
            new = self.start(run.namespace, run.workflow_type, args, opts, continued_from=run,
                             attempt=run.attempt + 1, backoff=retry, parent=run.parent)
            run.next_run_id = new.run_id
            self._save(run)
        elif run.cron_schedule and status in ("completed", "failed", "timed_out"):
            opts = StartOptions(id=run.workflow_id, task_queue=run.task_queue, run_timeout=run.run_timeout,
                                execution_timeout=run.execution_timeout, memo=run.memo or None,
                                cron_schedule=run.cron_schedule)
            args = ev.values(run.events[0][ev.attrs_key("WorkflowExecutionStarted")].get("input"))
            new = self.start(run.namespace, run.workflow_type, args, opts, continued_from=run)
            run.next_run_id = new.run_id
            self._save(run)

    def _deadline(self, run: Run) -> None:
        """Time the run out at the earlier of its run timeout (from its start) and its execution timeout (from the
        start of the first run of the chain: continue-as-new, retries and cron runs included)."""
        ends = []
        if run.run_timeout is not None:
            ends.append(run.start_time + run.run_timeout)
        if run.execution_timeout is not None:
            ends.append((run.first_start or run.start_time) + run.execution_timeout)
        if ends:
            self.at(min(ends), lambda: self.close(run, "timed_out", {"retryState": "RETRY_STATE_TIMEOUT"}))

    def _retry_backoff(self, run: Run, status: str, a: dict[str, Any]) -> float | None:
        """Seconds until the next attempt of a failed or timed-out run whose retry policy allows one, else None."""
        p = run.retry_policy
        if p is None or status not in ("failed", "timed_out"):
            return None
        info = (a.get("failure") or {}).get("applicationFailureInfo") or {}
        if info.get("nonRetryable") or info.get("type") in (p.get("nonRetryableErrorTypes") or ()):
            return None
        maximum = int(p.get("maximumAttempts") or 0)
        if maximum and run.attempt >= maximum:
            return None
        interval = ev.parse_duration(p.get("initialInterval")) or 1.0
        cap = ev.parse_duration(p.get("maximumInterval")) or interval * 100
        return float(min(interval * float(p.get("backoffCoefficient") or 2.0) ** (run.attempt - 1), cap))

    def _notify_parent(self, run: Run, status: str, a: dict[str, Any]) -> None:
        assert run.parent is not None
        prun = self.runs.get(run.parent[0])
        if prun is None or prun.status != "running" or status == "continued_as_new":
            return
        base: dict[str, Any] = {"initiatedEventId": str(run.parent[1]), "namespace": run.namespace,
                                "workflowExecution": {"workflowId": run.workflow_id, "runId": run.run_id},
                                "workflowType": {"name": run.workflow_type}}
        name = {"completed": "ChildWorkflowExecutionCompleted", "failed": "ChildWorkflowExecutionFailed",
                "canceled": "ChildWorkflowExecutionCanceled", "terminated": "ChildWorkflowExecutionTerminated",
                "timed_out": "ChildWorkflowExecutionTimedOut"}[status]
        if status == "completed":
            base["result"] = a.get("result")
        elif status == "failed":
            base["failure"] = a.get("failure")
        self.add_event(prun, name, base)
        self.request_decision(prun)

    def reset(self, run: Run, event_id: int, reason: str, request_id: str) -> Run:
        """A new run of ``run``'s workflow ID whose history is ``run``'s up to the workflow task that ``event_id``
        completes, that task marked failed (reset), then the signals received after it; ``run`` is terminated."""
        done = {r.run_id: r for r in self.runs.values() if r.reset_request == request_id}
        if done:
            return next(iter(done.values()))
        names = [ev.event_type(e) for e in run.events]
        if not (0 < event_id <= len(names) and names[event_id - 1] == "WorkflowTaskCompleted"):
            raise wfe.WfkitError(f"reset: event {event_id} of {run.workflow_id!r} is not the end of a workflow task")
        new_id = str(uuid.uuid4())
        kept = [dict(e) for e in run.events[:event_id - 1]]
        start_key = ev.attrs_key("WorkflowExecutionStarted")
        kept[0] = {**kept[0], start_key: {**kept[0][start_key], "originalExecutionRunId": new_id}}
        signals = [e for e in run.events[event_id:] if ev.event_type(e) == "WorkflowExecutionSignaled"]
        if run.status == "running":
            self.close(run, "terminated", {"reason": f"reset: {reason}", "identity": "wfkit-local"})
        new = Run(run.namespace, run.workflow_id, new_id, run.workflow_type, run.task_queue, run.start_time,
                  events=kept, memo=dict(run.memo), search_attributes=dict(run.search_attributes),
                  execution_timeout=run.execution_timeout, run_timeout=run.run_timeout, task_timeout=run.task_timeout)
        new.reset_request = request_id
        self.add_event(new, "WorkflowTaskFailed", {
            "scheduledEventId": str(event_id - 2), "startedEventId": str(event_id - 1),
            "cause": "WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW", "baseRunId": run.run_id, "newRunId": new_id,
            "failure": {"message": reason, "resetWorkflowFailureInfo": {}}})
        for e in signals:
            self.add_event(new, "WorkflowExecutionSignaled", dict(ev.attrs(e)))
        self.runs[new_id] = new
        self.current[(run.namespace, run.workflow_id)] = new_id
        self._save(new)
        if self.store is not None:
            self.store.replace_events(new_id, new.events)
        self.resume(new)
        return new

    def resume(self, run: Run) -> None:
        """Pick up what ``run``'s history leaves pending: activities scheduled and not closed are scheduled again
        (from attempt 1), timers started and not fired wait for the rest of their time, children are followed;
        then a workflow task (a restarted worker resumes the run by replaying its history)."""
        closed_acts, open_timers, opened_at = set(), {}, {}
        for e in run.events:
            name, a = ev.event_type(e), ev.attrs(e)
            if name == "TimerStarted":
                open_timers[a["timerId"]] = (int(e["eventId"]), ev.parse_time(e["eventTime"]), a)
            elif name in ("TimerFired", "TimerCanceled"):
                open_timers.pop(a["timerId"], None)
            elif name == "ActivityTaskScheduled":
                opened_at[int(e["eventId"])] = a
            elif name in ("ActivityTaskCompleted", "ActivityTaskFailed", "ActivityTaskTimedOut",
                          "ActivityTaskCanceled"):
                closed_acts.add(int(a["scheduledEventId"]))
        for sid, a in opened_at.items():
            if sid not in closed_acts and sid not in run.activities:
                att = Attempt(self, run, sid, a)
                run.activities[sid] = att
                self._dispatch_activity(att)
        for timer_id, (eid, started, a) in open_timers.items():
            if timer_id not in run.timers:
                due = started + timedelta(seconds=ev.parse_duration(a["startToFireTimeout"]) or 0)
                run.timers[timer_id] = self.at(due, self._timer_fire(run, timer_id, eid))
        self._deadline(run)
        self.request_decision(run)

    def _timer_fire(self, run: Run, timer_id: str, eid: int) -> Callable[[], None]:
        def fire() -> None:
            if run.status == "running" and run.timers.pop(timer_id, None) is not None:
                self.add_event(run, "TimerFired", {"timerId": timer_id, "startedEventId": str(eid)})
                self.request_decision(run)

        return fire

    # -- workflow tasks --

    def worker_for(self, task_queue: str, workflow_type: str | None = None,
                   activity: str | None = None) -> LocalWorker | None:
        for w in self.workers.get(task_queue, []):
            if workflow_type is not None and workflow_type in w.workflows:
                return w
            if activity is not None and activity in w.activities:
                return w
        return None

    def replayer(self, run: Run, defn: WorkflowDefn) -> Replayer:
        return Replayer(defn, run.events, now=self.now(), namespace=run.namespace, workflow_id=run.workflow_id,
                        run_id=run.run_id)

    def decide(self, run: Run) -> None:
        if not run.decision_owed or run.status != "running":
            return
        if not self.workers.get(run.task_queue):
            return
        worker = self.worker_for(run.task_queue, workflow_type=run.workflow_type)
        run.decision_owed = False
        try:
            if worker is None:
                known = sorted({t for w in self.workers.get(run.task_queue, []) for t in w.workflows})
                raise wfe.WfkitError(f"workflow type {run.workflow_type!r} is not registered on the workers of task "
                                     f"queue {run.task_queue!r} (they serve {known})")
            sticky = run.sticky
            run.sticky = None
            if sticky is not None and sticky[0] is worker and sticky[1].outcome is None:
                replayer, commands = sticky[1], sticky[1].advance(sticky[2], self.now())
            else:   # no cached execution (another worker, a failed task, a restart): replay the whole history
                replayer = self.replayer(run, worker.workflows[run.workflow_type])
                commands = replayer.run()
        except Exception as exc:  # noqa: BLE001 - a workflow task fails; the run waits for fixed code
            self._task_failed(run, exc, worker.identity if worker else "wfkit-local")
            return
        if run.task_attempt > 1:
            run.task_attempt, run.task_since = 1, None
        run.task_error = None
        if not run.first_task_done and wfe.telemetry.enabled():
            _tel.instant(f"RunWorkflow:{run.workflow_type}", run.events[0][ev.attrs_key("WorkflowExecutionStarted")],
                         {"wfkit.workflow_id": run.workflow_id, "wfkit.workflow_type": run.workflow_type})
        if not run.first_task_done:
            run.first_task_done = True
            self._save(run)
        self.add_event(run, "WorkflowTaskScheduled", {"taskQueue": {"name": run.task_queue}, "attempt": 1})
        sched = len(run.events)
        self.add_event(run, "WorkflowTaskStarted", {"scheduledEventId": str(sched), "identity": worker.identity})
        self.add_event(run, "WorkflowTaskCompleted", {"scheduledEventId": str(sched),
                                                      "startedEventId": str(sched + 1),
                                                      "identity": worker.identity})
        position = len(run.events)
        for cmd in commands:
            replayer.recorded(cmd, self._record(run, cmd))
            if run.status != "running":
                break
        if run.status == "running" and not run.decision_owed:
            run.sticky = (worker, replayer, position)

    def _task_failed(self, run: Run, exc: Exception, identity: str) -> None:
        """As the servers do: the first failure of a streak is recorded (scheduled, started, failed); the task is
        retried (each second, in real time) while the attempts count up; a new worker retries it at once."""
        run.task_error = f"{type(exc).__name__}: {exc}"
        nondeterministic = isinstance(exc, wfe.NondeterminismError)
        _log.warning("workflow task of %s (%s) failed: %s", run.workflow_id, run.workflow_type, run.task_error)
        if run.task_attempt == 1:
            run.task_since = self.now()
            self.add_event(run, "WorkflowTaskScheduled", {"taskQueue": {"name": run.task_queue}, "attempt": 1})
            sched = len(run.events)
            self.add_event(run, "WorkflowTaskStarted", {"scheduledEventId": str(sched), "identity": identity})
            cause = "NON_DETERMINISTIC_ERROR" if nondeterministic else "WORKFLOW_WORKER_UNHANDLED_FAILURE"
            message = ("nondeterminism: " if nondeterministic else "") + str(exc)
            self.add_event(run, "WorkflowTaskFailed", {
                "scheduledEventId": str(sched), "startedEventId": str(sched + 1), "identity": identity,
                "cause": "WORKFLOW_TASK_FAILED_CAUSE_" + cause,
                "failure": {"message": message, "applicationFailureInfo": {"type": type(exc).__name__}}})
        run.task_attempt += 1
        run.decision_owed = True
        asyncio.get_running_loop().call_later(1.0, self.decide, run)

    def _record(self, run: Run, cmd: Any) -> int:
        """Record one command as its event (and act on it); that event's ID."""
        kind, a = cmd.kind, dict(cmd.attrs)
        done = str(len(run.events))
        first = len(run.events) + 1
        if kind == "activity":
            a["workflowTaskCompletedEventId"] = done
            if wfe.telemetry.enabled():
                carried = _tel.instant(f"StartActivity:{a['activityType']['name']}",
                                       run.events[0][ev.attrs_key("WorkflowExecutionStarted")],
                                       {"wfkit.workflow_id": run.workflow_id, "wfkit.activity_id": a["activityId"]})
                if carried is not None:
                    a["header"] = carried
            eid = self.add_event(run, "ActivityTaskScheduled", a)
            att = Attempt(self, run, eid, a)
            run.activities[eid] = att
            self._dispatch_activity(att)
        elif kind == "cancel_activity":
            sid = int(a["scheduledEventId"])
            self.add_event(run, "ActivityTaskCancelRequested", {"scheduledEventId": str(sid),
                                                                "workflowTaskCompletedEventId": done})
            pending = run.activities.get(sid)
            if pending is not None:
                pending.cancel_requested = True
                if pending.task is not None and not pending.task.done():
                    pending.task.cancel()
                elif pending.task is None:
                    run.activities.pop(sid, None)
                    self.add_event(run, "ActivityTaskCanceled", {"scheduledEventId": str(sid)})
                    self.request_decision(run)
        elif kind == "timer":
            a["workflowTaskCompletedEventId"] = done
            eid = self.add_event(run, "TimerStarted", a)
            due = self.now() + timedelta(seconds=ev.parse_duration(a["startToFireTimeout"]) or 0)
            run.timers[a["timerId"]] = self.at(due, self._timer_fire(run, a["timerId"], eid))
        elif kind == "cancel_timer":
            entry = run.timers.pop(a["timerId"], None)
            if entry is not None:
                entry[3] = True
            a["workflowTaskCompletedEventId"] = done
            self.add_event(run, "TimerCanceled", a)
        elif kind == "marker":
            a["workflowTaskCompletedEventId"] = done
            self.add_event(run, "MarkerRecorded", a)
        elif kind == "child":
            a["workflowTaskCompletedEventId"] = done
            eid = self.add_event(run, "StartChildWorkflowExecutionInitiated", a)
            self._start_child(run, eid, a)
        elif kind == "complete":
            self.close(run, "completed", {"result": a["result"], "workflowTaskCompletedEventId": done})
        elif kind == "fail":
            self.close(run, "failed", {"failure": a["failure"], "workflowTaskCompletedEventId": done,
                                       "retryState": "RETRY_STATE_RETRY_POLICY_NOT_SET"})
        elif kind == "cancel":
            self.close(run, "canceled", {"workflowTaskCompletedEventId": done})
        elif kind == "continue_as_new":
            new_args = ev.values(a["input"])
            opts = StartOptions(id=run.workflow_id, task_queue=run.task_queue, run_timeout=run.run_timeout,
                                execution_timeout=run.execution_timeout, retry_policy=_policy(run.retry_policy),
                                memo=run.memo or None, search_attributes=run.search_attributes or None)
            self.add_event(run, "WorkflowExecutionContinuedAsNew", {
                "workflowType": {"name": run.workflow_type}, "taskQueue": {"name": run.task_queue},
                "input": a["input"], "workflowTaskCompletedEventId": done, "newExecutionRunId": ""})
            self.close(run, "continued_as_new", {"newExecutionRunId": ""})
            new = self.start(run.namespace, run.workflow_type, new_args, opts, continued_from=run)
            can = run.events[-1]   # close() records no second event for continue-as-new
            can[ev.attrs_key("WorkflowExecutionContinuedAsNew")]["newExecutionRunId"] = new.run_id
            run.next_run_id = new.run_id
            self._save(run)
            if self.store is not None:
                self.store.add_event(run.run_id, can)
        return first

    def _start_child(self, parent: Run, eid: int, a: dict[str, Any]) -> None:
        memo = {k: ev.values({"payloads": [p]})[0] for k, p in a.get("memo", {}).get("fields", {}).items()}
        opts = StartOptions(id=a["workflowId"], task_queue=a["taskQueue"]["name"],
                            execution_timeout=_td(a.get("workflowExecutionTimeout")),
                            run_timeout=_td(a.get("workflowRunTimeout")), memo=memo or None,
                            id_reuse_policy="allow_duplicate", retry_policy=_policy(a.get("retryPolicy")))
        try:
            child = self.start(parent.namespace, a["workflowType"]["name"], ev.values(a["input"]), opts,
                               parent=(parent.run_id, eid))
        except wfe.WorkflowAlreadyStarted:
            self.add_event(parent, "StartChildWorkflowExecutionFailed", {
                "initiatedEventId": str(eid), "workflowId": a["workflowId"],
                "workflowType": a["workflowType"], "cause": "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_"
                                                            "WORKFLOW_ALREADY_EXISTS"})
            self.request_decision(parent)
            return
        self.add_event(parent, "ChildWorkflowExecutionStarted", {
            "initiatedEventId": str(eid), "workflowExecution": {"workflowId": child.workflow_id,
                                                                "runId": child.run_id},
            "workflowType": a["workflowType"], "namespace": parent.namespace})

    # -- activities --

    def _dispatch_activity(self, att: Attempt) -> None:
        worker = self.worker_for(att.task_queue, activity=att.name)
        if worker is None:
            s2s = att.timeout("scheduleToStartTimeout")
            s2c = att.timeout("scheduleToCloseTimeout")
            limit = min(x for x in (s2s, s2c, float("inf")) if x is not None)
            if limit != float("inf"):
                kind = "schedule_to_start" if s2s is not None and limit == s2s else "schedule_to_close"

                def expire() -> None:
                    if att.task is None:
                        self._activity_timed_out(att, kind, None)

                self.at(self.now() + timedelta(seconds=limit), expire)
            return
        self.busy += 1   # counted from now: time must not skip past an activity about to start
        att.counted = True
        att.task = asyncio.get_running_loop().create_task(self._run_activity(att, worker))
        att.task.add_done_callback(lambda _: self._uncount(att))

    def dispatch_pending(self, task_queue: str) -> None:
        for run in list(self.runs.values()):
            if run.status != "running":
                continue
            if run.task_queue == task_queue and run.decision_owed:
                asyncio.get_running_loop().call_soon(self.decide, run)
            for att in run.activities.values():
                if att.task is None and att.task_queue == task_queue:
                    self._dispatch_activity(att)

    def _activity_timed_out(self, att: Attempt, kind: str, last: dict[str, Any] | None) -> None:
        run = att.run
        if run.status != "running" or run.activities.pop(att.scheduled_id, None) is None:
            return
        f: dict[str, Any] = {"message": f"activity {kind.replace('_', '-')} timeout",
                             "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_" + kind.upper()}}
        if last is not None:
            f["cause"] = last
        self.add_event(run, "ActivityTaskTimedOut", {"scheduledEventId": str(att.scheduled_id), "failure": f,
                                                     "retryState": "RETRY_STATE_TIMEOUT"})
        self.request_decision(run)

    def _uncount(self, att: Attempt) -> None:
        if att.counted:
            att.counted = False
            self.busy -= 1

    async def _run_activity(self, att: Attempt, worker: LocalWorker) -> None:
        self._uncount(att)
        run, defn = att.run, worker.activities[att.name]
        policy = att.a.get("retryPolicy") or {}
        max_attempts = int(policy.get("maximumAttempts") or 0)
        interval = ev.parse_duration(policy.get("initialInterval")) or 1.0
        coef = float(policy.get("backoffCoefficient") or 2.0)
        max_interval = ev.parse_duration(policy.get("maximumInterval")) or interval * 100
        non_retryable = set(policy.get("nonRetryableErrorTypes") or ())
        s2c = att.timeout("scheduleToCloseTimeout")
        stc = att.timeout("startToCloseTimeout")
        hb = att.timeout("heartbeatTimeout")
        deadline = time.monotonic() + s2c if s2c is not None else None
        while True:
            att.info = att._info()
            att.last_heartbeat = time.monotonic()
            att.last_started_time, att.next_attempt_time, att.identity = self.now(), None, worker.identity
            limit = min((x for x in (stc, None if deadline is None else deadline - time.monotonic())
                         if x is not None), default=None)
            kind = "start_to_close" if limit == stc else "schedule_to_close"
            self.busy += 1   # waiting for a slot counts: the attempt is about to run
            outcome: tuple[str, Any]
            try:
                async with worker.slots():
                    outcome = await self._attempt(att, defn, limit, kind, hb)
            except asyncio.CancelledError:
                outcome = ("canceled", None)
            finally:
                self.busy -= 1
            if run.status != "running" or att.scheduled_id not in run.activities:
                return
            what, value = outcome
            started = {"scheduledEventId": str(att.scheduled_id), "attempt": att.attempt,
                       "identity": worker.identity}
            if what == "ok":
                run.activities.pop(att.scheduled_id, None)
                sid = self.add_event(run, "ActivityTaskStarted", started)
                self.add_event(run, "ActivityTaskCompleted", {"scheduledEventId": str(att.scheduled_id),
                                                              "startedEventId": str(sid), "result": value})
                self.request_decision(run)
                return
            if what == "canceled" or att.cancel_requested:
                run.activities.pop(att.scheduled_id, None)
                sid = self.add_event(run, "ActivityTaskStarted", started)
                self.add_event(run, "ActivityTaskCanceled", {"scheduledEventId": str(att.scheduled_id),
                                                             "startedEventId": str(sid)})
                self.request_decision(run)
                return
            assert value is not None
            info = value.get("applicationFailureInfo", {})
            retryable = not (what == "failed" and (info.get("nonRetryable") or info.get("type") in non_retryable))
            if what == "timeout" and value["timeoutFailureInfo"]["timeoutType"] == "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE":
                retryable = False
            backoff = min(interval * coef ** (att.attempt - 1), max_interval)
            exhausted = max_attempts and att.attempt >= max_attempts
            late = deadline is not None and time.monotonic() + backoff >= deadline
            if not retryable or exhausted or late:
                run.activities.pop(att.scheduled_id, None)
                started["lastFailure"] = value
                sid = self.add_event(run, "ActivityTaskStarted", started)
                state = ("RETRY_STATE_NON_RETRYABLE_FAILURE" if not retryable else
                         "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED" if exhausted else "RETRY_STATE_TIMEOUT")
                name = "ActivityTaskFailed" if what == "failed" else "ActivityTaskTimedOut"
                self.add_event(run, name, {"scheduledEventId": str(att.scheduled_id), "startedEventId": str(sid),
                                           "failure": value, "retryState": state})
                self.request_decision(run)
                return
            err = ev.from_failure(value)
            att.last_failure = wfe_describe(err) if err is not None else None
            att.next_attempt_time = self.now() + timedelta(seconds=backoff)
            att.last_started_time = None
            await self.sleep(backoff)
            att.attempt += 1

    async def _attempt(self, att: Attempt, defn: ActivityDefn, limit: float | None, kind: str,
                       hb: float | None) -> tuple[str, Any]:
        def call() -> Any:
            return to_json_value(defn.fn(*defn.sig.decode_args(ev.values(att.a.get("input")))))

        async def body() -> Any:
            _activity.set(att)
            if defn.is_async:
                return to_json_value(await defn.fn(*defn.sig.decode_args(ev.values(att.a.get("input")))))
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="wfkit-local")
            ctx = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(self._executor, ctx.run, call)

        async def traced() -> Any:
            with _tel.run_activity(att.name, att.a, {"wfkit.workflow_id": att.run.workflow_id,
                                                     "wfkit.activity_id": att.a["activityId"]}):
                return await body()

        task = asyncio.get_running_loop().create_task(traced())
        wfe.telemetry.activity_started(ENGINE, att.name)
        t0, ok = time.monotonic(), False
        try:
            while True:
                step = 0.05
                if limit is not None:
                    step = min(step, max(t0 + limit - time.monotonic(), 0))
                done, _ = await asyncio.wait({task}, timeout=step)
                if done:
                    break
                if limit is not None and time.monotonic() - t0 >= limit:
                    task.cancel()
                    return "timeout", {"message": f"activity {kind.replace('_', '-')} timeout",
                                       "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_" + kind.upper()}}
                if hb is not None and time.monotonic() - att.last_heartbeat > hb:
                    task.cancel()
                    return "timeout", {"message": "activity heartbeat timeout",
                                       "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_HEARTBEAT"}}
            try:
                value = task.result()
            except asyncio.CancelledError:
                return "canceled", None
            except Exception as exc:  # noqa: BLE001 - the activity's failure is recorded
                return "failed", ev.failure(exc)
            ok = True
            return "ok", ev.payloads([value])
        except asyncio.CancelledError:
            task.cancel()
            try:
                await asyncio.wait({task}, timeout=5)
            finally:
                pass
            return "canceled", None
        finally:
            wfe.telemetry.activity_closed(ENGINE, att.name, ok, time.monotonic() - t0)


def _policy(p: dict[str, Any] | None) -> wfe.RetryPolicy | None:
    """A retry policy back from its Temporal JSON."""
    if p is None:
        return None
    return wfe.RetryPolicy(initial_interval=timedelta(seconds=ev.parse_duration(p.get("initialInterval")) or 1.0),
                           backoff_coefficient=float(p.get("backoffCoefficient") or 2.0),
                           maximum_interval=_td(p.get("maximumInterval")),
                           maximum_attempts=int(p.get("maximumAttempts") or 0),
                           non_retryable_error_types=tuple(p.get("nonRetryableErrorTypes") or ()))


def cron_next(expr: str, after: datetime) -> datetime:
    """The first time after ``after`` that cron expression ``expr`` names (``@every 5m`` too)."""
    text = expr.strip()
    if text.startswith("@every"):
        import re

        total = 0.0
        for n, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text):
            total += float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        if total <= 0:
            raise wfe.WfkitError(f"cron_schedule {expr!r}: @every needs a duration such as 5m")
        return after + timedelta(seconds=total)
    from croniter import croniter

    try:
        out: datetime = croniter(text, after).get_next(datetime)
    except (ValueError, KeyError) as exc:
        raise wfe.WfkitError(f"cron_schedule {expr!r}: {exc}") from None
    return out


def wfe_describe(err: BaseException) -> str:
    """``Type: message`` of a failure (its ApplicationError type when it has one)."""
    kind = getattr(err, "type", None) or type(err).__name__
    return f"{kind}: {getattr(err, 'message', str(err))}"


def _td(s: str | None) -> timedelta | None:
    v = ev.parse_duration(s)
    return None if v is None else timedelta(seconds=v)


class LocalWorker:
    """A worker of the local engine: the definitions it serves on one task queue."""

    def __init__(self, server: LocalServer, task_queue: str, workflows: list[WorkflowDefn],
                 activities: list[ActivityDefn], identity: str, max_concurrent_activities: int | None = None):
        self.server, self.task_queue, self.identity = server, task_queue, identity
        self.workflows = {w.name: w for w in workflows}
        self.activities = {a.name: a for a in activities}
        self.started_at: datetime | None = None
        self.max_concurrent_activities = max_concurrent_activities
        self._slots: asyncio.Semaphore | None = None

    def slots(self) -> asyncio.Semaphore | contextlib.nullcontext[None]:
        """At most ``max_concurrent_activities`` attempts at once (no limit without it)."""
        if not self.max_concurrent_activities:
            return contextlib.nullcontext()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent_activities)
        return self._slots

    async def start(self) -> None:
        self.started_at = self.server.now()
        self.server.workers.setdefault(self.task_queue, []).append(self)
        self.server.dispatch_pending(self.task_queue)

    async def stop(self) -> None:
        ws = self.server.workers.get(self.task_queue, [])
        if self in ws:
            ws.remove(self)
        if not ws:
            self.server.workers.pop(self.task_queue, None)
