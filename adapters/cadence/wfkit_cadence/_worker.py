"""A wfkit worker on Cadence: decision and activity pollers on wfkit's loop.

Decision tasks go through cadence-python-client's workflow engine (see ``_workflow``), which replays the full
history on every task (the SDK has no sticky cache yet) in a small thread pool: its deterministic event loop
must run in a thread of its own, never on wfkit's loop. A decision task that fails (nondeterminism, a version
outside the supported range, a bug in workflow code that is not an uncaught exception) is reported failed after
a short backoff that grows with its attempt, so a broken deployment does not spin the server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
    RespondDecisionTaskCompletedRequest,
    RespondDecisionTaskFailedRequest,
    RespondQueryTaskCompletedRequest,
)
from cadence.api.v1.tasklist_pb2 import TaskList, TaskListKind
from cadence.api.v1.workflow_pb2 import DecisionTaskFailedCause
from cadence.metrics import NoOpMetricsEmitter
from grpc import StatusCode

from wfkit.engine import ActivityDefn, WorkflowDefn, register_runtime

from ._activity import ActivityAttempt, CadenceActivityRuntime, run_activity
from ._workflow import CadenceWorkflowRuntime, cadence_definition, new_engine

logger = logging.getLogger("wfkit.cadence")

register_runtime(CadenceWorkflowRuntime(), CadenceActivityRuntime())

LONG_POLL = 70.0
POLLERS = 4


class CadenceWorker:
    """Polls one task list for decision tasks (if it serves workflows) and activity tasks (if activities)."""

    def __init__(self, client: Any, task_queue: str, workflows: list[WorkflowDefn], activities: list[ActivityDefn],
                 *, max_concurrent_activities: int | None = None, max_concurrent_workflow_tasks: int | None = None):
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

    @property
    def _stub(self) -> Any:
        return self.client.raw.worker_stub

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.workflows:
            slots = asyncio.Semaphore(self._max_decisions)
            self._pollers += [loop.create_task(self._poll(self._poll_decision, self._handle_decision, slots))
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
            events = [e async for e in iterate_history_events(task, self.client.raw, NoOpMetricsEmitter())]
            if not events or not events[0].HasField("workflow_execution_started_event_attributes"):
                raise ValueError("the workflow's history does not start with WorkflowExecutionStarted")
            engine = new_engine(defn, events, domain=self.client.domain, workflow_id=execution.workflow_id,
                                run_id=execution.run_id, workflow_type=wf_type, task_queue=self.task_queue,
                                recording=not is_query)
            result = await asyncio.get_running_loop().run_in_executor(
                self._decision_executor, engine.process_decision, events, task.query if is_query else None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, the decision task is reported failed
            await self._fail_decision(task, exc)
            return
        try:
            if is_query:
                await self._stub.RespondQueryTaskCompleted(RespondQueryTaskCompletedRequest(
                    task_token=task.task_token, result=result.query_result))
            else:
                await self._stub.RespondDecisionTaskCompleted(RespondDecisionTaskCompletedRequest(
                    task_token=task.task_token, decisions=result.decisions, identity=self.identity))
        except (cerr.EntityNotExistsError, cerr.WorkflowExecutionAlreadyCompletedError):
            logger.debug("decision task of %r ended before it was answered", execution.workflow_id)
        except cerr.CadenceRpcError as exc:
            logger.warning("the server refused the decisions of %r (%s): %s", execution.workflow_id,
                           exc.code.name, exc)

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
