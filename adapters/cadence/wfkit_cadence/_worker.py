"""A wfkit worker on Cadence: decision and activity pollers on wfkit's loop.

Decision tasks go through cadence-python-client's workflow engine (see ``_workflow``) in a small thread pool: its
deterministic event loop must run in a thread of its own, never on wfkit's loop.

Sticky execution (the SDK has none; this is the Go and Java clients' protocol): the worker keeps each run's
workflow engine between decision tasks in a bounded LRU cache (``max_cached_workflows``, default 1000; 0 turns it
off), polls a task list of its own (kind STICKY) besides the normal one, and answers decisions with
``sticky_attributes`` naming it. The server then sends that run's next decision task to the sticky list with only
the events since the last one, and the cached engine applies just those: a long workflow costs linear time, not
quadratic. A sticky task whose run is not cached (evicted, or the events do not follow on from the cached state)
fetches the full history and replays it; a task from the normal list (always a full history) replays in full
too. A run is evicted when its decision task fails, when its decisions close it, and when the cache overflows.
Queries on a cached run (sticky query tasks carry no events) are answered from the cached state. On stop the
worker resets the stickiness of its cached runs, so that their next tasks go to the normal list at once instead
of after the sticky schedule-to-start timeout. A decision task that fails (nondeterminism, a version
outside the supported range, a bug in workflow code that is not an uncaught exception) is reported failed after
a short backoff that grows with its attempt, so a broken deployment does not spin the server.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import logging
import uuid
from typing import Any

from cadence import error as cerr
from cadence._internal.workflow.history_event_iterator import iterate_history_events
from cadence.api.v1.common_pb2 import Payload
from cadence.api.v1.query_pb2 import QUERY_RESULT_TYPE_FAILED, WorkflowQueryResult
from cadence.api.v1.service_worker_pb2 import (
    PollForActivityTaskRequest,
    PollForActivityTaskResponse,
    PollForDecisionTaskRequest,
    PollForDecisionTaskResponse,
    ResetStickyTaskListRequest,
    RespondDecisionTaskCompletedRequest,
    RespondDecisionTaskFailedRequest,
    RespondQueryTaskCompletedRequest,
)
from cadence.api.v1.tasklist_pb2 import StickyExecutionAttributes, TaskList, TaskListKind
from cadence.api.v1.workflow_pb2 import DecisionTaskFailedCause
from cadence.metrics import NoOpMetricsEmitter
from grpc import StatusCode

from wfkit.engine import ActivityDefn, WorkflowDefn, register_runtime

from ._activity import ActivityAttempt, CadenceActivityRuntime, run_activity
from ._workflow import CadenceWorkflowRuntime, WfkitWorkflowEngine, cadence_definition, new_engine

logger = logging.getLogger("wfkit.cadence")

register_runtime(CadenceWorkflowRuntime(), CadenceActivityRuntime())

LONG_POLL = 70.0
POLLERS = 4
DEFAULT_CACHED_WORKFLOWS = 1000
STICKY_SCHEDULE_TO_START = 5
"""Seconds a sticky decision task waits for this worker before the server hands it to the normal task list."""
STICKY_QUERY_HEADERS = (("cadence-client-feature-version", "1.0.0"),)
"""Sent with a sticky decision's completion: the server records the worker's client feature version with the
run's stickiness and sends queries to the sticky list only for versions from 1.0.0 on (a client that names no
implementation, as this one, is checked for that version alone); else every query replays the full history."""
_CLOSING_DECISIONS = frozenset({
    "complete_workflow_execution_decision_attributes", "fail_workflow_execution_decision_attributes",
    "cancel_workflow_execution_decision_attributes", "continue_as_new_workflow_execution_decision_attributes"})


@dataclasses.dataclass
class CachedRun:
    """A run's workflow engine between decision tasks, and the DecisionTaskStarted of the last one it answered."""

    engine: WfkitWorkflowEngine
    started_event_id: int
    execution: Any
    """The run's WorkflowExecution (workflow and run ID)."""
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    """Held while a decision or query task uses the engine (the server may send a query during a decision)."""


class StickyCache:
    """At most ``size`` runs' workflow state, by run ID; the least recently used is evicted first."""

    def __init__(self, size: int):
        self.size = size
        self._runs: collections.OrderedDict[str, CachedRun] = collections.OrderedDict()
        self.stats = {"hits": 0, "misses": 0, "full_replays": 0, "evictions": 0, "query_hits": 0}
        """hits: sticky tasks answered from the cache; misses: sticky tasks that had to fetch and replay the full
        history; full_replays: every task replayed from the first event (misses included); evictions: runs pushed
        out by newer ones; query_hits: queries answered from the cache."""

    def __len__(self) -> int:
        return len(self._runs)

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._runs

    def get(self, run_id: str) -> CachedRun | None:
        run = self._runs.get(run_id)
        if run is not None:
            self._runs.move_to_end(run_id)
        return run

    def put(self, run_id: str, run: CachedRun) -> None:
        self._runs[run_id] = run
        self._runs.move_to_end(run_id)
        while len(self._runs) > self.size:
            self._runs.popitem(last=False)
            self.stats["evictions"] += 1

    def evict(self, run_id: str) -> None:
        self._runs.pop(run_id, None)

    def runs(self) -> list[CachedRun]:
        return list(self._runs.values())

    def clear(self) -> None:
        self._runs.clear()


class CadenceWorker:
    """Polls one task list for decision tasks (if it serves workflows) and activity tasks (if activities)."""

    def __init__(self, client: Any, task_queue: str, workflows: list[WorkflowDefn], activities: list[ActivityDefn],
                 *, max_concurrent_activities: int | None = None, max_concurrent_workflow_tasks: int | None = None,
                 max_cached_workflows: int | None = None):
        self.client = client
        self.task_queue = task_queue
        self.identity = f"{client.identity}@{task_queue}@{uuid.uuid4().hex[:8]}"
        self.workflows = {d.name: cadence_definition(d) for d in workflows}
        self.activities = {d.name: d for d in activities}
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_concurrent_activities or 32,
                                                              thread_name_prefix="wfkit-activity")
        self._decision_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_concurrent_workflow_tasks or 8, thread_name_prefix="wfkit-cadence-decision")
        self._max_activities = max_concurrent_activities or 200
        self._max_decisions = max_concurrent_workflow_tasks or 64
        self.running_activities: set[ActivityAttempt] = set()
        self._pollers: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._task_list = TaskList(name=task_queue, kind=TaskListKind.TASK_LIST_KIND_NORMAL)
        # checked by the core's Client.worker (a whole number >= 0)
        size = DEFAULT_CACHED_WORKFLOWS if max_cached_workflows is None else max_cached_workflows
        self.cache = StickyCache(size)
        self._sticky_list = TaskList(name=f"{self.identity}:sticky", kind=TaskListKind.TASK_LIST_KIND_STICKY)
        self._sticky_attributes: StickyExecutionAttributes | None = None
        if size and workflows:
            self._sticky_attributes = StickyExecutionAttributes(worker_task_list=self._sticky_list)
            self._sticky_attributes.schedule_to_start_timeout.FromSeconds(STICKY_SCHEDULE_TO_START)

    @property
    def _stub(self) -> Any:
        return self.client.raw.worker_stub

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.workflows:
            slots = asyncio.Semaphore(self._max_decisions)
            self._pollers += [loop.create_task(self._poll(self._poll_decision, self._handle_decision, slots))
                              for _ in range(POLLERS)]
            if self._sticky_attributes is not None:
                self._pollers += [loop.create_task(self._poll(self._poll_sticky, self._handle_decision, slots))
                                  for _ in range(POLLERS)]
        if self.activities:
            slots = asyncio.Semaphore(self._max_activities)
            self._pollers += [loop.create_task(self._poll(self._poll_activity, self._handle_activity, slots))
                              for _ in range(POLLERS)]
        await asyncio.sleep(0)

    async def stop(self) -> None:
        self._stopping = True
        for t in self._pollers:
            t.cancel()
        await asyncio.gather(*self._pollers, return_exceptions=True)
        self._pollers.clear()
        for attempt in list(self.running_activities):  # as on Temporal: running activities are cancelled
            attempt.shutting_down = True
            attempt.cancel()
        if self._inflight:
            _, pending = await asyncio.wait(list(self._inflight), timeout=10)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        await self._reset_stickiness()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._decision_executor.shutdown(wait=False, cancel_futures=True)

    # --- polling ---------------------------------------------------------------------------------------
    async def _poll(self, poll: Any, handle: Any, slots: asyncio.Semaphore) -> None:
        failures = 0
        while not self._stopping:
            await slots.acquire()
            try:
                task = await poll()
            except asyncio.CancelledError:
                slots.release()
                raise
            except cerr.CadenceRpcError as exc:
                slots.release()
                if exc.code == StatusCode.DEADLINE_EXCEEDED:
                    continue
                failures += 1
                logger.warning("polling task list %r failed (%s): %s", self.task_queue, exc.code.name, exc)
                await asyncio.sleep(min(0.2 * 2 ** failures, 10))
                continue
            except Exception:
                slots.release()
                failures += 1
                logger.exception("polling task list %r failed", self.task_queue)
                await asyncio.sleep(min(0.2 * 2 ** failures, 10))
                continue
            failures = 0
            if not task.task_token:
                slots.release()
                continue
            t = asyncio.get_running_loop().create_task(handle(task))
            self._inflight.add(t)
            t.add_done_callback(self._inflight.discard)
            t.add_done_callback(lambda _t: slots.release())

    async def _poll_decision(self) -> PollForDecisionTaskResponse:
        return await self._stub.PollForDecisionTask(
            PollForDecisionTaskRequest(domain=self.client.domain, task_list=self._task_list, identity=self.identity),
            timeout=LONG_POLL)

    async def _poll_sticky(self) -> PollForDecisionTaskResponse:
        return await self._stub.PollForDecisionTask(
            PollForDecisionTaskRequest(domain=self.client.domain, task_list=self._sticky_list,
                                       identity=self.identity),
            timeout=LONG_POLL)

    async def _reset_stickiness(self) -> None:
        """The cached runs' next decision tasks go to the normal task list (to any worker) from now on."""
        runs, domain = self.cache.runs(), self.client.domain
        self.cache.clear()
        if not runs:
            return

        async def reset(run: CachedRun) -> None:
            await self._stub.ResetStickyTaskList(ResetStickyTaskListRequest(
                domain=domain, workflow_execution=run.execution), timeout=5)

        results = await asyncio.gather(*(reset(r) for r in runs), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:  # harmless: the server moves those tasks to the normal list after the sticky timeout
            logger.debug("resetting stickiness of %d of %d runs failed: %s", len(failed), len(runs), failed[0])

    async def _poll_activity(self) -> PollForActivityTaskResponse:
        return await self._stub.PollForActivityTask(
            PollForActivityTaskRequest(domain=self.client.domain, task_list=self._task_list, identity=self.identity),
            timeout=LONG_POLL)

    async def _handle_activity(self, task: PollForActivityTaskResponse) -> None:
        try:
            await run_activity(self, task)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("activity task %s of %r could not be run", task.activity_id,
                             task.workflow_execution.workflow_id)

    # --- decision tasks ----------------------------------------------------------------------------------
    async def _handle_decision(self, task: PollForDecisionTaskResponse) -> None:
        is_query = task.HasField("query")
        wf_type = task.workflow_type.name
        execution = task.workflow_execution
        try:
            defn = self.workflows.get(wf_type)
            if defn is None:
                raise LookupError(f"workflow type {wf_type!r} is not registered on the worker for task list "
                                  f"{self.task_queue!r} (it serves {sorted(self.workflows)})")
            if is_query and task.query.query_type not in defn.queries:
                # answered here, before the SDK's engine would log the failure with a traceback
                known = ", ".join(sorted(q for q in defn.queries if not q.startswith("__"))) or "none"
                raise LookupError(f"unknown query type {task.query.query_type!r} for {wf_type} (known: {known})")
            result = await (self._answer_query(task, defn) if is_query else self._decide(task, defn))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, the decision task is reported failed
            if not is_query:
                self.cache.evict(execution.run_id)
            await self._fail_decision(task, exc)
            return
        try:
            if is_query:
                await self._stub.RespondQueryTaskCompleted(RespondQueryTaskCompletedRequest(
                    task_token=task.task_token, result=result.query_result))
            else:
                await self._stub.RespondDecisionTaskCompleted(RespondDecisionTaskCompletedRequest(
                    task_token=task.task_token, decisions=result.decisions, identity=self.identity,
                    sticky_attributes=self._sticky_attributes),
                    metadata=STICKY_QUERY_HEADERS if self._sticky_attributes is not None else None)
        except (cerr.EntityNotExistsError, cerr.WorkflowExecutionAlreadyCompletedError):
            if not is_query:
                self.cache.evict(execution.run_id)
            logger.debug("decision task of %r ended before it was answered", execution.workflow_id)
        except cerr.CadenceRpcError as exc:
            if not is_query:  # the cached state holds decisions the server did not take
                self.cache.evict(execution.run_id)
            logger.warning("the server refused the decisions of %r (%s): %s", execution.workflow_id,
                           exc.code.name, exc)

    async def _events(self, task: PollForDecisionTaskResponse) -> tuple[list[Any], bool]:
        """The task's events, and whether they are the run's whole history (else: a sticky task's new events)."""
        events = [e async for e in iterate_history_events(task, self.client.raw, NoOpMetricsEmitter())]
        return events, bool(events) and events[0].event_id == 1

    async def _full_history(self, task: PollForDecisionTaskResponse) -> list[Any]:
        """The run's whole history up to this task's DecisionTaskStarted (all of it for a query task)."""
        ex = task.workflow_execution
        events = await self.client.history_events(ex.workflow_id, ex.run_id)
        if task.started_event_id and not task.HasField("query"):
            events = [e for e in events if e.event_id <= task.started_event_id]
        return events

    def _new_engine(self, defn: Any, task: PollForDecisionTaskResponse, events: list[Any],
                    *, recording: bool) -> WfkitWorkflowEngine:
        if not events or not events[0].HasField("workflow_execution_started_event_attributes"):
            raise ValueError("the workflow's history does not start with WorkflowExecutionStarted")
        ex = task.workflow_execution
        return new_engine(defn, events, domain=self.client.domain, workflow_id=ex.workflow_id, run_id=ex.run_id,
                          workflow_type=task.workflow_type.name, task_queue=self.task_queue, recording=recording)

    async def _decide(self, task: PollForDecisionTaskResponse, defn: Any) -> Any:
        run_id = task.workflow_execution.run_id
        loop = asyncio.get_running_loop()
        events, whole = await self._events(task)
        if not whole:
            cached = self.cache.get(run_id)
            if cached is not None and events and events[0].event_id == cached.started_event_id + 1:
                async with cached.lock:
                    result = await loop.run_in_executor(self._decision_executor, cached.engine.process_new_events,
                                                        events)
                self.cache.stats["hits"] += 1
                self._remember(task, cached.engine, result)
                return result
            # evicted, or the events do not follow on from the cached state: replay the whole history
            self.cache.stats["misses"] += 1
            events = await self._full_history(task)
        self.cache.evict(run_id)
        self.cache.stats["full_replays"] += 1
        engine = self._new_engine(defn, task, events, recording=True)
        result = await loop.run_in_executor(self._decision_executor, engine.process_decision, events, None)
        self._remember(task, engine, result)
        return result

    def _remember(self, task: PollForDecisionTaskResponse, engine: WfkitWorkflowEngine, result: Any) -> None:
        """Keep the run's engine for its next (sticky) decision task, unless these decisions close the run."""
        run_id = task.workflow_execution.run_id
        if not self.cache.size or any(d.WhichOneof("attributes") in _CLOSING_DECISIONS for d in result.decisions):
            self.cache.evict(run_id)
            return
        cached = self.cache.get(run_id)
        if cached is not None and cached.engine is engine:
            cached.started_event_id = task.started_event_id
        else:
            self.cache.put(run_id, CachedRun(engine, task.started_event_id, task.workflow_execution))

    async def _answer_query(self, task: PollForDecisionTaskResponse, defn: Any) -> Any:
        loop = asyncio.get_running_loop()
        events, whole = await self._events(task)
        if not whole:  # a sticky query: no events, the cached state answers
            cached = self.cache.get(task.workflow_execution.run_id)
            if cached is not None:
                async with cached.lock:
                    result = await loop.run_in_executor(self._decision_executor, cached.engine.answer_query,
                                                        task.query)
                self.cache.stats["query_hits"] += 1
                return result
            events = await self._full_history(task)
        engine = self._new_engine(defn, task, events, recording=False)
        return await loop.run_in_executor(self._decision_executor, engine.process_decision, events, task.query)

    async def _fail_decision(self, task: PollForDecisionTaskResponse, exc: Exception) -> None:
        execution = task.workflow_execution
        message = f"{type(exc).__name__}: {exc}"
        try:
            if task.HasField("query"):
                await self._stub.RespondQueryTaskCompleted(RespondQueryTaskCompletedRequest(
                    task_token=task.task_token,
                    result=WorkflowQueryResult(result_type=QUERY_RESULT_TYPE_FAILED, error_message=message)))
                return
            logger.error("decision task of workflow %r (%s, attempt %d) failed: %s", execution.workflow_id,
                         task.workflow_type.name, task.attempt + 1, message,
                         exc_info=not isinstance(exc, LookupError))
            if task.attempt > 0:  # the same failure again: back off before the server hands it out once more
                await asyncio.sleep(min(float(task.attempt), 5.0))
            cause = (DecisionTaskFailedCause.DECISION_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE)
            await self._stub.RespondDecisionTaskFailed(RespondDecisionTaskFailedRequest(
                task_token=task.task_token, cause=cause, identity=self.identity,
                details=Payload(data=message.encode("utf-8", errors="replace")[:16_000])))
        except (cerr.EntityNotExistsError, cerr.WorkflowExecutionAlreadyCompletedError):
            pass
        except cerr.CadenceRpcError as rpc:
            logger.warning("could not report a failed decision task of %r: %s", execution.workflow_id, rpc)
