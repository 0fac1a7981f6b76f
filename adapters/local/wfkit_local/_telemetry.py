"""OpenTelemetry spans on the local engine (see ``wfkit.telemetry``), named as temporalio's interceptor names them.

One trace per workflow: the client's ``StartWorkflow:<type>`` span travels in the start event's header (W3C
trace context under ``wfkit-tracecontext``, a JSON payload); ``RunWorkflow:<type>`` is recorded at the first
workflow task, ``StartActivity:<name>`` when an activity is scheduled (its context in that event's header) and
``RunActivity:<name>`` around each attempt. Nothing is imported while telemetry is off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from wfkit.engine import telemetry

from . import _events as ev

HEADER_KEY = "wfkit-tracecontext"


def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def header_of(span: Any) -> dict[str, Any]:
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagator().inject(carrier, context=trace.set_span_in_context(span))
    return {"fields": {HEADER_KEY: ev.payloads([carrier])["payloads"][0]}}


def context_of(a: dict[str, Any]) -> Any:
    """The OpenTelemetry context an event's header carries (None when none)."""
    field = (a.get("header") or {}).get("fields", {}).get(HEADER_KEY)
    if field is None or not telemetry.enabled():
        return None
    carrier = ev.values({"payloads": [field]})[0]
    return _propagator().extract(carrier) if isinstance(carrier, dict) else None


@contextlib.contextmanager
def client_start(type_name: str, workflow_id: str) -> Iterator[dict[str, Any] | None]:
    """The ``StartWorkflow`` span around a start; yields the header to record in the start event."""
    tracer = telemetry.tracer()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(f"StartWorkflow:{type_name}", attributes={
            "wfkit.workflow_id": workflow_id, "wfkit.workflow_type": type_name, "wfkit.engine": "local"}) as span:
        yield header_of(span)


def instant(name: str, parent_attrs: dict[str, Any], attributes: dict[str, str]) -> dict[str, Any] | None:
    """A zero-length span under the context of ``parent_attrs``' header; the header carrying it."""
    tracer = telemetry.tracer()
    if tracer is None:
        return None
    span = tracer.start_span(name, context=context_of(parent_attrs),
                             attributes={**attributes, "wfkit.engine": "local"})
    span.end()
    return header_of(span)


@contextlib.contextmanager
def run_activity(name: str, scheduled: dict[str, Any], attributes: dict[str, str]) -> Iterator[None]:
    tracer = telemetry.tracer()
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(f"RunActivity:{name}", context=context_of(scheduled),
                                      attributes={**attributes, "wfkit.engine": "local"}):
        yield
