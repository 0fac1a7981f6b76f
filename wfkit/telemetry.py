"""OpenTelemetry traces and Prometheus metrics for wfkit workflows and activities, on every engine.

    wfkit.telemetry.enable(tracer_provider=None, meter_provider=None)
    client = await wfkit.connect(...)          # clients and workers made after enable() are traced
    print(wfkit.telemetry.metrics_text())      # Prometheus exposition; or serve_metrics(port)

Spans: client start → workflow run → each activity, connected through the engine's headers (Temporal: the
temporalio OpenTelemetry interceptor; Cadence and local: the span hooks at the end of this module, their context
carried in the adapter's headers). Metrics, labelled by ``engine`` and ``type``:
``wfkit_workflows_started_total``, ``wfkit_workflows_completed_total``, ``wfkit_workflows_failed_total``,
``wfkit_workflow_duration_seconds`` and the same for activities (``wfkit_activities_*_total``,
``wfkit_activity_duration_seconds``); ``wfkit_signals_dropped_total`` counts the signals a workflow dropped
because their arguments could not be decoded. Workflow outcomes are counted once, when
the workflow closes, never again on replay. Nothing here is imported or recorded until ``enable()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["disable", "enable", "enabled", "metrics_text", "serve_metrics", "tracer"]


@dataclasses.dataclass
class _Telemetry:
    tracer_provider: Any
    tracer: Any
    registry: Any
    counters: dict[str, Any]
    durations: dict[str, Any]
    otel: dict[str, Any]


_state: _Telemetry | None = None
_lock = threading.Lock()


def enable(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Turn on tracing and metrics for clients and workers created from now on.

    Args:
        tracer_provider: an OpenTelemetry ``TracerProvider`` (default: the global one).
        meter_provider: an OpenTelemetry ``MeterProvider`` that also receives the metrics (Prometheus exposition
            through ``metrics_text``/``serve_metrics`` works either way).
    """
    global _state
    from opentelemetry import trace
    from prometheus_client import CollectorRegistry, Counter, Histogram

    with _lock:
        registry = CollectorRegistry()
        counters, durations, otel = {}, {}, {}
        buckets = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
        for kind, plural in (("workflow", "workflows"), ("activity", "activities")):
            for event in ("started", "completed", "failed"):
                counters[f"{kind}_{event}"] = Counter(f"wfkit_{plural}_{event}", f"{plural} {event}",
                                                      ["engine", "type"], registry=registry)
            durations[kind] = Histogram(f"wfkit_{kind}_duration_seconds", f"{kind} duration (seconds)",
                                        ["engine", "type"], registry=registry, buckets=buckets)
        counters["signal_dropped"] = Counter("wfkit_signals_dropped", "signals dropped (undecodable arguments)",
                                             ["engine", "type"], registry=registry)
        if meter_provider is not None:
            meter = meter_provider.get_meter("wfkit")
            for name, counter in counters.items():
                otel[name] = meter.create_counter(f"{next(iter(counter.describe())).name}_total")
            for kind in durations:
                otel[f"{kind}_duration"] = meter.create_histogram(f"wfkit_{kind}_duration_seconds", unit="s")
        provider = tracer_provider or trace.get_tracer_provider()
        _state = _Telemetry(provider, provider.get_tracer("wfkit"), registry, counters, durations, otel)


def disable() -> None:
    """Stop recording (clients and workers already made keep their tracing interceptors)."""
    global _state
    _state = None


def enabled() -> bool:
    return _state is not None


def tracer() -> Any:
    """wfkit's OpenTelemetry tracer (None when telemetry is off)."""
    return _state.tracer if _state is not None else None


def tracer_provider() -> Any:
    return _state.tracer_provider if _state is not None else None


def metrics_text() -> str:
    """The Prometheus text exposition of wfkit's metrics."""
    if _state is None:
        return ""
    from prometheus_client import generate_latest

    return generate_latest(_state.registry).decode()


def serve_metrics(port: int = 0, host: str = "127.0.0.1") -> tuple[str, int]:
    """Serve ``/metrics`` over HTTP in a background thread; returns (host, port)."""
    if _state is None:
        raise RuntimeError("wfkit.telemetry.enable() first")
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=_state.registry)
    return host, server.server_port


# --- recording hooks (called by the core and the adapters; no-ops while disabled) ---------------------------
def _count(name: str, engine: str, type_name: str) -> None:
    st = _state
    if st is None:
        return
    st.counters[name].labels(engine=engine, type=type_name).inc()
    if name in st.otel:
        st.otel[name].add(1, {"engine": engine, "type": type_name})


def _observe(kind: str, engine: str, type_name: str, seconds: float) -> None:
    st = _state
    if st is None:
        return
    st.durations[kind].labels(engine=engine, type=type_name).observe(max(seconds, 0.0))
    if f"{kind}_duration" in st.otel:
        st.otel[f"{kind}_duration"].record(max(seconds, 0.0), {"engine": engine, "type": type_name})


def workflow_started(engine: str, type_name: str) -> None:
    _count("workflow_started", engine, type_name)


def workflow_closed(engine: str, type_name: str, ok: bool, seconds: float) -> None:
    _count("workflow_completed" if ok else "workflow_failed", engine, type_name)
    _observe("workflow", engine, type_name, seconds)


def activity_started(engine: str, type_name: str) -> None:
    _count("activity_started", engine, type_name)


def activity_closed(engine: str, type_name: str, ok: bool, seconds: float) -> None:
    _count("activity_completed" if ok else "activity_failed", engine, type_name)
    _observe("activity", engine, type_name, seconds)


def signal_dropped(engine: str, type_name: str) -> None:
    _count("signal_dropped", engine, type_name)


# --- span hooks, for adapters that carry trace context in their own headers (spans named as temporalio's
# OpenTelemetry interceptor names them, so every engine shows the same trace; None while disabled) -------------
TRACE_HEADER = "wfkit-tracecontext"
"""The header field that carries a span's W3C trace context to the next span."""


def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def trace_carrier(span: Any) -> dict[str, str]:
    """``span``'s W3C trace context (``traceparent``, ``tracestate``), to send under :data:`TRACE_HEADER`."""
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagator().inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def trace_context(carrier: dict[str, str]) -> Any:
    """The OpenTelemetry context of a carrier made by :func:`trace_carrier`."""
    return _propagator().extract(carrier)


@contextlib.contextmanager
def start_workflow_span(engine: str, type_name: str, workflow_id: str) -> Iterator[Any]:
    """The client's ``StartWorkflow:<type>`` span, current around a start request; yields the span."""
    t = tracer()
    if t is None:
        yield None
        return
    with t.start_as_current_span(f"StartWorkflow:{type_name}", attributes={
            "wfkit.workflow_id": workflow_id, "wfkit.workflow_type": type_name, "wfkit.engine": engine}) as span:
        yield span


def instant_span(engine: str, name: str, parent: Any, attributes: dict[str, str]) -> Any:
    """A zero-length span under the context ``parent`` (what workflow code records: once, never on replay)."""
    t = tracer()
    if t is None:
        return None
    span = t.start_span(name, context=parent, attributes={**attributes, "wfkit.engine": engine})
    span.end()
    return span


@contextlib.contextmanager
def activity_span(engine: str, name: str, parent: Any, attributes: dict[str, str]) -> Iterator[None]:
    """The ``RunActivity:<name>`` span around one attempt, under the context ``parent``."""
    t = tracer()
    if t is None:
        yield
        return
    with t.start_as_current_span(f"RunActivity:{name}", context=parent,
                                 attributes={**attributes, "wfkit.engine": engine}):
        yield
