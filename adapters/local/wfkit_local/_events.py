"""The local engine's events: canonical Temporal proto-JSON dicts (payloads, failures, times, durations)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import wfkit.engine as wfe

_JSON = base64.b64encode(b"json/plain").decode()

# Events a workflow task's commands produce, and the command kind each answers to.
COMMAND_EVENTS = {
    "ActivityTaskScheduled": "activity", "ActivityTaskCancelRequested": "cancel_activity",
    "TimerStarted": "timer", "TimerCanceled": "cancel_timer", "MarkerRecorded": "marker",
    "StartChildWorkflowExecutionInitiated": "child", "WorkflowExecutionCompleted": "complete",
    "WorkflowExecutionFailed": "fail", "WorkflowExecutionCanceled": "cancel",
    "WorkflowExecutionContinuedAsNew": "continue_as_new",
}


def event_type(e: dict[str, Any]) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled``."""
    return "".join(w.capitalize() for w in e["eventType"].removeprefix("EVENT_TYPE_").split("_"))


def attrs_key(name: str) -> str:
    return name[0].lower() + name[1:] + "EventAttributes"


def attrs(e: dict[str, Any]) -> dict[str, Any]:
    return e.get(attrs_key(event_type(e)), {})


def enum_name(name: str) -> str:
    out = "".join("_" + c if c.isupper() else c for c in name).lstrip("_").upper()
    return "EVENT_TYPE_" + out


def timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str) -> datetime:
    """RFC 3339 as proto-JSON writes it (any number of fraction digits, ``Z`` or an offset)."""
    s = re.sub(r"(\.\d{6})\d+", r"\1", s.strip()).replace("Z", "+00:00")
    t = datetime.fromisoformat(s)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def duration(td: timedelta | None) -> str | None:
    return None if td is None else f"{td.total_seconds():.6f}".rstrip("0").rstrip(".") + "s"


def parse_duration(s: str | None) -> float | None:
    return None if not s else float(s.removesuffix("s"))


def payloads(values: list[Any]) -> dict[str, Any]:
    return {"payloads": [{"metadata": {"encoding": _JSON},
                          "data": base64.b64encode(json.dumps(v).encode()).decode()} for v in values]}


def values(p: dict[str, Any] | None) -> list[Any]:
    return [json.loads(base64.b64decode(x.get("data", ""))) if x.get("data") else None
            for x in (p or {}).get("payloads", [])]


_TIMEOUT_TYPES = {"start_to_close": "TIMEOUT_TYPE_START_TO_CLOSE",
                  "schedule_to_close": "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE",
                  "schedule_to_start": "TIMEOUT_TYPE_SCHEDULE_TO_START", "heartbeat": "TIMEOUT_TYPE_HEARTBEAT"}
_TIMEOUT_KINDS = {v: k for k, v in _TIMEOUT_TYPES.items()}


def failure(err: BaseException) -> dict[str, Any]:
    """An error as a Temporal failure document (recursively through ``.cause``)."""
    out: dict[str, Any]
    cause = getattr(err, "cause", None) if isinstance(err, wfe.FailureError) else None
    if isinstance(err, wfe.ApplicationError):
        info: dict[str, Any] = {"type": err.type or type(err).__name__, "nonRetryable": err.non_retryable}
        if err.details:
            info["details"] = payloads([wfe.to_json_value(d) for d in err.details])
        out = {"message": err.message, "applicationFailureInfo": info}
    elif isinstance(err, wfe.ActivityError):
        out = {"message": err.message or "activity error", "activityFailureInfo": {
            "activityType": {"name": err.activity_type or ""}, "activityId": err.activity_id or "",
            "retryState": "RETRY_STATE_" + (err.retry_state or "non_retryable_failure").upper()}}
    elif isinstance(err, wfe.ChildWorkflowError):
        out = {"message": err.message or "child workflow execution error", "childWorkflowExecutionFailureInfo": {
            "workflowType": {"name": err.workflow_type or ""},
            "workflowExecution": {"workflowId": err.workflow_id or ""}}}
    elif isinstance(err, wfe.TimeoutError):
        out = {"message": err.message, "timeoutFailureInfo": {
            "timeoutType": _TIMEOUT_TYPES.get(err.kind or "", "TIMEOUT_TYPE_START_TO_CLOSE")}}
    elif isinstance(err, wfe.Canceled):
        out = {"message": err.message or "canceled", "canceledFailureInfo": {}}
    elif isinstance(err, wfe.Terminated):
        out = {"message": err.message or "terminated", "terminatedFailureInfo": {}}
    elif isinstance(err, wfe.FailureError):
        out = {"message": err.message or str(err), "applicationFailureInfo": {"type": type(err).__name__}}
    else:
        out = {"message": str(err), "applicationFailureInfo": {"type": type(err).__name__}}
    if isinstance(cause, BaseException):
        out["cause"] = failure(cause)
    return out


def from_failure(f: dict[str, Any] | None, *, workflow_level: bool = False) -> BaseException | None:
    """The wfkit error a failure document describes."""
    if not f:
        return None
    cause = from_failure(f.get("cause"))
    msg = f.get("message", "")
    out: BaseException
    if "applicationFailureInfo" in f:
        i = f["applicationFailureInfo"]
        out = wfe.ApplicationError(msg, *values(i.get("details")), type=i.get("type") or None,
                                   non_retryable=bool(i.get("nonRetryable")), cause=cause)
    elif "activityFailureInfo" in f:
        i = f["activityFailureInfo"]
        out = wfe.ActivityError(msg, activity_type=i.get("activityType", {}).get("name"),
                                activity_id=i.get("activityId"),
                                retry_state=i.get("retryState", "").removeprefix("RETRY_STATE_").lower() or None,
                                cause=cause)
    elif "childWorkflowExecutionFailureInfo" in f:
        i = f["childWorkflowExecutionFailureInfo"]
        out = wfe.ChildWorkflowError(msg, workflow_type=i.get("workflowType", {}).get("name"),
                                     workflow_id=i.get("workflowExecution", {}).get("workflowId"), cause=cause)
    elif "timeoutFailureInfo" in f:
        kind = "execution" if workflow_level else _TIMEOUT_KINDS.get(f["timeoutFailureInfo"].get("timeoutType", ""),
                                                                      "start_to_close")
        out = wfe.TimeoutError(msg, kind=kind, cause=cause)
    elif "canceledFailureInfo" in f:
        out = wfe.Canceled(msg or "canceled", cause=cause)
    elif "terminatedFailureInfo" in f:
        out = wfe.Terminated(msg or "terminated", cause=cause)
    else:
        out = wfe.ApplicationError(msg, cause=cause)
    return out


def retry_policy(p: wfe.RetryPolicy | None) -> dict[str, Any] | None:
    if p is None:
        return None
    out: dict[str, Any] = {"initialInterval": duration(p.initial_interval),
                           "backoffCoefficient": p.backoff_coefficient,
                           "maximumAttempts": p.maximum_attempts or 0,
                           "nonRetryableErrorTypes": list(p.non_retryable_error_types or [])}
    if p.maximum_interval is not None:
        out["maximumInterval"] = duration(p.maximum_interval)
    return out
