"""OpenTelemetry spans and wfkit metrics on Cadence (see ``wfkit.telemetry``).

One trace per workflow: the client's ``StartWorkflow:<type>`` span travels to the workflow in the start
request's Cadence header (W3C trace context under ``wfkit-tracecontext``); from there ``RunWorkflow:<type>``,
``StartActivity:<name>`` and ``StartChildWorkflow:<type>`` are recorded by workflow code, and
``RunActivity:<name>`` by the worker around the activity, each schedule passing the context on in its header.
Spans made by workflow code are instants recorded once, never again when the history is replayed (the span
names follow temporalio's OpenTelemetry interceptor, so both engines show the same trace). The spans are
``wfkit.telemetry``'s span hooks; this module carries their context in Cadence headers. Nothing is imported while
telemetry is off.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from cadence.api.v1.common_pb2 import Header, Payload

from wfkit.engine import telemetry


def enabled() -> bool:
    return telemetry.enabled()


def _carrier_of(span: Any) -> bytes | None:
    return None if span is None else json.dumps(telemetry.trace_carrier(span)).encode()


def context_from(header: Header | None) -> Any:
    """The OpenTelemetry context carried by a Cadence header (None when there is none or telemetry is off)."""
    if header is None or telemetry.TRACE_HEADER not in header.fields or not telemetry.enabled():
        return None
    try:
        carrier = json.loads(header.fields[telemetry.TRACE_HEADER].data)
    except ValueError:
        return None
    return telemetry.trace_context(carrier)


def put(header: Header, carrier: bytes | None) -> None:
    if carrier:
        header.fields[telemetry.TRACE_HEADER].CopyFrom(Payload(data=carrier))


@contextlib.contextmanager
def client_start(type_name: str, workflow_id: str) -> Iterator[bytes | None]:
    """The ``StartWorkflow`` span around a start request; yields the header value to send along."""
    with telemetry.start_workflow_span("cadence", type_name, workflow_id) as span:
        yield _carrier_of(span)


def instant(name: str, parent: Any, attributes: dict[str, str]) -> bytes | None:
    """Record a zero-length span (what workflow code records) and return its context for a header."""
    return _carrier_of(telemetry.instant_span("cadence", name, parent, attributes))


def run_activity(name: str, header: Header, attributes: dict[str, str]) -> contextlib.AbstractContextManager[None]:
    """The ``RunActivity`` span around one activity, under the context its header carries."""
    return telemetry.activity_span("cadence", name, context_from(header), attributes)
