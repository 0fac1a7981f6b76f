"""OpenTelemetry spans and wfkit metrics on Cadence (see ``wfkit.telemetry``).

One trace per workflow: the client's ``StartWorkflow:<type>`` span travels to the workflow in the start
request's Cadence header (W3C trace context under ``wfkit-tracecontext``); from there ``RunWorkflow:<type>``,
``StartActivity:<name>`` and ``StartChildWorkflow:<type>`` are recorded by workflow code, and
``RunActivity:<name>`` by the worker around the activity, each schedule passing the context on in its header.
Spans made by workflow code are instants recorded once, never again when the history is replayed (the span
names follow temporalio's OpenTelemetry interceptor, so both engines show the same trace). Nothing is imported
while telemetry is off.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from cadence.api.v1.common_pb2 import Header, Payload

from wfkit.engine import telemetry

HEADER_KEY = "wfkit-tracecontext"


def enabled() -> bool:
    return telemetry.enabled()


def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def _carrier_of(span: Any) -> bytes:
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagator().inject(carrier, context=trace.set_span_in_context(span))
    return json.dumps(carrier).encode()


def context_from(header: Header | None) -> Any:
    """The OpenTelemetry context carried by a Cadence header (None when there is none)."""
    if header is None or HEADER_KEY not in header.fields:
        return None
    try:
        carrier = json.loads(header.fields[HEADER_KEY].data)
    except ValueError:
        return None
    return _propagator().extract(carrier)


def put(header: Header, carrier: bytes | None) -> None:
    if carrier:
        header.fields[HEADER_KEY].CopyFrom(Payload(data=carrier))


@contextlib.contextmanager
def client_start(type_name: str, workflow_id: str) -> Iterator[bytes | None]:
    """The ``StartWorkflow`` span around a start request; yields the header value to send along."""
    tracer = telemetry.tracer()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(f"StartWorkflow:{type_name}", attributes={
            "wfkit.workflow_id": workflow_id, "wfkit.workflow_type": type_name, "wfkit.engine": "cadence"}) as span:
        yield _carrier_of(span)


def instant(name: str, parent: Any, attributes: dict[str, str]) -> bytes | None:
    """Record a zero-length span (what workflow code records) and return its context for a header."""
    tracer = telemetry.tracer()
    if tracer is None:
        return None
    span = tracer.start_span(name, context=parent, attributes={**attributes, "wfkit.engine": "cadence"})
    span.end()
    return _carrier_of(span)


@contextlib.contextmanager
def run_activity(name: str, header: Header, attributes: dict[str, str]) -> Iterator[None]:
    tracer = telemetry.tracer()
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(f"RunActivity:{name}", context=context_from(header),
                                      attributes={**attributes, "wfkit.engine": "cadence"}):
        yield
