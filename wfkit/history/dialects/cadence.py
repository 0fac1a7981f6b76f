"""The Cadence history dialect: Cadence's event names, where the frame columns live in its events, its JSON
shapes, protos and the rules that convert its events to and from the canonical (Temporal) shape.

JSON shapes (``format=`` names):

``cadence``
    ``cadence workflow show --of`` JSON: a bare array (or ``{"events": [...]}``) of thrift-shaped events with
    numeric ``eventId``, integer-nanosecond ``timestamp``, PascalCase ``eventType``, ``taskList``,
    ``decisionTask*`` and ``*TimeoutSeconds``.
``cadence-proto``
    Cadence gRPC proto-JSON (``cadence.api.v1``): ``eventTime`` strings and no ``eventType`` (the attributes
    key says the type); read into the CLI shape, losslessly.

The conversions themselves are in ``_cadence_convert`` (imported when first needed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wfkit.history._payload import decode_cadence_json, decode_cadence_proto
from wfkit.history._schema import GENERIC_KEYS
from wfkit.history.dialects import JsonHints, JsonVariant
from wfkit.history.dialects._cadence_failure import read_failure
from wfkit.history.dialects.temporal import SOURCES as TEMPORAL_SOURCES
from wfkit.history.dialects.temporal import _tfail

#: Cadence counts attempts from 0 (and leaves a first attempt out of its JSON); canonical attempts count from 1.
ATTEMPT_BASE = 0

#: Cadence names that differ from the canonical (Temporal) ones.
TO_CANONICAL = {
    "DecisionTaskScheduled": "WorkflowTaskScheduled",
    "DecisionTaskStarted": "WorkflowTaskStarted",
    "DecisionTaskCompleted": "WorkflowTaskCompleted",
    "DecisionTaskTimedOut": "WorkflowTaskTimedOut",
    "DecisionTaskFailed": "WorkflowTaskFailed",
}
FROM_CANONICAL = {v: k for k, v in TO_CANONICAL.items()}
#: Event types only Cadence has; they keep their own name as the canonical one.
ONLY_EVENT_TYPES = ("RequestCancelActivityTaskFailed", "CancelTimerFailed")

_WTC = "workflowTaskCompletedEventId"


def _cadence_sources(cli: bool) -> dict[str, dict[str, str]]:
    """Cadence column sources, in CLI (thrift) JSON form or in ``cadence.api.v1`` proto form."""
    def fail(reason: str, details: str, proto: str) -> str:
        return f"R:{reason},{details}" if cli else f"F:{proto}"

    dtc = "decisionTaskCompletedEventId"
    t = TEMPORAL_SOURCES
    out: dict[str, dict[str, str]] = {}
    for temporal_name, cadence_name in [(k, FROM_CANONICAL.get(k, k)) for k in t]:
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


#: Column sources of the CLI (thrift) JSON and of ``cadence.api.v1`` protos.
CLI_SOURCES = _cadence_sources(cli=True)
PROTO_SOURCES = _cadence_sources(cli=False)
#: A Temporal-only event type carried into a Cadence document (a converted history): keep its ids.
FOREIGN_SOURCES = {name: {k: v for k, v in row.items() if k not in ("payload", "failure", "attempt")}
                   for name, row in TEMPORAL_SOURCES.items() if name not in CLI_SOURCES}
#: The event types whose attributes carry an attempt (Cadence names).
ATTEMPT_EVENT_TYPES = frozenset(name for name, row in CLI_SOURCES.items() if "attempt" in row)


def _convert() -> Any:
    from wfkit.history.dialects import _cadence_convert

    return _cadence_convert


def _proto_to_cli(event: dict) -> dict:
    return _convert().cadence_proto_event_to_cli(event)


def _proto_failure_text(failure: Any) -> str | None:
    from wfkit.history._extract import _rfail_text

    return _rfail_text(failure.reason, failure.details)


class CadenceDialect:
    """Cadence histories (see :class:`wfkit.history.dialects.HistoryDialect` for the members)."""

    name = "cadence"
    event_type_numbers: dict[int, str] = {}
    extra_event_types = ONLY_EVENT_TYPES
    attempt_base = ATTEMPT_BASE
    json_sources = CLI_SOURCES
    foreign_json_sources = FOREIGN_SOURCES
    proto_sources = PROTO_SOURCES
    generic_keys = GENERIC_KEYS
    time_key = "timestamp"
    time_json_type: Any = int | str | None
    hints = JsonHints(
        event_type_prefixes=("DecisionTask",), key_prefixes=("decisionTask",),
        attribute_prefixes=("decisionTask", "taskList", "domain", "TimeoutSeconds", "executionStartToCloseTimeout"),
        attribute_suffixes=("TimeoutSeconds",))
    array_document = True
    variants = {"cadence-proto": JsonVariant("cadence-proto", _proto_to_cli, "eventTime")}
    proto_event_name = "uber.cadence.api.v1.HistoryEvent"

    def canonical_event_type(self, name: str) -> str:
        return TO_CANONICAL.get(name, name)

    def engine_event_type(self, canonical: str) -> str:
        return FROM_CANONICAL.get(canonical, canonical)

    json_failure_text = staticmethod(_tfail)  # only failures carried over from another engine are objects
    proto_failure_text = staticmethod(_proto_failure_text)
    read_failure = staticmethod(read_failure)
    """Read a failure (reason + details) the way frames do: what the Cadence plugin's errors are made from."""

    def parse_json_times(self, values: list) -> np.ndarray:
        from wfkit.history._extract import int_column

        return int_column(values, self.time_key)

    def detect_variant(self, doc: Any, first: dict) -> str:
        if "eventTime" in first and "timestamp" not in first:
            return "cadence-proto"
        return self.name

    def native_envelope(self, event_id: int, time_text: str, time_ns: int, engine_event_type: str) -> dict:
        return {"eventId": event_id, "timestamp": time_ns, "eventType": engine_event_type}

    def json_document(self, events: list) -> Any:
        return events

    decode_json_payload = staticmethod(decode_cadence_json)
    decode_proto_payload = staticmethod(decode_cadence_proto)

    def event_to_canonical(self, event: dict) -> dict:
        return _convert().cadence_event_to_temporal(event)

    def event_from_canonical(self, event: dict) -> dict:
        return _convert().temporal_event_to_cadence(event)

    def history_proto_class(self) -> Any:
        from wfkit._engines import history_proto_class

        return history_proto_class(self.name)

    def proto_event_to_native(self, event: dict) -> dict:
        return _convert().cadence_proto_event_to_cli(event)

    def native_event_to_proto_json(self, event: dict) -> dict:
        return _convert().cadence_cli_event_to_proto(event)


DIALECT = CadenceDialect()
