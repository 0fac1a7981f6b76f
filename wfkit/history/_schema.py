"""Event-type names, categories and per-event-type column sources for wfkit histories.

Everything here is plain data: no engine SDK is imported. The tables say, for every event type of each
engine, where the canonical frame columns come from inside the event's attributes. The extractors in
``_history_extract`` are compiled from these tables, so adding an event type is one table row.
"""

from __future__ import annotations

import re
from functools import cache

ENGINES = ("temporal", "cadence")

#: Temporal's ``EventType`` enum (temporal.api.enums.v1), number -> PascalCase name.
TEMPORAL_EVENT_TYPE_NUMBERS: dict[int, str] = {
    1: "WorkflowExecutionStarted", 2: "WorkflowExecutionCompleted", 3: "WorkflowExecutionFailed",
    4: "WorkflowExecutionTimedOut", 5: "WorkflowTaskScheduled", 6: "WorkflowTaskStarted",
    7: "WorkflowTaskCompleted", 8: "WorkflowTaskTimedOut", 9: "WorkflowTaskFailed",
    10: "ActivityTaskScheduled", 11: "ActivityTaskStarted", 12: "ActivityTaskCompleted",
    13: "ActivityTaskFailed", 14: "ActivityTaskTimedOut", 15: "ActivityTaskCancelRequested",
    16: "ActivityTaskCanceled", 17: "TimerStarted", 18: "TimerFired", 19: "TimerCanceled",
    20: "WorkflowExecutionCancelRequested", 21: "WorkflowExecutionCanceled",
    22: "RequestCancelExternalWorkflowExecutionInitiated", 23: "RequestCancelExternalWorkflowExecutionFailed",
    24: "ExternalWorkflowExecutionCancelRequested", 25: "MarkerRecorded", 26: "WorkflowExecutionSignaled",
    27: "WorkflowExecutionTerminated", 28: "WorkflowExecutionContinuedAsNew",
    29: "StartChildWorkflowExecutionInitiated", 30: "StartChildWorkflowExecutionFailed",
    31: "ChildWorkflowExecutionStarted", 32: "ChildWorkflowExecutionCompleted", 33: "ChildWorkflowExecutionFailed",
    34: "ChildWorkflowExecutionCanceled", 35: "ChildWorkflowExecutionTimedOut",
    36: "ChildWorkflowExecutionTerminated", 37: "SignalExternalWorkflowExecutionInitiated",
    38: "SignalExternalWorkflowExecutionFailed", 39: "ExternalWorkflowExecutionSignaled",
    40: "UpsertWorkflowSearchAttributes", 41: "WorkflowExecutionUpdateAccepted",
    42: "WorkflowExecutionUpdateRejected", 43: "WorkflowExecutionUpdateCompleted",
    44: "WorkflowPropertiesModifiedExternally", 45: "ActivityPropertiesModifiedExternally",
    46: "WorkflowPropertiesModified", 47: "WorkflowExecutionUpdateAdmitted", 48: "NexusOperationScheduled",
    49: "NexusOperationStarted", 50: "NexusOperationCompleted", 51: "NexusOperationFailed",
    52: "NexusOperationCanceled", 53: "NexusOperationTimedOut", 54: "NexusOperationCancelRequested",
    55: "WorkflowExecutionOptionsUpdated", 56: "NexusOperationCancelRequestCompleted",
    57: "NexusOperationCancelRequestFailed", 58: "WorkflowExecutionPaused", 59: "WorkflowExecutionUnpaused",
    60: "WorkflowExecutionTimeSkippingTransitioned",
}
TEMPORAL_EVENT_TYPE_BY_NAME = {v: k for k, v in TEMPORAL_EVENT_TYPE_NUMBERS.items()}

#: Cadence names that differ from Temporal's (the canonical ``event_type`` uses Temporal naming).
CADENCE_TO_CANONICAL = {
    "DecisionTaskScheduled": "WorkflowTaskScheduled",
    "DecisionTaskStarted": "WorkflowTaskStarted",
    "DecisionTaskCompleted": "WorkflowTaskCompleted",
    "DecisionTaskTimedOut": "WorkflowTaskTimedOut",
    "DecisionTaskFailed": "WorkflowTaskFailed",
}
CANONICAL_TO_CADENCE = {v: k for k, v in CADENCE_TO_CANONICAL.items()}
#: Event types only Cadence has; they keep their own name as the canonical one.
CADENCE_ONLY_EVENT_TYPES = ("RequestCancelActivityTaskFailed", "CancelTimerFailed")

#: The fixed categories of the ``event_type`` column (unknown types are appended per frame).
KNOWN_EVENT_TYPES: tuple[str, ...] = tuple(
    [TEMPORAL_EVENT_TYPE_NUMBERS[k] for k in sorted(TEMPORAL_EVENT_TYPE_NUMBERS)] + list(CADENCE_ONLY_EVENT_TYPES))

#: The fixed categories of the ``category`` column.
CATEGORIES = ("workflow", "workflow_task", "activity", "timer", "signal", "child", "marker", "cancel", "other")

_CATEGORY_OVERRIDES = {
    "WorkflowExecutionSignaled": "signal",
    "SignalExternalWorkflowExecutionInitiated": "signal",
    "SignalExternalWorkflowExecutionFailed": "signal",
    "ExternalWorkflowExecutionSignaled": "signal",
    "WorkflowExecutionCancelRequested": "cancel",
    "RequestCancelExternalWorkflowExecutionInitiated": "cancel",
    "RequestCancelExternalWorkflowExecutionFailed": "cancel",
    "ExternalWorkflowExecutionCancelRequested": "cancel",
    "RequestCancelActivityTaskFailed": "activity",
    "CancelTimerFailed": "timer",
    "MarkerRecorded": "marker",
    "ActivityPropertiesModifiedExternally": "activity",
}


@cache
def category_of(event_type: str) -> str:
    """The ``category`` of a canonical event type (``other`` for anything unknown)."""
    if event_type in _CATEGORY_OVERRIDES:
        return _CATEGORY_OVERRIDES[event_type]
    if event_type.startswith("WorkflowTask"):
        return "workflow_task"
    if event_type.startswith("ActivityTask"):
        return "activity"
    if event_type.startswith("Timer"):
        return "timer"
    if event_type.startswith(("StartChildWorkflow", "ChildWorkflow")):
        return "child"
    if event_type.startswith("WorkflowExecution") and not event_type.startswith(
            ("WorkflowExecutionUpdate", "WorkflowExecutionOptions", "WorkflowExecutionPaused",
             "WorkflowExecutionUnpaused", "WorkflowExecutionTimeSkipping")):
        return "workflow"
    return "other"


def canonical_event_type(engine: str, engine_event_type: str) -> str:
    """Temporal-style name of an engine's event type (Cadence DecisionTask* -> WorkflowTask*)."""
    if engine == "cadence":
        return CADENCE_TO_CANONICAL.get(engine_event_type, engine_event_type)
    return engine_event_type


_CAPS = re.compile(r"(?<!^)(?=[A-Z])")


@cache
def screaming(pascal: str) -> str:
    """``ActivityTaskScheduled`` -> ``ACTIVITY_TASK_SCHEDULED`` (already-screaming names pass through)."""
    if not pascal or pascal.isupper() or "_" in pascal:
        return pascal.upper()
    return _CAPS.sub("_", pascal).upper()


@cache
def pascal(screaming_name: str) -> str:
    """``ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled``."""
    return "".join(p[:1] + p[1:].lower() for p in screaming_name.split("_") if p)


@cache
def attributes_key(engine_event_type: str) -> str:
    """``ActivityTaskScheduled`` -> ``activityTaskScheduledEventAttributes`` (proto-JSON/CLI key)."""
    return engine_event_type[:1].lower() + engine_event_type[1:] + "EventAttributes"


@cache
def type_from_attributes_key(key: str) -> str:
    """Inverse of :func:`attributes_key`; also accepts proto field names (``activity_task_..._attributes``)."""
    if "_" in key:
        key = key.removesuffix("_event_attributes")
        return "".join(p[:1].upper() + p[1:] for p in key.split("_"))
    key = key.removesuffix("EventAttributes")
    return key[:1].upper() + key[1:]


@cache
def snake(camel: str) -> str:
    """``scheduledEventId`` -> ``scheduled_event_id`` (proto field name of a proto-JSON key)."""
    return _CAPS.sub("_", camel).lower()


# ---------------------------------------------------------------------------------------------------------------
# Column sources per event type.
#
# Each row maps canonical columns to where they come from in the event's attributes:
#   a dotted camelCase path ("activityType.name"), or for ``failure`` one of
#   "F:<path>"            a Failure object (Temporal Failure, or Cadence proto Failure{reason, details})
#   "R:<reason>,<details>" Cadence CLI reason/details pair (details base64 bytes)
#   "E:<path>"            an enum or plain string (a cause, a reason)
#   "TO:<path>"           a timeout type -> "StartToClose timeout"
#   "ATO:<path>"          an activity timeout type -> "activity StartToClose timeout" (Temporal's wording)
# ``attempt`` paths are read as-is on Temporal (1-based) and +1 on Cadence (0-based).
# ---------------------------------------------------------------------------------------------------------------

COLUMNS_FROM_ATTRIBUTES = ("activity_id", "activity_type", "timer_id", "signal_name", "attempt", "task_queue",
                           "identity", "related_event_id", "failure", "payload")

_WTC = "workflowTaskCompletedEventId"

TEMPORAL_SOURCES: dict[str, dict[str, str]] = {
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


def _cadence_sources(cli: bool) -> dict[str, dict[str, str]]:
    """Cadence column sources, in CLI (thrift) JSON form or in ``cadence.api.v1`` proto form."""
    def fail(reason: str, details: str, proto: str) -> str:
        return f"R:{reason},{details}" if cli else f"F:{proto}"

    dtc = "decisionTaskCompletedEventId"
    t = TEMPORAL_SOURCES
    out: dict[str, dict[str, str]] = {}
    for temporal_name, cadence_name in [(k, CANONICAL_TO_CADENCE.get(k, k)) for k in t]:
        if temporal_name.startswith(("WorkflowExecutionUpdate", "WorkflowProperties", "ActivityProperties",
                                     "Nexus", "WorkflowExecutionOptions", "WorkflowExecutionPaused",
                                     "WorkflowExecutionUnpaused", "WorkflowExecutionTimeSkipping")):
            continue
        row = {}
        for col, src in t[temporal_name].items():
            src = src.replace("taskQueue", "taskList").replace(_WTC, dtc)
            row[col] = src
        out[cadence_name] = row
    out["WorkflowExecutionStarted"]["failure"] = fail("continuedFailureReason", "continuedFailureDetails",
                                                      "continuedFailure")
    out["WorkflowExecutionFailed"]["failure"] = fail("reason", "details", "failure")
    out["DecisionTaskFailed"]["failure"] = fail("reason", "details", "failure")
    out["ActivityTaskStarted"]["failure"] = fail("lastFailureReason", "lastFailureDetails", "lastFailure")
    out["ActivityTaskFailed"]["failure"] = fail("reason", "details", "failure")
    out["ActivityTaskTimedOut"] = {"related_event_id": "scheduledEventId", "failure": "ATO:timeoutType",
                                       "payload": "details"}
    out["ActivityTaskCancelRequested"] = {"activity_id": "activityId", "related_event_id": dtc}
    out["RequestCancelActivityTaskFailed"] = {"activity_id": "activityId", "related_event_id": dtc,
                                                  "failure": "E:cause"}
    out["CancelTimerFailed"] = {"timer_id": "timerId", "related_event_id": dtc, "identity": "identity",
                                    "failure": "E:cause"}
    out["WorkflowExecutionCancelRequested"] = {
        "identity": "identity", "failure": "E:cause",
        "related_event_id": "externalInitiatedEventId" if cli else "externalExecutionInfo.initiatedId"}
    out["WorkflowExecutionContinuedAsNew"]["failure"] = fail("failureReason", "failureDetails", "failure")
    out["ChildWorkflowExecutionFailed"]["failure"] = fail("reason", "details", "failure")
    out["MarkerRecorded"] = {"related_event_id": dtc, "payload": "details"}
    return out


CADENCE_CLI_SOURCES = _cadence_sources(cli=True)
CADENCE_PROTO_SOURCES = _cadence_sources(cli=False)

#: Generic sources for event types no table knows (newer servers): used when the key exists.
GENERIC_SOURCES = {"activity_id": "activityId", "activity_type": "activityType.name", "timer_id": "timerId",
                       "signal_name": "signalName", "identity": "identity"}
GENERIC_RELATED = ("scheduledEventId", "initiatedEventId", "startedEventId", _WTC, "decisionTaskCompletedEventId")
