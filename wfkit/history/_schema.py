"""The canonical vocabulary of wfkit histories: event type names, categories, the columns read from event
attributes (and their kinds), and name helpers.

Everything here is plain data and engine-neutral; what each engine calls things and where it keeps them is
in :mod:`wfkit.history.dialects`. The extractors in ``_extract``/``_typed``/``_skim`` are generated from
:data:`COLUMN_KINDS` and a dialect's source tables, so a new event type is one table row and a new column one
entry here plus its sources.
"""

from __future__ import annotations

import re
from functools import cache

#: The canonical vocabulary of the ``event_type`` column: Temporal's event type names, in the order of its
#: ``EventType`` enum (temporal.api.enums.v1; the number of a name is its position + 1).
CANONICAL_EVENT_TYPES: tuple[str, ...] = (
    "WorkflowExecutionStarted", "WorkflowExecutionCompleted", "WorkflowExecutionFailed",
    "WorkflowExecutionTimedOut", "WorkflowTaskScheduled", "WorkflowTaskStarted",
    "WorkflowTaskCompleted", "WorkflowTaskTimedOut", "WorkflowTaskFailed",
    "ActivityTaskScheduled", "ActivityTaskStarted", "ActivityTaskCompleted",
    "ActivityTaskFailed", "ActivityTaskTimedOut", "ActivityTaskCancelRequested",
    "ActivityTaskCanceled", "TimerStarted", "TimerFired", "TimerCanceled",
    "WorkflowExecutionCancelRequested", "WorkflowExecutionCanceled",
    "RequestCancelExternalWorkflowExecutionInitiated", "RequestCancelExternalWorkflowExecutionFailed",
    "ExternalWorkflowExecutionCancelRequested", "MarkerRecorded", "WorkflowExecutionSignaled",
    "WorkflowExecutionTerminated", "WorkflowExecutionContinuedAsNew",
    "StartChildWorkflowExecutionInitiated", "StartChildWorkflowExecutionFailed",
    "ChildWorkflowExecutionStarted", "ChildWorkflowExecutionCompleted", "ChildWorkflowExecutionFailed",
    "ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionTimedOut",
    "ChildWorkflowExecutionTerminated", "SignalExternalWorkflowExecutionInitiated",
    "SignalExternalWorkflowExecutionFailed", "ExternalWorkflowExecutionSignaled",
    "UpsertWorkflowSearchAttributes", "WorkflowExecutionUpdateAccepted",
    "WorkflowExecutionUpdateRejected", "WorkflowExecutionUpdateCompleted",
    "WorkflowPropertiesModifiedExternally", "ActivityPropertiesModifiedExternally",
    "WorkflowPropertiesModified", "WorkflowExecutionUpdateAdmitted", "NexusOperationScheduled",
    "NexusOperationStarted", "NexusOperationCompleted", "NexusOperationFailed",
    "NexusOperationCanceled", "NexusOperationTimedOut", "NexusOperationCancelRequested",
    "WorkflowExecutionOptionsUpdated", "NexusOperationCancelRequestCompleted",
    "NexusOperationCancelRequestFailed", "WorkflowExecutionPaused", "WorkflowExecutionUnpaused",
    "WorkflowExecutionTimeSkippingTransitioned",
)

#: The fixed categories of the ``event_type`` column (unknown types are appended per frame): the canonical
#: vocabulary, then the event types only some engine has, which keep their own name (each dialect lists its
#: own in ``extra_event_types``; a test checks they are all here).
KNOWN_EVENT_TYPES: tuple[str, ...] = CANONICAL_EVENT_TYPES + ("RequestCancelActivityTaskFailed", "CancelTimerFailed")

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
# Columns read from event attributes, and how each dialect says where they come from.
#
# A dialect's source table maps, per engine event type, canonical columns to where they come from inside the
# event's attributes: a dotted camelCase path ("activityType.name"), or for a ``failure`` column one of
#   "F:<path>"             a failure object (the dialect's ``json_failure_text`` / ``proto_failure_text``)
#   "R:<reason>,<details>" a reason/details pair (details base64 bytes)
#   "E:<path>"             an enum or plain string (a cause, a reason)
#   "TO:<path>"            a timeout type -> "StartToClose timeout"
#   "ATO:<path>"           an activity timeout type -> "activity StartToClose timeout"
# ---------------------------------------------------------------------------------------------------------------

#: Column kind -> how the generated extractors read and store it:
#:   ``str``     text (empty -> None), stored as an object array
#:   ``int``     int64 (proto3's unset 0 -> NA in the frame)
#:   ``attempt`` int64 counted from 1 (the dialect's ``attempt_base`` says where the engine counts from)
#:   ``failure`` text built from a failure source (see above)
#:   ``flag``    bool: the event has this payload (the value is decoded lazily)
COLUMN_KINDS: dict[str, str] = {
    "activity_id": "str", "activity_type": "str", "timer_id": "str", "signal_name": "str", "attempt": "attempt",
    "task_queue": "str", "identity": "str", "related_event_id": "int", "failure": "failure", "payload": "flag",
}

#: The frame columns that come from event attributes, in extraction order.
COLUMNS_FROM_ATTRIBUTES: tuple[str, ...] = tuple(COLUMN_KINDS)
#: The text columns (checked to be strings; empty text becomes None).
STR_COLUMNS: tuple[str, ...] = tuple(c for c, k in COLUMN_KINDS.items() if k in ("str", "failure"))
#: The integer columns (0 means unset).
INT_COLUMNS: tuple[str, ...] = tuple(c for c, k in COLUMN_KINDS.items() if k in ("int", "attempt"))

#: Where columns come from in event types no table knows (newer servers): column -> candidate sources, the
#: first whose top-level key the attributes have wins. Dialects start from this and add their own.
GENERIC_KEYS: dict[str, tuple[str, ...]] = {
    "activity_id": ("activityId",), "activity_type": ("activityType.name",), "timer_id": ("timerId",),
    "signal_name": ("signalName",), "identity": ("identity",), "task_queue": ("taskList.name", "taskQueue.name"),
    "related_event_id": ("scheduledEventId", "initiatedEventId", "startedEventId", "workflowTaskCompletedEventId",
                         "decisionTaskCompletedEventId"),
    "payload": ("input", "result", "details"),
}
