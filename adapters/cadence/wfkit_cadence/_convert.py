"""Between Cadence's wire types and wfkit's: payloads, durations, failures, retry policies, executions.

Payloads are JSON values, one per argument, each followed by a newline: the encoding of Cadence's Go and Java
clients, so a wfkit client can start and signal their workflows (and they ours).

Failures follow SPEC "Semantics that are the same on both engines": the Cadence ``reason`` is the error's type
(or class name), or ``wfkit:NonRetryable`` when ``non_retryable=True`` (every retry policy wfkit sends lists that
reason), and the ``details`` carry a JSON document::

    {"wfkit": 1, "kind": "application", "type": "OutOfStock", "message": "…", "details": [...],
     "non_retryable": false, "stack": "Traceback …", "cause": {…} | null}

``kind`` is ``application``, ``activity`` (with ``activity_type``, ``activity_id``), ``child`` (with
``workflow_type``, ``workflow_id``), ``timeout`` (with ``timeout_kind``), ``canceled`` or ``terminated``, so a
chain such as ActivityError → ApplicationError crosses a workflow failure intact. Failures written by other
clients (Go, Java, the plain Python SDK) are read as an ``ApplicationError`` whose type is their reason.
"""

from __future__ import annotations

import json
import math
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from cadence import error as cerr
from cadence.api.v1 import common_pb2, workflow_pb2
from cadence.api.v1.common_pb2 import Failure, Payload
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import StatusCode

import wfkit.engine as wfe
from wfkit.engine import ENVELOPE_PREFIX, TAGS_MEMO_KEY, json_values, to_json_value

NON_RETRYABLE_REASON = "wfkit:NonRetryable"
"""Cadence failure reason of an ``ApplicationError(non_retryable=True)``; every wfkit retry policy lists it."""

SCHEDULE_TO_START_REASON = "cadenceInternal:Timeout SCHEDULE_TO_START"
"""The reason Cadence gives a schedule-to-start timeout; listed as non-retryable (as on Temporal)."""

_TIMEOUT_REASON_PREFIX = "cadenceInternal:Timeout "
FOREVER = timedelta(days=3650)
"""Cadence needs an execution timeout; wfkit's default (Temporal's is unlimited) is ten years."""

# ---------------------------------------------------------------------------------------------------------------
# payloads


_encoder = msgspec.json.Encoder()


def encode_values(values: list[Any] | tuple[Any, ...]) -> Payload:
    """Plain JSON values as one Cadence payload (newline-delimited JSON, as Go and Java clients write it)."""
    if not values:
        return Payload()
    buf = bytearray()
    for v in values:
        _encoder.encode_into(v, buf, -1)
        buf += b"\n"
    return Payload(data=bytes(buf))


def decode_values(payload: Payload | bytes | None) -> list[Any]:
    """All JSON values in a payload (whitespace-delimited), as plain data."""
    data = payload if isinstance(payload, (bytes, bytearray)) else (payload.data if payload is not None else b"")
    if not data or not data.strip():
        return []
    if data[:len(ENVELOPE_PREFIX)] == ENVELOPE_PREFIX:
        raise _undecoded(bytes(data))
    try:
        return [msgspec.json.decode(data)]
    except msgspec.DecodeError:
        pass
    try:
        return json_values(bytes(data))
    except ValueError as exc:
        raise wfe.WfkitError(f"payload is not JSON (Cadence's JSON encoding expected): {exc}") from None


def _undecoded(data: bytes) -> wfe.WfkitError:
    """The error for codec-encoded bytes that reached a reader undecoded (no codec, or the codec failed)."""
    try:
        why = json.loads(data).get("error") or ""
    except (ValueError, AttributeError):
        why = ""
    return wfe.CodecError("a payload is encoded by a payload codec and could not be decoded: "
                          f"{why or 'this client has no codec (wfkit.connect(..., codec=...))'}")


def decode_first(payload: Payload | None) -> Any:
    values = decode_values(payload)
    return values[0] if values else None


class JsonDataConverter:
    """cadence-python-client's DataConverter protocol over wfkit's plain JSON values (no type conversion: wfkit
    decodes into declared types itself)."""

    def to_data(self, values: list[Any]) -> Payload:
        return encode_values(values)

    def from_data(self, payload: Payload, type_hints: list[Any]) -> list[Any]:
        want = max(len(type_hints), 1)
        values = decode_values(payload)[:want]
        return values + [None] * (want - len(values))


DATA_CONVERTER = JsonDataConverter()

# ---------------------------------------------------------------------------------------------------------------
# durations and times


def whole_seconds(td: timedelta | None) -> int:
    """Seconds, rounded UP: Cadence truncates durations to whole seconds (a 200 ms timer would become 0 s)."""
    if td is None:
        return 0
    return max(0, math.ceil(td.total_seconds() - 1e-9))


def duration(td: timedelta | None, *, at_least: int = 0) -> Duration:
    return Duration(seconds=max(whole_seconds(td), at_least))


def to_datetime(ts: Timestamp | None, present: bool = True) -> datetime | None:
    if ts is None or not present:
        return None
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------------
# failures


def _jsonable(value: Any) -> Any:
    try:
        return to_json_value(value)
    except Exception:  # noqa: BLE001 - a detail that cannot be sent still must not hide the failure
        return repr(value)


def _stack(err: BaseException) -> str:
    if err.__traceback__ is None:
        return ""
    return "".join(traceback.format_exception(type(err), err, err.__traceback__))


def failure_document(err: BaseException) -> dict[str, Any]:
    """The JSON document wfkit puts in a Cadence failure's details (recursively through ``.cause``)."""
    cause = getattr(err, "cause", None) if isinstance(err, wfe.FailureError) else None
    doc: dict[str, Any] = {"wfkit": 1, "kind": "application", "type": type(err).__name__,
                           "message": str(err), "details": [], "non_retryable": False, "stack": _stack(err)}
    if isinstance(err, wfe.ApplicationError):
        doc.update(type=err.type or type(err).__name__, message=err.message,
                   details=[_jsonable(d) for d in err.details], non_retryable=bool(err.non_retryable))
    elif isinstance(err, wfe.ActivityError):
        doc.update(kind="activity", message=err.message, activity_type=err.activity_type,
                   activity_id=err.activity_id, retry_state=err.retry_state)
    elif isinstance(err, wfe.ChildWorkflowError):
        doc.update(kind="child", message=err.message, workflow_type=err.workflow_type,
                   workflow_id=err.workflow_id)
    elif isinstance(err, wfe.TimeoutError):
        doc.update(kind="timeout", message=err.message, timeout_kind=err.kind)
    elif isinstance(err, wfe.Canceled):
        doc.update(kind="canceled", message=err.message)
    elif isinstance(err, wfe.Terminated):
        doc.update(kind="terminated", message=err.message)
    elif isinstance(err, wfe.FailureError):
        doc.update(message=err.message)
    if isinstance(cause, BaseException):
        doc["cause"] = failure_document(cause)
    return doc


def failure_reason(err: BaseException) -> str:
    if isinstance(err, wfe.ApplicationError):
        return NON_RETRYABLE_REASON if err.non_retryable else (err.type or type(err).__name__)
    return type(err).__name__


def encode_failure(err: BaseException) -> Failure:
    """The Cadence failure for an error raised by wfkit workflow or activity code."""
    return Failure(reason=failure_reason(err), details=json.dumps(failure_document(err), default=repr).encode())


def error_from_document(doc: dict[str, Any]) -> BaseException:
    cause = doc.get("cause")
    cause_err = error_from_document(cause) if isinstance(cause, dict) else None
    kind = doc.get("kind", "application")
    message = str(doc.get("message") or "")
    out: BaseException
    if kind == "activity":
        out = wfe.ActivityError(message, activity_type=doc.get("activity_type"), activity_id=doc.get("activity_id"),
                                  retry_state=doc.get("retry_state"), cause=cause_err)
    elif kind == "child":
        out = wfe.ChildWorkflowError(message, workflow_type=doc.get("workflow_type"),
                                       workflow_id=doc.get("workflow_id"), cause=cause_err)
    elif kind == "timeout":
        out = wfe.TimeoutError(message, kind=doc.get("timeout_kind"), cause=cause_err)
    elif kind == "canceled":
        out = wfe.Canceled(message, cause=cause_err)
    elif kind == "terminated":
        out = wfe.Terminated(message, cause=cause_err)
    else:
        details = doc.get("details") or []
        out = wfe.ApplicationError(message, *(details if isinstance(details, list) else [details]),
                                     type=doc.get("type"), non_retryable=bool(doc.get("non_retryable")),
                                     cause=cause_err)
    stack = doc.get("stack")
    if stack:
        out.add_note(f"raised at (remote stack):\n{stack}")
    return out


def _is_document(value: Any) -> bool:
    return isinstance(value, dict) and "message" in value and ("wfkit" in value or "type" in value)


def error_from_failure(reason: str, details: bytes | str | None) -> BaseException:
    """The wfkit error for a Cadence failure (reason + details), from wfkit or from any other client (Go, Java,
    the Python SDK): read by the Cadence history dialect's ``read_failure``, as frames and analytics read it."""
    f = wfe.builtin_dialect("cadence").read_failure(reason, details)  # type: ignore[attr-defined]
    if f.document is not None and _is_document(f.document):
        return error_from_document(f.document)
    if f.timeout_kind is not None:
        return wfe.TimeoutError(f.message, kind=f.timeout_kind)
    err = wfe.ApplicationError(f.message or reason, *f.details, type=f.type or reason or None)
    if f.stack:
        err.add_note(f"raised at (remote stack):\n{f.stack}")
    return err


TIMEOUT_KINDS = {
    workflow_pb2.TIMEOUT_TYPE_START_TO_CLOSE: "start_to_close",
    workflow_pb2.TIMEOUT_TYPE_SCHEDULE_TO_START: "schedule_to_start",
    workflow_pb2.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE: "schedule_to_close",
    workflow_pb2.TIMEOUT_TYPE_HEARTBEAT: "heartbeat",
}


def timeout_kind_from_name(name: str) -> str:
    """``TIMEOUT_TYPE_START_TO_CLOSE`` (the proto enum name) → ``start_to_close``."""
    return name.removeprefix("TIMEOUT_TYPE_").lower()


def rpc_error(err: BaseException, workflow_id: str | None = None, what: str = "") -> wfe.WfkitError:
    """A wfkit error for a failed Cadence RPC."""
    during = f" during {what}" if what else ""
    message = err.args[0] if isinstance(err, cerr.CadenceRpcError) and err.args else str(err)
    if isinstance(err, cerr.EntityNotExistsError) and workflow_id is not None:
        out: wfe.WfkitError = wfe.WorkflowNotFound(f"workflow {workflow_id!r} not found: {message}")
    elif isinstance(err, cerr.WorkflowExecutionAlreadyCompletedError) and workflow_id is not None:
        out = wfe.WorkflowNotFound(f"workflow {workflow_id!r} already completed: {message}")
    elif isinstance(err, cerr.WorkflowExecutionAlreadyStartedError):
        out = wfe.WorkflowAlreadyStarted(f"workflow {workflow_id!r} is already started: {message}",
                                           workflow_id=workflow_id, run_id=err.run_id or None)
    elif isinstance(err, cerr.CadenceRpcError) and err.code == StatusCode.UNAVAILABLE:
        out = wfe.ConnectionFailed(f"Cadence server unavailable{during}: {message}")
    elif isinstance(err, cerr.CadenceRpcError) and err.code == StatusCode.UNIMPLEMENTED:
        out = wfe.UnsupportedFeature("cadence", what or "this call", message)
    elif isinstance(err, cerr.CadenceRpcError):
        out = wfe.WfkitError(f"{what or 'call'} failed ({err.code.name}): {message}")
    else:
        out = wfe.WfkitError(f"{what or 'call'} failed: {type(err).__name__}: {err}")
    out.__cause__ = err
    return out


# ---------------------------------------------------------------------------------------------------------------
# retry policies


def retry_to_cadence(policy: wfe.RetryPolicy | None, *, expiration: timedelta | None = None,
                     fallback_expiration: timedelta | None = None,
                     extra_non_retryable: tuple[str, ...] = ()) -> common_pb2.RetryPolicy | None:
    """wfkit's retry policy on Cadence (durations rounded up to whole seconds).

    ``None`` for a single attempt: Cadence retries nothing without a policy, and with one it would stretch the
    schedule-to-start timeout to the whole retry window. ``expiration`` bounds all attempts (the activity's
    schedule-to-close timeout); ``maximum_attempts=0`` (unlimited) needs one, so ``fallback_expiration`` (the
    workflow's timeout) is used when none is given.
    """
    if policy is None or policy.maximum_attempts == 1:
        return None
    initial = max(1, whole_seconds(policy.initial_interval))
    out = common_pb2.RetryPolicy(
        backoff_coefficient=policy.backoff_coefficient,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_reasons=[*policy.non_retryable_error_types, NON_RETRYABLE_REASON, *extra_non_retryable],
    )
    out.initial_interval.CopyFrom(Duration(seconds=initial))
    out.maximum_interval.CopyFrom(Duration(seconds=max(initial, whole_seconds(policy.effective_maximum_interval))))
    exp = expiration if expiration is not None else (fallback_expiration if policy.maximum_attempts == 0 else None)
    if exp is not None:
        out.expiration_interval.CopyFrom(duration(exp, at_least=1))
    return out


# ---------------------------------------------------------------------------------------------------------------
# executions

CLOSE_STATUS = {
    workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_COMPLETED: "completed",
    workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_FAILED: "failed",
    workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_CANCELED: "canceled",
    workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_TERMINATED: "terminated",
    workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_CONTINUED_AS_NEW: "continued_as_new",
    workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_TIMED_OUT: "timed_out",
}
STATUS_TO_CLOSE = {v: k for k, v in CLOSE_STATUS.items()}


def memo_from_proto(memo: common_pb2.Memo) -> tuple[dict[str, Any], tuple[str, ...]]:
    out: dict[str, Any] = {}
    for key, payload in memo.fields.items():
        try:
            out[key] = decode_first(payload)
        except Exception:  # noqa: BLE001 - another client's codec: keep the key, say what is in it
            out[key] = payload.data.decode("utf-8", errors="replace")
    tags = out.pop(TAGS_MEMO_KEY, None) or ()
    if not isinstance(tags, (list, tuple)):
        tags = (tags,)
    return out, tuple(str(t) for t in tags)


def memo_to_proto(memo: dict[str, Any]) -> common_pb2.Memo:
    out = common_pb2.Memo()
    for key, value in memo.items():
        out.fields[key].CopyFrom(encode_values([value]))
    return out


def execution_from(info: workflow_pb2.WorkflowExecutionInfo, *, task_queue: str | None = None) -> wfe.Execution:
    """A ``wfkit.Execution`` from Cadence's execution info (describe or a visibility row)."""
    memo, tags = memo_from_proto(info.memo)
    closed = info.close_status != workflow_pb2.WORKFLOW_EXECUTION_CLOSE_STATUS_INVALID
    tq = task_queue or info.task_list or (info.task_list_info.name if info.HasField("task_list_info") else "") or None
    return wfe.Execution(
        engine="cadence", workflow_id=info.workflow_execution.workflow_id, run_id=info.workflow_execution.run_id,
        workflow_type=info.type.name, status=CLOSE_STATUS.get(info.close_status, "running") if closed else "running",
        task_queue=tq, start_time=to_datetime(info.start_time, info.HasField("start_time")),
        close_time=to_datetime(info.close_time, info.HasField("close_time")) if closed else None,
        history_length=info.history_length or None, memo=memo, tags=tags,
        search_attributes=search_attributes_from(info.search_attributes),
    )


def search_attributes_from(sa: common_pb2.SearchAttributes) -> dict[str, Any]:
    """Cadence's indexed fields (JSON bytes each) as JSON values."""
    out: dict[str, Any] = {}
    for name, payload in sa.indexed_fields.items():
        try:
            out[name] = json.loads(payload.data)
        except ValueError:
            out[name] = payload.data.decode("utf-8", errors="replace")
    return out
