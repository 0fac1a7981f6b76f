"""OpenTelemetry spans on the local engine (see ``wfkit.telemetry``), named as temporalio's interceptor names them.

One trace per workflow: the client's ``StartWorkflow:<type>`` span travels in the start event's header (W3C
trace context under ``wfkit-tracecontext``, a JSON payload); ``RunWorkflow:<type>`` is recorded at the first
workflow task, ``StartActivity:<name>`` when an activity is scheduled (its context in that event's header) and
``RunActivity:<name>`` around each attempt. The spans are ``wfkit.telemetry``'s span hooks; this module carries
their context in the events' headers. Nothing is imported while telemetry is off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from wfkit.engine import telemetry

from . import _events as ev
from ._replay import ENGINE


def header_of(span: Any) -> dict[str, Any] | None:
    """The header that carries ``span``'s context (None for no span)."""
    if span is None:
        return None
    return {"fields": {telemetry.TRACE_HEADER: ev.payloads([telemetry.trace_carrier(span)])["payloads"][0]}}


def context_of(a: dict[str, Any]) -> Any:
    """The OpenTelemetry context an event's header carries (None when none)."""
    field = (a.get("header") or {}).get("fields", {}).get(telemetry.TRACE_HEADER)
    if field is None or not telemetry.enabled():
        return None
    carrier = ev.values({"payloads": [field]})[0]
    return telemetry.trace_context(carrier) if isinstance(carrier, dict) else None


@contextlib.contextmanager
def client_start(type_name: str, workflow_id: str) -> Iterator[dict[str, Any] | None]:
    """The ``StartWorkflow`` span around a start; yields the header to record in the start event."""
    with telemetry.start_workflow_span(ENGINE, type_name, workflow_id) as span:
        yield header_of(span)


def instant(name: str, parent_attrs: dict[str, Any], attributes: dict[str, str]) -> dict[str, Any] | None:
    """A zero-length span under the context of ``parent_attrs``' header; the header carrying it."""
    return header_of(telemetry.instant_span(ENGINE, name, context_of(parent_attrs), attributes))


def run_activity(name: str, scheduled: dict[str, Any],
                 attributes: dict[str, str]) -> contextlib.AbstractContextManager[None]:
    """The ``RunActivity`` span around one attempt, under the context of the scheduled event's header."""
    return telemetry.activity_span(ENGINE, name, context_of(scheduled), attributes)
