"""What only the Cadence adapter has to get right, against the real Cadence server (``cadence_server`` fixture).

The behaviour both engines share is in ``tests/conformance``; here: connecting (dead port, unknown domain,
``?register=1``), the failure wire format, whole-second durations, wfkit's default retry policy on the wire, the
JSON payload encoding other Cadence clients read, and listing on basic (SQL) visibility with push-down,
client-side evaluation and ``max_scan``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

import wfkit
from wfkit._loop import on_loop
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@wfkit.workflow
class ShortSleep:
    @wfkit.run
    async def run(self) -> float:
        t0 = wfkit.now()
        await wfkit.sleep(timedelta(milliseconds=200))
        return (wfkit.now() - t0).total_seconds()


@wfkit.workflow
class RaisesNonRetryable:
    @wfkit.run
    async def run(self, non_retryable: bool) -> None:
        await wfkit.execute_activity(w.fail_with, "Kaput", non_retryable, start_to_close_timeout=10)


async def _events(client, workflow_id, run_id=None):
    """The raw ``cadence.api.v1`` events (on wfkit's loop, where the channel lives)."""
    return await on_loop(client._inner.history_events(workflow_id, run_id))


def _attrs(events, name):
    return [getattr(e, name) for e in events if e.WhichOneof("attributes") == name]


# --- connecting -------------------------------------------------------------------------------------------------

async def test_dead_port_fails_fast():
    t = time.monotonic()
    with pytest.raises(wfkit.ConnectionFailed) as info:
        await wfkit.connect("cadence://127.0.0.1:1?domain=default", connect_timeout=2)
    assert time.monotonic() - t < 5
    assert "127.0.0.1:1" in str(info.value)


async def test_unknown_domain_names_register_option(cadence_server):
    name = wid("nodomain")
    with pytest.raises(wfkit.ConnectionFailed) as info:
        await wfkit.connect(f"cadence://{cadence_server.address}?domain={name}")
    assert name in str(info.value) and "register=1" in str(info.value)


async def test_register_domain_on_request(cadence_server):
    name = wid("newdomain")
    c = await wfkit.connect(f"cadence://{cadence_server.address}?domain={name}&register=1")
    try:
        assert (c.engine, c.namespace, c.address) == ("cadence", name, cadence_server.address)
        async with c.worker(task_queue="tq-reg", workflows=[w.Hello], activities=[w.echo]):
            h = await c.start(w.Hello, "domain", task_queue="tq-reg")
            assert await h.result(timeout=30) == "hello domain"
    finally:
        await c.close()
    # registered once: connecting again without register=1 works
    c2 = await wfkit.connect(f"cadence://{cadence_server.address}?domain={name}")
    await c2.close()


def test_capabilities_are_honest(cclient):
    caps = cclient.capabilities
    assert {"query", "terminate", "continue_as_new", "child_workflows", "side_effect", "memo"} <= caps
    for missing in ("update", "advanced_visibility", "subsecond_timers", "schedules"):
        assert missing not in caps
        with pytest.raises(wfkit.UnsupportedFeature) as info:
            cclient.require(missing)
        assert info.value.engine == "cadence" and info.value.feature == missing


# --- the wire ---------------------------------------------------------------------------------------------------

async def test_payloads_are_newline_delimited_json(cclient, tq):
    h = await cclient.start("SomeoneElsesWorkflow", {"a": 1}, "ü", [1, 2], id=wid("payload"), task_queue=tq)
    events = await _events(cclient, h.workflow_id)
    started = _attrs(events, "workflow_execution_started_event_attributes")[0]
    assert started.input.data == b'{"a":1}\n"\xc3\xbc"\n[1,2]\n'
    assert started.execution_start_to_close_timeout.seconds == 3650 * 86400  # wfkit's "no timeout"
    await h.terminate()


async def test_failure_wire_format(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[RaisesNonRetryable], activities=[w.fail_with]):
        flagged = await cclient.start(RaisesNonRetryable, True, id=wid("nr"), task_queue=tq)
        with pytest.raises(wfkit.WorkflowFailed):
            await flagged.result(timeout=30)
    events = await _events(cclient, flagged.workflow_id)
    scheduled = _attrs(events, "activity_task_scheduled_event_attributes")[0]
    assert "wfkit:NonRetryable" in scheduled.retry_policy.non_retryable_error_reasons
    assert scheduled.retry_policy.maximum_attempts == 3  # wfkit's default policy, sent explicitly
    assert scheduled.retry_policy.initial_interval.seconds == 1
    failed = _attrs(events, "activity_task_failed_event_attributes")[0]
    assert failed.failure.reason == "wfkit:NonRetryable"
    doc = json.loads(failed.failure.details)
    assert (doc["type"], doc["message"], doc["details"], doc["non_retryable"]) == (
        "Kaput", "Kaput happened", [{"why": "test"}], True)
    assert "Traceback" in doc["stack"]
    wf_failed = _attrs(events, "workflow_execution_failed_event_attributes")[0]
    assert wf_failed.failure.reason == "ActivityError"
    wf_doc = json.loads(wf_failed.failure.details)
    assert wf_doc["kind"] == "activity" and wf_doc["cause"]["type"] == "Kaput"


async def test_retryable_failure_reason_is_the_type(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[RaisesNonRetryable], activities=[w.fail_with]):
        h = await cclient.start(RaisesNonRetryable, False, id=wid("r"), task_queue=tq)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=60)
    app = info.value.cause.cause
    assert isinstance(app, wfkit.ApplicationError) and app.type == "Kaput" and not app.non_retryable
    events = await _events(cclient, h.workflow_id)
    failed = _attrs(events, "activity_task_failed_event_attributes")[0]
    assert failed.failure.reason == "Kaput"
    started = _attrs(events, "activity_task_started_event_attributes")[0]
    assert started.attempt == 2  # Cadence counts from 0: three attempts, retried by the server


async def test_subsecond_durations_round_up(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[ShortSleep], activities=[w.echo]):
        h = await cclient.start(ShortSleep, id=wid("sleep"), task_queue=tq)
        assert await h.result(timeout=30) >= 1
    timer = _attrs(await _events(cclient, h.workflow_id), "timer_started_event_attributes")[0]
    assert timer.start_to_fire_timeout.seconds == 1 and timer.start_to_fire_timeout.nanos == 0


async def test_query_before_first_decision_is_query_failed(cclient, tq):
    h = await cclient.start(w.Waiter, 1, id=wid("early"), task_queue=tq)
    t = time.monotonic()
    with pytest.raises(wfkit.QueryFailed):
        await h.query("count", timeout=2)
    assert time.monotonic() - t < 6
    await h.terminate()


# --- listing on basic visibility ----------------------------------------------------------------------------

async def test_list_pushdown_and_client_side_evaluation(cclient, tq):
    prefix = wid("lst")
    async with cclient.worker(task_queue=tq, workflows=[w.Hello, w.Waiter], activities=[w.echo]):
        done = [await cclient.start(w.Hello, str(i), id=f"{prefix}-done-{i}", task_queue=tq) for i in range(3)]
        for h in done:
            await h.result(timeout=30)
        running = await cclient.start(w.Waiter, 5, id=f"{prefix}-run", task_queue=tq)
        since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

        q = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Completed' AND StartTime > '{since}'"
        execs = await eventually(lambda: _list_n(cclient, q, 3))
        assert sorted(e.workflow_id for e in execs) == sorted(h.workflow_id for h in done)
        assert all(e.task_queue is None for e in execs)  # basic visibility rows carry no task queue
        assert [e.start_time for e in execs] == sorted((e.start_time for e in execs), reverse=True)

        q_run = f"WorkflowType = 'Waiter' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '{prefix}'"
        assert [e.workflow_id for e in await eventually(lambda: _list_n(cclient, q_run, 1))] == [running.workflow_id]

        q_or = (f"(WorkflowId = '{prefix}-done-0' OR WorkflowId = '{prefix}-run') "
                f"AND StartTime BETWEEN '{since}' AND '2999-01-01T00:00:00Z'")
        assert len(await eventually(lambda: _list_n(cclient, q_or, 2))) == 2
        assert await cclient.count(q_or) == 2

        q_tq = f"TaskQueue = '{tq}' AND WorkflowId STARTS_WITH '{prefix}'"
        hits = await eventually(lambda: _list_n(cclient, q_tq, 4))
        assert {e.task_queue for e in hits} == {tq}  # described as needed
        assert await cclient.count(f"TaskQueue = 'elsewhere' AND WorkflowId STARTS_WITH '{prefix}'") == 0

        limited = await cclient.list(f"WorkflowId STARTS_WITH '{prefix}'", limit=2)
        assert len(limited) == 2 and limited.truncated
        await running.terminate()


async def _list_n(client, query, n):
    execs = await client.list(query, limit=100)
    return execs if len(execs) == n else None


async def test_list_past_max_scan_is_unsupported(cclient, tq):
    prefix = wid("scan")
    hs = [await cclient.start("Nobody", id=f"{prefix}-{i}", task_queue=tq) for i in range(3)]
    inner = cclient._inner
    await eventually(lambda: _list_n(cclient, f"WorkflowId STARTS_WITH '{prefix}'", 3))
    old = inner.max_scan
    inner.max_scan = 2
    try:
        with pytest.raises(wfkit.UnsupportedFeature) as info:
            await cclient.count(f"WorkflowId STARTS_WITH '{prefix}'")
        assert info.value.engine == "cadence" and "max_scan" in str(info.value)
        # what the server filters itself (one WorkflowId) still works under the same bound
        assert await cclient.count(f"WorkflowId = '{prefix}-1'") == 1
    finally:
        inner.max_scan = old
        await asyncio.gather(*(h.terminate() for h in hs))


async def test_bad_query_is_a_clear_error(cclient):
    with pytest.raises(wfkit.WfkitError) as info:
        await cclient.list("Wat = 'x'")
    assert "unknown field 'Wat'" in str(info.value)
    with pytest.raises(wfkit.WfkitError):
        await cclient.list("WorkflowId = ")


# --- the embedded server ------------------------------------------------------------------------------------

async def test_dev_url_starts_and_stops_a_server():
    c = await wfkit.connect("cadence+dev://")
    server = c._inner._server
    try:
        assert c.engine == "cadence" and server.alive()
        async with c.worker(task_queue="dev", workflows=[w.Hello], activities=[w.echo]):
            assert await (await c.start(w.Hello, "dev", task_queue="dev")).result(timeout=30) == "hello dev"
    finally:
        await c.close()
    assert not server.alive()
