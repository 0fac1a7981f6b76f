"""OpenTelemetry: one connected trace per workflow (client start → workflow run → activities); Prometheus
metrics whose counts match what ran. Real servers, the OTel SDK's in-memory exporter."""

from __future__ import annotations

import uuid
from urllib.request import urlopen

import pytest

import wfkit
import wfkit.telemetry

from . import workflows as w

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="telemetry needs the telemetry extra")


@pytest.fixture
def spans():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    wfkit.telemetry.enable(tracer_provider=provider)
    yield exporter
    wfkit.telemetry.disable()


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = line[len(name) + 1:line.index("}")]
            if ",".join(sorted(got.split(","))) == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_trace_and_metrics(engine, server_for, spans, task_queue):
    client = await wfkit.connect(server_for(engine).url)   # made after enable(): traced
    try:
        async with client.worker(task_queue=task_queue, workflows=[w.Hello, w.Failing],
                                 activities=[w.echo, w.fail_with]):
            ids = [f"otel-{uuid.uuid4().hex[:8]}" for _ in range(2)]
            for wid in ids:
                h = await client.start(w.Hello, wid, id=wid, task_queue=task_queue)
                await h.result(timeout=30)
            bad = await client.start(w.Failing, "Nope", True, False, task_queue=task_queue)
            with pytest.raises(wfkit.WorkflowFailed):
                await bad.result(timeout=30)
    finally:
        await client.close()

    finished = spans.get_finished_spans()
    for wid in ids:
        # every span of this workflow shares one trace, which starts at the client's start call
        traces = {s.context.trace_id for s in finished if (s.attributes or {}).get("temporalWorkflowID") == wid
                  or (s.attributes or {}).get("wfkit.workflow_id") == wid}
        assert len(traces) == 1, f"one trace for {wid}, got {len(traces)}"
        trace_spans = [s.name for s in finished if s.context.trace_id in traces]
        for expected in ("StartWorkflow:Hello", "RunWorkflow:Hello", "StartActivity:echo", "RunActivity:echo"):
            assert expected in trace_spans, (expected, trace_spans)

    text = wfkit.telemetry.metrics_text()
    assert _metric(text, "wfkit_workflows_started_total", engine=engine, type="Hello") == 2
    assert _metric(text, "wfkit_workflows_completed_total", engine=engine, type="Hello") == 2
    assert _metric(text, "wfkit_workflows_failed_total", engine=engine, type="Failing") == 1
    assert _metric(text, "wfkit_activities_completed_total", engine=engine, type="echo") == 2
    assert _metric(text, "wfkit_activities_failed_total", engine=engine, type="fail_with") == 1
    assert _metric(text, "wfkit_workflow_duration_seconds_count", engine=engine, type="Hello") == 2
    host, port = wfkit.telemetry.serve_metrics()
    scraped = urlopen(f"http://{host}:{port}/metrics", timeout=5).read().decode()
    assert _metric(scraped, "wfkit_workflows_completed_total", engine=engine, type="Hello") == 2
