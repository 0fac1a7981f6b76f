"""Between temporalio's types and wfkit's: failures, retry policies, statuses, executions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import temporalio.client
import temporalio.common
import temporalio.exceptions as tex
from temporalio.service import RPCError, RPCStatusCode

import wfkit.engine as wfe
from wfkit.engine import TAGS_MEMO_KEY

# The temporalio exception a wfkit error was made from; re-raised as is when it escapes workflow code, so
# Temporal records the original failure chain.
ORIGIN = "_wfkit_temporal_origin"

_TIMEOUT_KINDS = {
    tex.TimeoutType.START_TO_CLOSE: "start_to_close",
    tex.TimeoutType.SCHEDULE_TO_START: "schedule_to_start",
    tex.TimeoutType.SCHEDULE_TO_CLOSE: "schedule_to_close",
    tex.TimeoutType.HEARTBEAT: "heartbeat",
}

STATUS = {
    temporalio.client.WorkflowExecutionStatus.RUNNING: "running",
    temporalio.client.WorkflowExecutionStatus.COMPLETED: "completed",
    temporalio.client.WorkflowExecutionStatus.FAILED: "failed",
    temporalio.client.WorkflowExecutionStatus.CANCELED: "canceled",
    temporalio.client.WorkflowExecutionStatus.TERMINATED: "terminated",
    temporalio.client.WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued_as_new",
    temporalio.client.WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}


def failure_from_temporal(err: BaseException | None, *, workflow_level: bool = False) -> BaseException | None:
    """The wfkit error for a temporalio failure (recursively through causes); the original kept as __cause__."""
    if err is None:
        return None
    out: BaseException
    if isinstance(err, tex.ApplicationError):
        out = wfe.ApplicationError(err.message, *err.details, type=err.type, non_retryable=err.non_retryable,
                                     cause=failure_from_temporal(err.cause))
    elif isinstance(err, tex.ActivityError):
        out = wfe.ActivityError(err.message or f"activity {err.activity_type} failed",
                                  activity_type=err.activity_type, activity_id=err.activity_id,
                                  retry_state=err.retry_state.name.lower() if err.retry_state else None,
                                  cause=failure_from_temporal(err.cause))
    elif isinstance(err, tex.ChildWorkflowError):
        out = wfe.ChildWorkflowError(err.message or f"child workflow {err.workflow_type} failed",
                                       workflow_type=err.workflow_type, workflow_id=err.workflow_id,
                                       cause=failure_from_temporal(err.cause))
    elif isinstance(err, tex.TimeoutError):
        if workflow_level:
            kind = "execution"
        else:
            kind = "none" if err.type is None else _TIMEOUT_KINDS.get(err.type, str(err.type).lower())
        out = wfe.TimeoutError(err.message or f"{kind} timeout", kind=kind)
    elif isinstance(err, tex.CancelledError):
        out = wfe.Canceled(err.message or "canceled")
    elif isinstance(err, tex.TerminatedError):
        out = wfe.Terminated(err.message or "terminated")
    elif isinstance(err, tex.FailureError):
        out = wfe.ApplicationError(err.message, type=type(err).__name__, cause=failure_from_temporal(err.cause))
    else:
        return err
    setattr(out, ORIGIN, err)
    return out


def failure_to_temporal(err: BaseException) -> BaseException:
    """The temporalio failure to raise for an error escaping wfkit workflow or activity code."""
    origin = getattr(err, ORIGIN, None)
    if origin is not None:
        return origin
    if isinstance(err, tex.FailureError):
        return err
    if isinstance(err, wfe.ApplicationError):
        cause = failure_to_temporal(err.cause) if isinstance(err.cause, BaseException) else None
        out = tex.ApplicationError(err.message, *err.details, type=err.type or type(err).__name__,
                                   non_retryable=err.non_retryable)
        if cause is not None:
            out.__cause__ = cause
        return out
    if isinstance(err, wfe.FailureError):
        return tex.ApplicationError(err.message or str(err), type=type(err).__name__)
    return tex.ApplicationError(str(err), type=type(err).__name__)


def workflow_failed(err: temporalio.client.WorkflowFailureError, workflow_id: str,
                    run_id: str | None) -> wfe.WorkflowFailed:
    cause = failure_from_temporal(err.cause, workflow_level=True)
    if isinstance(cause, wfe.Terminated):
        status = "terminated"
    elif isinstance(cause, wfe.Canceled):
        status = "canceled"
    elif isinstance(cause, wfe.TimeoutError):
        status = "timed_out"
    else:
        status = "failed"
    msg = f"workflow {workflow_id!r} {status.replace('_', ' ')}"
    if cause is not None and str(cause):
        msg += f": {type(cause).__name__}: {cause}"
    out = wfe.WorkflowFailed(msg, cause=cause, workflow_id=workflow_id, run_id=run_id, status=status)
    return out


def rpc_error(err: RPCError, workflow_id: str | None = None, what: str = "") -> wfe.WfkitError:
    """A wfkit error for a failed RPC (not-found, already-started, ...)."""
    if err.status == RPCStatusCode.NOT_FOUND and workflow_id is not None:
        out: wfe.WfkitError = wfe.WorkflowNotFound(f"workflow {workflow_id!r} not found: {err.message}")
    elif err.status in (RPCStatusCode.UNAVAILABLE,):
        out = wfe.ConnectionFailed(f"server unavailable{' during ' + what if what else ''}: {err.message}")
    elif err.status == RPCStatusCode.UNIMPLEMENTED:
        out = wfe.UnsupportedFeature("temporal", what or "this call", err.message)
    else:
        out = wfe.WfkitError(f"{what or 'call'} failed ({err.status.name}): {err.message}")
    out.__cause__ = err
    return out


def retry_to_temporal(policy: wfe.RetryPolicy | None) -> temporalio.common.RetryPolicy | None:
    if policy is None:
        return None
    return temporalio.common.RetryPolicy(
        initial_interval=policy.initial_interval,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.effective_maximum_interval,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=list(policy.non_retryable_error_types) or None,
    )


def split_memo(memo: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    memo = dict(memo)
    tags = memo.pop(TAGS_MEMO_KEY, None) or ()
    return memo, tuple(str(t) for t in tags)


async def execution_from(wf: temporalio.client.WorkflowExecution) -> wfe.Execution:
    try:
        memo = await wf.memo()
    except Exception:  # noqa: BLE001 - an undecodable memo (another SDK's codec) must not hide the execution
        memo = {"<undecodable>": True}
    memo, tags = split_memo(memo)
    return wfe.Execution(
        engine="temporal", workflow_id=wf.id, run_id=wf.run_id, workflow_type=wf.workflow_type,
        status=STATUS.get(wf.status, "running") if wf.status is not None else "running",
        task_queue=wf.task_queue, start_time=wf.start_time, close_time=wf.close_time,
        # 0 is what a listing says of an open run (visibility learns the length at close): unknown, as on Cadence
        history_length=wf.history_length or None, memo=memo, tags=tags, search_attributes=search_attributes_of(wf),
    )


def search_attributes_of(wf: temporalio.client.WorkflowExecution) -> dict[str, Any]:
    """An execution's search attributes as JSON values (datetimes as ISO 8601 text)."""
    from ._operate import search_attributes_of as of

    return of(wf)
