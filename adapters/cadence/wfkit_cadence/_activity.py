"""wfkit activities on Cadence: one attempt's context (info, heartbeats, cancellation) and its execution.

wfkit runs activity tasks itself rather than through the SDK's ActivityExecutor, whose failure report is the
exception's class name and a traceback: wfkit reports SPEC's failure document (reason = error type or
``wfkit:NonRetryable``), runs ``async def`` activities on wfkit's loop and plain ``def`` ones in the worker's
thread pool, and numbers attempts from 1 as on Temporal (Cadence counts from 0).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import Any

from cadence import error as cerr
from cadence.api.v1.service_worker_pb2 import (
    PollForActivityTaskResponse,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
)

import wfkit.engine as wfe
from wfkit.engine import ActivityDefn, ActivityInfo, telemetry, to_json_value

from . import _telemetry
from ._convert import decode_values, encode_failure, encode_values

logger = logging.getLogger("wfkit.cadence")

_current: contextvars.ContextVar[ActivityAttempt | None] = contextvars.ContextVar("wfkit_cadence_activity",
                                                                                  default=None)


class ActivityAttempt:
    """One running activity attempt: what ``wfkit.activity_info()`` and ``wfkit.heartbeat()`` reach."""

    def __init__(self, worker: Any, task: PollForActivityTaskResponse, info: ActivityInfo):
        self.worker = worker
        self.task = task
        self.info = info
        self.loop = asyncio.get_running_loop()
        self.run_task: asyncio.Task[Any] | None = None
        self.cancel_requested = False
        self.shutting_down = False
        hb = task.heartbeat_timeout.ToTimedelta().total_seconds() if task.HasField("heartbeat_timeout") else 0
        # wfkit asks Cadence for the user's heartbeat timeout + 1 s (see _workflow: Cadence checks whole
        # seconds); beats 0.8 x the user's timeout apart, as Temporal's clients do, are then always in time.
        self._hb_interval = min(max(hb - 1, 0.5) * 0.8, 30.0) if hb > 0 else 30.0
        self._hb_details: list[Any] = []
        self._hb_task: asyncio.Task[None] | None = None
        self._hb_pending = False
        self._hb_last = 0.0

    # --- heartbeats (coalesced: at most one in flight, then the latest details) -----------------------
    def heartbeat(self, details: list[Any]) -> None:
        self._hb_details = details
        if _on_loop(self.loop):
            self._schedule_heartbeat()
        else:
            self.loop.call_soon_threadsafe(self._schedule_heartbeat)

    def _schedule_heartbeat(self) -> None:
        if self._hb_task is None or self._hb_task.done():
            self._hb_task = self.loop.create_task(self._send_heartbeats())
        else:
            self._hb_pending = True

    async def _send_heartbeats(self) -> None:
        while True:
            self._hb_pending = False
            wait = self._hb_last + self._hb_interval - time.monotonic() if self._hb_last else 0
            if wait > 0:
                await asyncio.sleep(wait)
            self._hb_last = time.monotonic()
            try:
                resp = await self.worker.client.raw.worker_stub.RecordActivityTaskHeartbeat(
                    RecordActivityTaskHeartbeatRequest(task_token=self.task.task_token,
                                                       details=encode_values(self._hb_details),
                                                       identity=self.worker.identity))
                if resp.cancel_requested:
                    self.cancel()
            except (cerr.EntityNotExistsError, cerr.WorkflowExecutionAlreadyCompletedError):
                self.cancel()  # the attempt timed out or the workflow closed: nobody waits for it any more
            except Exception:  # a lost heartbeat is not the activity's failure
                logger.warning("activity heartbeat failed", exc_info=True)
            if not self._hb_pending:
                return

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.run_task is not None and not self.run_task.done():
            self.run_task.cancel()

    async def flush(self) -> None:
        if self._hb_task is not None and not self._hb_task.done():
            self._hb_task.cancel()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class CadenceActivityRuntime:
    engine = "cadence"

    def active(self) -> bool:
        return _current.get() is not None

    def heartbeat(self, details: list[Any]) -> None:
        attempt = _current.get()
        if attempt is None:
            raise wfe.WfkitError("wfkit.heartbeat() can only be called from an activity run by a wfkit worker")
        attempt.heartbeat(details)

    def info(self) -> ActivityInfo:
        attempt = _current.get()
        if attempt is None:
            raise wfe.WfkitError("wfkit.activity_info() can only be called from an activity run by a wfkit worker")
        return attempt.info


async def run_activity(worker: Any, task: PollForActivityTaskResponse) -> None:
    """Run one activity task to its end and report the outcome to the server (traced and counted when
    ``wfkit.telemetry`` is on)."""
    if not telemetry.enabled():
        await _run_activity(worker, task)
        return
    name = task.activity_type.name
    telemetry.activity_started("cadence", name)
    t0 = time.monotonic()
    ok = False
    try:
        with _telemetry.run_activity(name, task.header, {
                "wfkit.workflow_id": task.workflow_execution.workflow_id,
                "wfkit.run_id": task.workflow_execution.run_id, "wfkit.activity_id": task.activity_id}):
            ok = await _run_activity(worker, task)
    finally:
        telemetry.activity_closed("cadence", name, ok, time.monotonic() - t0)


async def _run_activity(worker: Any, task: PollForActivityTaskResponse) -> bool:
    """Run the activity, report its outcome; True when it completed."""
    name = task.activity_type.name
    info = ActivityInfo(engine="cadence", activity_id=task.activity_id, activity_type=name, attempt=task.attempt + 1,
                        workflow_id=task.workflow_execution.workflow_id, run_id=task.workflow_execution.run_id,
                        task_queue=worker.task_queue,
                        heartbeat_details=tuple(decode_values(task.heartbeat_details)))
    attempt = ActivityAttempt(worker, task, info)
    defn: ActivityDefn | None = worker.activities.get(name)
    worker.running_activities.add(attempt)
    try:
        if defn is None:
            raise wfe.ApplicationError(
                f"activity type {name!r} is not registered on the worker for task queue {worker.task_queue!r} "
                f"(it serves {sorted(worker.activities)})", type="ActivityNotRegistered")
        args = defn.sig.decode_args(decode_values(task.input))
        token = _current.set(attempt)
        try:
            if defn.is_async:
                attempt.run_task = asyncio.get_running_loop().create_task(defn.fn(*args))
                result = await attempt.run_task
            else:
                ctx = contextvars.copy_context()
                result = await asyncio.get_running_loop().run_in_executor(worker.executor, ctx.run, defn.fn, *args)
        finally:
            _current.reset(token)
        payload = encode_values([to_json_value(result)])
    except asyncio.CancelledError:
        if attempt.cancel_requested and not attempt.shutting_down:
            await _respond(worker, RespondActivityTaskCanceledRequest(task_token=task.task_token,
                                                                      identity=worker.identity), "canceled")
            return False
        if attempt.shutting_down:
            err = wfe.ApplicationError("the worker shut down while the activity ran", type="WorkerShutdown")
            await _respond(worker, RespondActivityTaskFailedRequest(task_token=task.task_token,
                                                                    failure=encode_failure(err),
                                                                    identity=worker.identity), "failed")
            return False
        raise
    except Exception as exc:  # noqa: BLE001 - every activity error is reported; the retry policy decides
        await _respond(worker, RespondActivityTaskFailedRequest(task_token=task.task_token,
                                                                failure=encode_failure(exc),
                                                                identity=worker.identity), "failed")
        return False
    finally:
        worker.running_activities.discard(attempt)
        await attempt.flush()
    await _respond(worker, RespondActivityTaskCompletedRequest(task_token=task.task_token, result=payload,
                                                               identity=worker.identity), "completed")
    return True


async def _respond(worker: Any, request: Any, what: str) -> None:
    stub = worker.client.raw.worker_stub
    method = {"completed": stub.RespondActivityTaskCompleted, "failed": stub.RespondActivityTaskFailed,
              "canceled": stub.RespondActivityTaskCanceled}[what]
    try:
        await method(request)
    except (cerr.EntityNotExistsError, cerr.WorkflowExecutionAlreadyCompletedError):
        # The attempt timed out (or the workflow closed) before it reported: the server moved on without it.
        logger.debug("activity result (%s) arrived after the attempt had ended", what)
    except Exception:
        logger.warning("could not report an activity %s", what, exc_info=True)
