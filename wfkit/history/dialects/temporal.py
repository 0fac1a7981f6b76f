"""The Temporal history dialect: Temporal's event types (the canonical vocabulary), where the frame columns
live in its events, its JSON shapes and protos.

JSON shapes (``format=`` names):

``temporal``
    Temporal proto-JSON: ``{"events": [...]}`` with ``eventTime`` RFC 3339 strings, ``eventType``
    ``EVENT_TYPE_*`` and int64 values as strings — ``temporal workflow show -o json``, the UI's download,
    ``WorkflowHistory.to_json()``. Also accepted wrapped as ``{"history": {"events": [...]}}``.
``temporal-legacy``
    Older Temporal JSON: PascalCase ``eventType`` and enum values (tctl, older UI), or pre-GA integer
    ``timestamp`` (nanoseconds) with ``taskQueue``. Read into proto-JSON (enums prefixed, timestamps RFC 3339).

Temporal proto-JSON is also the canonical shape every other dialect converts to and from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wfkit.history._convert import _enum_t2p, _strict_int, _to_str_int, ns_to_rfc3339
from wfkit.history._payload import decode_temporal_json, decode_temporal_proto
from wfkit.history._schema import CANONICAL_EVENT_TYPES, GENERIC_KEYS, screaming
from wfkit.history.dialects import JsonHints, JsonVariant

#: Temporal's ``EventType`` enum (temporal.api.enums.v1), number -> PascalCase name.
EVENT_TYPE_NUMBERS: dict[int, str] = dict(enumerate(CANONICAL_EVENT_TYPES, start=1))

# --- column sources (see ``wfkit.history._schema``); Temporal counts attempts from 1 ---------------------------

_WTC = "workflowTaskCompletedEventId"

SOURCES: dict[str, dict[str, str]] = {
    "WorkflowExecutionStarted": {"task_queue": "taskQueue.name", "identity": "identity", "attempt": "attempt",
                                     "payload": "input", "failure": "F:continuedFailure"},
    "WorkflowExecutionCompleted": {"related_event_id": _WTC, "payload": "result"},
    "WorkflowExecutionFailed": {"related_event_id": _WTC, "failure": "F:failure"},
    "WorkflowExecutionTimedOut": {},
    "WorkflowTaskScheduled": {"task_queue": "taskQueue.name", "attempt": "attempt"},
    "WorkflowTaskStarted": {"related_event_id": "scheduledEventId", "identity": "identity"},
    "WorkflowTaskCompleted": {"related_event_id": "scheduledEventId", "identity": "identity"},
    "WorkflowTaskTimedOut": {"related_event_id": "scheduledEventId", "failure": "TO:timeoutType"},
    "WorkflowTaskFailed": {"related_event_id": "scheduledEventId", "identity": "identity", "failure": "F:failure"},
    "ActivityTaskScheduled": {"activity_id": "activityId", "activity_type": "activityType.name",
                                  "task_queue": "taskQueue.name", "related_event_id": _WTC, "payload": "input"},
    "ActivityTaskStarted": {"related_event_id": "scheduledEventId", "identity": "identity", "attempt": "attempt",
                                "failure": "F:lastFailure"},
    "ActivityTaskCompleted": {"related_event_id": "scheduledEventId", "identity": "identity", "payload": "result"},
    "ActivityTaskFailed": {"related_event_id": "scheduledEventId", "identity": "identity", "failure": "F:failure"},
    "ActivityTaskTimedOut": {"related_event_id": "scheduledEventId", "failure": "F:failure"},
    "ActivityTaskCancelRequested": {"related_event_id": "scheduledEventId"},
    "ActivityTaskCanceled": {"related_event_id": "scheduledEventId", "identity": "identity", "payload": "details"},
    "TimerStarted": {"timer_id": "timerId", "related_event_id": _WTC},
    "TimerFired": {"timer_id": "timerId", "related_event_id": "startedEventId"},
    "TimerCanceled": {"timer_id": "timerId", "related_event_id": "startedEventId", "identity": "identity"},
    "WorkflowExecutionCancelRequested": {"identity": "identity", "related_event_id": "externalInitiatedEventId",
                                             "failure": "E:cause"},
    "WorkflowExecutionCanceled": {"related_event_id": _WTC, "payload": "details"},
    "RequestCancelExternalWorkflowExecutionInitiated": {"related_event_id": _WTC},
    "RequestCancelExternalWorkflowExecutionFailed": {"related_event_id": "initiatedEventId", "failure": "E:cause"},
    "ExternalWorkflowExecutionCancelRequested": {"related_event_id": "initiatedEventId"},
    "MarkerRecorded": {"related_event_id": _WTC, "payload": "details", "failure": "F:failure"},
    "WorkflowExecutionSignaled": {"signal_name": "signalName", "identity": "identity", "payload": "input"},
    "WorkflowExecutionTerminated": {"identity": "identity", "payload": "details", "failure": "E:reason"},
    "WorkflowExecutionContinuedAsNew": {"task_queue": "taskQueue.name", "related_event_id": _WTC, "payload": "input",
                                            "failure": "F:failure"},
    "StartChildWorkflowExecutionInitiated": {"task_queue": "taskQueue.name", "related_event_id": _WTC,
                                                 "payload": "input"},
    "StartChildWorkflowExecutionFailed": {"related_event_id": "initiatedEventId", "failure": "E:cause"},
    "ChildWorkflowExecutionStarted": {"related_event_id": "initiatedEventId"},
    "ChildWorkflowExecutionCompleted": {"related_event_id": "initiatedEventId", "payload": "result"},
    "ChildWorkflowExecutionFailed": {"related_event_id": "initiatedEventId", "failure": "F:failure"},
    "ChildWorkflowExecutionCanceled": {"related_event_id": "initiatedEventId", "payload": "details"},
    "ChildWorkflowExecutionTimedOut": {"related_event_id": "initiatedEventId"},
    "ChildWorkflowExecutionTerminated": {"related_event_id": "initiatedEventId"},
    "SignalExternalWorkflowExecutionInitiated": {"signal_name": "signalName", "related_event_id": _WTC,
                                                     "payload": "input"},
    "SignalExternalWorkflowExecutionFailed": {"related_event_id": "initiatedEventId", "failure": "E:cause"},
    "ExternalWorkflowExecutionSignaled": {"related_event_id": "initiatedEventId"},
    "UpsertWorkflowSearchAttributes": {"related_event_id": _WTC},
    "WorkflowExecutionUpdateAdmitted": {"payload": "request.input.args"},
    "WorkflowExecutionUpdateAccepted": {"related_event_id": "acceptedRequestSequencingEventId",
                                            "payload": "acceptedRequest.input.args"},
    "WorkflowExecutionUpdateRejected": {"related_event_id": "rejectedRequestSequencingEventId",
                                            "failure": "F:failure"},
    "WorkflowExecutionUpdateCompleted": {"related_event_id": "acceptedEventId", "payload": "outcome.success",
                                             "failure": "F:outcome.failure"},
    "WorkflowPropertiesModifiedExternally": {},
    "ActivityPropertiesModifiedExternally": {"related_event_id": "scheduledEventId"},
    "WorkflowPropertiesModified": {"related_event_id": _WTC},
    "NexusOperationScheduled": {"related_event_id": _WTC, "payload": "input"},
    "NexusOperationStarted": {"related_event_id": "scheduledEventId"},
    "NexusOperationCompleted": {"related_event_id": "scheduledEventId", "payload": "result"},
    "NexusOperationFailed": {"related_event_id": "scheduledEventId", "failure": "F:failure"},
    "NexusOperationCanceled": {"related_event_id": "scheduledEventId", "failure": "F:failure"},
    "NexusOperationTimedOut": {"related_event_id": "scheduledEventId", "failure": "F:failure"},
    "NexusOperationCancelRequested": {"related_event_id": "scheduledEventId"},
    "NexusOperationCancelRequestCompleted": {"related_event_id": "requestedEventId"},
    "NexusOperationCancelRequestFailed": {"related_event_id": "requestedEventId", "failure": "F:failure"},
    "WorkflowExecutionOptionsUpdated": {"identity": "identity"},
    "WorkflowExecutionPaused": {"identity": "identity"},
    "WorkflowExecutionUnpaused": {"identity": "identity"},
    "WorkflowExecutionTimeSkippingTransitioned": {},
}


# --- failures -----------------------------------------------------------------------------------------------------

def _tfail(f: Any, depth: int = 0) -> str | None:
    """Temporal Failure (proto-JSON dict) -> short text: ``type: message`` plus the cause chain."""
    if f is None:
        return None
    if not isinstance(f, dict):
        raise TypeError("failure is not an object")
    msg = f.get("message") or ""
    if not isinstance(msg, str):
        raise TypeError("failure.message is not a string")
    info = f.get("applicationFailureInfo")
    typ = info.get("type") if isinstance(info, dict) else None
    if typ is not None and not isinstance(typ, str):
        raise TypeError("failure type is not a string")
    text = f"{typ}: {msg}" if typ and msg else (typ or msg)
    cause = f.get("cause")
    if cause and depth < 4:
        ct = _tfail(cause, depth + 1)
        if ct:
            text = f"{text}: {ct}" if text else ct
    return text or None


def _tfail_proto(f: Any, depth: int = 0) -> str | None:
    """Temporal ``Failure`` message -> the same text as :func:`_tfail` gives for its JSON."""
    msg = f.message
    typ = f.application_failure_info.type if f.HasField("application_failure_info") else ""
    text = f"{typ}: {msg}" if typ and msg else (typ or msg)
    if depth < 4 and f.HasField("cause"):
        ct = _tfail_proto(f.cause, depth + 1)
        if ct:
            text = f"{text}: {ct}" if text else ct
    return text or None


# --- older Temporal JSON -> proto-JSON ("temporal-legacy") ------------------------------------------------------

_T_ENUMS = {
    "kind": "TASK_QUEUE_KIND_", "initiator": "CONTINUE_AS_NEW_INITIATOR_", "retryState": "RETRY_STATE_",
    "parentClosePolicy": "PARENT_CLOSE_POLICY_", "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_",
    "timeoutType": "TIMEOUT_TYPE_", "origin": "UPDATE_ADMITTED_EVENT_ORIGIN_",
    "versioningBehavior": "VERSIONING_BEHAVIOR_", "category": "APPLICATION_ERROR_CATEGORY_",
}
_T_CAUSE_PREFIX = {
    "requestCancelExternalWorkflowExecutionFailedEventAttributes":
        "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
    "signalExternalWorkflowExecutionFailedEventAttributes": "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
    "startChildWorkflowExecutionFailedEventAttributes": "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_",
    "workflowTaskFailedEventAttributes": "WORKFLOW_TASK_FAILED_CAUSE_",
    "activityTaskFailedEventAttributes": "ACTIVITY_TASK_FAILED_CAUSE_",
}


def _fix_t_enums(d: Any, akey: str | None) -> Any:
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            if isinstance(v, str) and (k in _T_ENUMS or (k == "cause" and akey in _T_CAUSE_PREFIX)):
                prefix = _T_ENUMS.get(k) if k != "cause" else _T_CAUSE_PREFIX[akey]  # type: ignore[index]
                out[k] = _enum_t2p(v, prefix)  # type: ignore[arg-type]
            else:
                out[k] = _fix_t_enums(v, akey)
        return out
    if isinstance(d, list):
        return [_fix_t_enums(v, akey) for v in d]
    return d


def normalize_temporal_legacy_event(ev: dict) -> dict:
    """Older Temporal JSON (tctl / old UI PascalCase enums, pre-GA integer ``timestamp``) -> proto-JSON.

    Raises ValueError/TypeError on an unreadable timestamp (the caller turns it into HistoryFormatError).
    """
    out: dict[str, Any] = {}
    for k, v in ev.items():
        if k == "timestamp" and "eventTime" not in ev:
            out["eventTime"] = ns_to_rfc3339(_strict_int(v))
        elif k == "eventType":
            if isinstance(v, str) and not v.startswith("EVENT_TYPE_"):
                out[k] = "EVENT_TYPE_" + screaming(v)
            elif isinstance(v, int) and not isinstance(v, bool) and v in EVENT_TYPE_NUMBERS:
                out[k] = "EVENT_TYPE_" + screaming(EVENT_TYPE_NUMBERS[v])
            else:
                out[k] = v
        elif k.endswith("EventAttributes"):
            out[k] = _fix_t_enums(v, k)
        elif k in ("eventId", "version", "taskId"):
            out[k] = _to_str_int(v)
        else:
            out[k] = v
    return out


def _has_legacy_enum(ev: dict) -> bool:
    for k, v in ev.items():
        if isinstance(k, str) and k.endswith("EventAttributes") and isinstance(v, dict):
            tq = v.get("taskQueue")
            if isinstance(tq, dict) and isinstance(tq.get("kind"), str) and \
                    not tq["kind"].startswith("TASK_QUEUE_KIND_"):
                return True
    return False


# --- the dialect --------------------------------------------------------------------------------------------------

class TemporalDialect:
    """Temporal histories (see :class:`wfkit.history.dialects.HistoryDialect` for the members)."""

    name = "temporal"
    event_type_numbers = EVENT_TYPE_NUMBERS
    extra_event_types: tuple[str, ...] = ()
    attempt_base = 1
    json_sources = SOURCES
    foreign_json_sources: dict[str, dict[str, str]] = {}
    proto_sources = SOURCES
    generic_keys = {**GENERIC_KEYS, "failure": ("F:failure", "F:lastFailure")}
    time_key = "eventTime"
    time_json_type: Any = str | None
    hints = JsonHints(
        event_type_prefixes=("EVENT_TYPE_", "WorkflowTask"), key_prefixes=("workflowTask",),
        attribute_prefixes=("workflowTask", "taskQueue", "namespace", "workflowRunTimeout",
                            "workflowExecutionTimeout"))
    array_document = False
    variants = {"temporal-legacy": JsonVariant("temporal-legacy", normalize_temporal_legacy_event, "timestamp")}
    proto_event_name = "temporal.api.history.v1.HistoryEvent"

    def canonical_event_type(self, name: str) -> str:
        return name

    def engine_event_type(self, canonical: str) -> str:
        return canonical

    json_failure_text = staticmethod(_tfail)
    proto_failure_text = staticmethod(_tfail_proto)

    def parse_json_times(self, values: list) -> np.ndarray:
        from wfkit.history._extract import rfc3339_column

        return rfc3339_column(values)

    def detect_variant(self, doc: Any, first: dict) -> str:
        et = first.get("eventType")
        if "timestamp" in first and "eventTime" not in first:
            return "temporal-legacy"
        if isinstance(et, str) and not et.startswith("EVENT_TYPE_"):
            return "temporal-legacy"
        if _has_legacy_enum(first):
            return "temporal-legacy"
        return self.name

    def native_envelope(self, event_id: int, time_text: str, time_ns: int, engine_event_type: str) -> dict:
        return {"eventId": str(event_id), "eventTime": time_text, "eventType": "EVENT_TYPE_" +
                screaming(engine_event_type)}

    def json_document(self, events: list) -> Any:
        return {"events": events}

    decode_json_payload = staticmethod(decode_temporal_json)
    decode_proto_payload = staticmethod(decode_temporal_proto)

    def event_to_canonical(self, event: dict) -> dict:
        return event

    def event_from_canonical(self, event: dict) -> dict:
        return event

    def history_proto_class(self) -> Any:
        from wfkit._engines import history_proto_class

        return history_proto_class(self.name)

    def proto_event_to_native(self, event: dict) -> dict:
        return event

    def native_event_to_proto_json(self, event: dict) -> dict:
        return event


DIALECT = TemporalDialect()
