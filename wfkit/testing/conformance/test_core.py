"""Behaviour every engine must show, run against each real server (the ``engine`` fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest

import wfkit
from wfkit.examples import orders
from wfkit.testing import eventually

from . import workflows as w
from ._helpers import query_answers


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_trivial_workflow(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        h = await client.start(w.Hello, "world", id=wid("hello"), task_queue=task_queue)
        assert await h.result(timeout=30) == "hello world"
        assert h.run_id


async def test_values_round_trip(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Values], activities=[w.move, w.double, w.echo]):
        h = await client.start(w.Values, w.Point(1, 2, "p"), w.Money(amount=2.5, currency="EUR"),
                               {"a": [1, 2, {"b": None}], "c": "ü"}, task_queue=task_queue)
        out = await h.result(timeout=30)
    assert out["moved"] == {"x": 3, "y": 2, "label": "p"}
    assert out["doubled"] == {"amount": 5.0, "currency": "EUR"}
    assert out["plain"] == {"a": [1, 2, {"b": None}], "c": "ü"}
    assert out["types"] == ["Point", "Money", "dict"]


async def test_order_saga_all_paths(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=orders.WORKFLOWS, activities=orders.ACTIVITIES):
        ok = await client.start(orders.OrderWorkflow, orders.Order("o1", "ada", [orders.Item("book", 2)], 30.0),
                                id=wid("order"), task_queue=task_queue)
        comp = await client.start(orders.OrderWorkflow,
                                  orders.Order("o2", "bob", [orders.Item(orders.OUT_OF_STOCK)], 10.0),
                                  id=wid("order"), task_queue=task_queue)
        review = await client.start(orders.OrderWorkflow,
                                    orders.Order("o3", "cy", [orders.Item("pen")], 5.0, review_seconds=60),
                                    id=wid("order"), task_queue=task_queue)
        bad = await client.start(orders.OrderWorkflow, orders.Order("o4", "dee", [], 5.0),
                                 id=wid("order"), task_queue=task_queue)

        r = await ok.result(timeout=30)
        assert isinstance(r, orders.OrderResult)
        assert (r.status, r.payment_id, r.shipment_id, r.refunded) == ("confirmed", "pay-o1", "ship-o1", False)
        assert r.steps == ["validated", "charged", "allocated", "shipped", "confirmed"]

        r = await comp.result(timeout=30)
        assert (r.status, r.refunded, r.shipment_id) == ("compensated", True, None)
        assert r.steps == ["validated", "charged", "refunded"]

        await eventually(lambda: query_answers(review, "status", "in review"))
        await review.signal("cancel_order", "late")
        r = await review.result(timeout=30)
        assert r.status == "cancelled" and r.payment_id is None and r.steps == ["validated", "cancelled: late"]
        assert await review.query("status") == "cancelled"

        with pytest.raises(wfkit.WorkflowFailed) as info:
            await bad.result(timeout=30)
    err = info.value
    assert err.status == "failed"
    assert isinstance(err.cause, wfkit.ActivityError)
    assert isinstance(err.cause.cause, wfkit.ApplicationError)
    assert err.cause.cause.type == "InvalidOrder" and err.cause.cause.non_retryable
    assert "no items" in err.cause.cause.message


async def test_retries_counted(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Retrying], activities=[w.flaky]):
        h = await client.start(w.Retrying, 2, 3, id=wid("retry"), task_queue=task_queue)
        assert await h.result(timeout=30) == 3   # failed twice, succeeded on attempt 3
        h2 = await client.start(w.Retrying, 5, 2, id=wid("retry"), task_queue=task_queue)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h2.result(timeout=30)
    cause = info.value.cause
    assert isinstance(cause, wfkit.ActivityError) and isinstance(cause.cause, wfkit.ApplicationError)
    assert cause.cause.type == "Flaky" and cause.cause.message == "attempt 2 fails"


@pytest.mark.parametrize("non_retryable,listed", [(True, False), (False, True)],
                         ids=["flag", "listed-type"])
async def test_non_retryable_not_retried(client, task_queue, non_retryable, listed):
    async with client.worker(task_queue=task_queue, workflows=[w.Failing], activities=[w.fail_with]):
        h = await client.start(w.Failing, "Boom", non_retryable, listed, id=wid("nonretry"), task_queue=task_queue)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=30)
    assert isinstance(info.value.cause, wfkit.ActivityError)
    app = info.value.cause.cause
    assert isinstance(app, wfkit.ApplicationError)
    assert (app.type, app.message, list(app.details), app.non_retryable) == (
        "Boom", "Boom happened", [{"why": "test"}], non_retryable)
    hist = await h.history()
    started = [e for e in hist.to_dataframe().itertuples() if e.event_type == "ActivityTaskStarted"]
    assert len(started) == 1 and started[0].attempt == 1


async def test_plain_exception_in_activity(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.PlainFailing], activities=[w.raise_plain]):
        h = await client.start(w.PlainFailing, id=wid("plain"), task_queue=task_queue)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=30)
    assert isinstance(info.value.cause, wfkit.ActivityError)
    app = info.value.cause.cause
    assert isinstance(app, wfkit.ApplicationError) and app.type == "PlainBug" and app.message == "a plain exception"
    # the one-line message names the innermost cause (type and message); the chain stays on the exception
    assert str(info.value).endswith("(root cause: PlainBug: a plain exception)"), str(info.value)


@pytest.mark.parametrize("kind", ["application", "plain"])
async def test_uncaught_workflow_error_fails_workflow(client, task_queue, kind):
    async with client.worker(task_queue=task_queue, workflows=[w.Raising], activities=[w.echo]):
        h = await client.start(w.Raising, kind, id=wid("raising"), task_queue=task_queue)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=30)
    cause = info.value.cause
    assert isinstance(cause, wfkit.ApplicationError)
    if kind == "application":
        assert (cause.type, cause.message, list(cause.details)) == ("BadInput", "bad input", [1, "two"])
    else:
        assert cause.type == "KeyError"
    assert (await h.describe()).status == "failed"


@pytest.mark.parametrize("kind", ["start_to_close", "heartbeat", "schedule_to_close", "schedule_to_start"])
async def test_activity_timeouts(client, task_queue, kind):
    async with client.worker(task_queue=task_queue, workflows=[w.Timeouts],
                             activities=[w.slow, w.heartbeating]):
        h = await client.start(w.Timeouts, kind, id=wid("timeout"), task_queue=task_queue)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=60)
    act = info.value.cause
    assert isinstance(act, wfkit.ActivityError), repr(act)
    assert isinstance(act.cause, wfkit.TimeoutError), repr(act.cause)
    assert act.cause.kind == kind


async def test_activity_cancellation_reaches_the_activity(client, task_queue):
    key = wid("cancel-act")
    async with client.worker(task_queue=task_queue, workflows=[w.CancelsActivity], activities=[w.cancellable]):
        h = await client.start(w.CancelsActivity, key, task_queue=task_queue)
        assert await h.result(timeout=60) == "activity cancelled"

        async def saw() -> bool:
            return key in w.ACTIVITY_SAW_CANCEL

        await eventually(saw, timeout=15)


async def test_workflow_execution_timeout(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Timeouts], activities=[w.slow]):
        h = await client.start(w.Timeouts, "execution", id=wid("wftimeout"), task_queue=task_queue,
                               execution_timeout=2)
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=60)
    assert info.value.status == "timed_out"
    assert isinstance(info.value.cause, wfkit.TimeoutError) and info.value.cause.kind == "execution"


async def test_result_wait_timeout_leaves_workflow_running(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 1, id=wid("waiter"), task_queue=task_queue)
        with pytest.raises(wfkit.TimeoutError) as info:
            await h.result(timeout=0.5)
        assert info.value.kind == "client"
        assert (await h.describe()).status == "running"
        await h.terminate(reason="test over")


async def test_signal_query_and_cancel(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 3, id=wid("waiter"), task_queue=task_queue)
        await h.signal("add", "a")
        await h.signal("add", "b")
        assert await eventually(lambda: query_answers(h, "count", 2))
        assert await h.query("peek", 1) == "b"
        await h.signal("add", "c")
        assert await h.result(timeout=30) == ["a", "b", "c"]

        h2 = await client.start(w.Waiter, 5, id=wid("waiter"), task_queue=task_queue)
        await h2.signal("add", "x")
        await h2.cancel()
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h2.result(timeout=30)
        assert info.value.status == "canceled" and isinstance(info.value.cause, wfkit.Canceled)
        assert (await h2.describe()).status == "canceled"
        # the workflow ran its cleanup activity after the cancel request
        frame = (await h2.history()).to_dataframe()
        assert "echo" in set(frame["activity_type"].dropna())


async def test_async_signal_handler(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 99, id=wid("waiter"), task_queue=task_queue)
        await h.signal("add", "only")
        await h.signal("finish")
        assert await h.result(timeout=30) == ["only"]


async def test_terminate(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 1, id=wid("term"), task_queue=task_queue)
        await h.terminate(reason="enough")
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=30)
    assert info.value.status == "terminated" and isinstance(info.value.cause, wfkit.Terminated)
    assert "enough" in info.value.cause.message
    assert (await h.describe()).status == "terminated"


async def test_query_failures(client, task_queue):
    # No worker serves this task queue: the first workflow task never completes, so the query cannot be answered.
    h = await client.start(w.Waiter, 1, id=wid("noworker"), task_queue=task_queue)
    with pytest.raises(wfkit.QueryFailed):
        await h.query("count", timeout=2)
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        assert await eventually(lambda: query_answers(h, "count", 0))
        with pytest.raises(wfkit.QueryFailed):
            await h.query("no_such_query", timeout=5)
        await h.terminate()


async def test_deterministic_helpers(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Deterministic], activities=[w.echo]):
        workflow_id = wid("det")
        h = await client.start(w.Deterministic, id=workflow_id, task_queue=task_queue)
        out = await h.result(timeout=30)
    assert out["side_effect"] == 42 and out["timed_out"] is True and out["aware"] is True
    assert out["workflow_id"] == workflow_id and out["workflow_type"] == "Deterministic"
    assert out["task_queue"] == task_queue and out["attempt"] == 1
    assert uuid.UUID(out["uuid"]) and out["elapsed"] >= 1


async def test_child_workflows(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Parent, w.Child], activities=[w.echo]):
        h = await client.start(w.Parent, 4, id=wid("parent"), task_queue=task_queue)
        assert await h.result(timeout=30) == 41
        child = await client.handle(f"{h.workflow_id}-child-a").describe()
    assert child.status == "completed" and child.workflow_type == "Child"


async def test_continue_as_new(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Looping], activities=[w.echo]):
        h = await client.start(w.Looping, 3, 0, id=wid("loop"), task_queue=task_queue)
        assert await h.result(timeout=60) == 6
        first = await client.handle(h.workflow_id, h.run_id).describe()
        assert first.status == "continued_as_new"
        latest = await client.handle(h.workflow_id).describe()
        assert latest.status == "completed" and latest.run_id != h.run_id


async def test_versioning_old_and_new_paths(client, task_queue):
    # An execution passes the changed step on the old code and waits; the worker restarts with the new code.
    async with client.worker(task_queue=task_queue, workflows=[w.VersionedV1], activities=[w.echo]):
        old = await client.start("Versioned", id=wid("ver-old"), task_queue=task_queue)
        await eventually(lambda: _activity_done(old))
    async with client.worker(task_queue=task_queue, workflows=[w.VersionedV2], activities=[w.echo]):
        new = await client.start("Versioned", id=wid("ver-new"), task_queue=task_queue)
        await eventually(lambda: _activity_done(new))
        await old.signal("proceed")
        await new.signal("proceed")
        assert await old.result(timeout=30) == "old-path"       # its history has no marker: DEFAULT_VERSION
        assert await new.result(timeout=30) == "new-path-v1"    # started on the new code: max version

    # Code that no longer supports DEFAULT_VERSION: an old execution fails its task (not the workflow).
    async with client.worker(task_queue=task_queue, workflows=[w.VersionedV1], activities=[w.echo]):
        stale = await client.start("Versioned", id=wid("ver-stale"), task_queue=task_queue)
        await eventually(lambda: _activity_done(stale))
    async with client.worker(task_queue=task_queue, workflows=[w.VersionedV3], activities=[w.echo]):
        await stale.signal("proceed")
        with pytest.raises(wfkit.TimeoutError):
            await stale.result(timeout=3)
        assert (await stale.describe()).status == "running"
    await stale.terminate(reason="test over")


async def _activity_done(h):
    frame = (await h.history()).to_dataframe()
    return (frame["event_type"] == "ActivityTaskCompleted").any()


async def test_sync_twins_and_background_worker(client, task_queue):
    def script():
        worker = client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]).start()
        try:
            h = client.sync.start(w.Hello, "sync", id=wid("sync"), task_queue=task_queue)
            assert h.sync.result(timeout=30) == "hello sync"
            assert client.sync.handle(h.workflow_id).sync.describe().status == "completed"
            with client.sync.worker(task_queue=task_queue + "-b", workflows=[w.Hello], activities=[w.echo]):
                h2 = client.sync.start(w.Hello, "ctx", task_queue=task_queue + "-b")
                assert h2.sync.result(timeout=30) == "hello ctx"
        finally:
            worker.stop()
        assert not worker.running

    await asyncio.to_thread(script)


async def test_sync_call_from_wfkit_thread_is_refused(client, task_queue):
    w.CLIENT_FOR_ACTIVITY["client"] = client
    async with client.worker(task_queue=task_queue, workflows=[w.CallsSyncInside], activities=[w.sync_from_loop]):
        out = await client.start(w.CallsSyncInside, task_queue=task_queue)
        text = await out.result(timeout=30)
    assert text.startswith("refused:") and "deadlock" in text


async def test_errors_not_found_and_already_started(client, task_queue):
    with pytest.raises(wfkit.WorkflowNotFound):
        await client.handle(wid("missing")).describe()
    with pytest.raises(wfkit.WorkflowNotFound):
        await client.handle(wid("missing")).signal("add", "x")
    workflow_id = wid("dup")
    await client.start(w.Waiter, 1, id=workflow_id, task_queue=task_queue)
    with pytest.raises(wfkit.WorkflowAlreadyStarted):
        await client.start(w.Waiter, 1, id=workflow_id, task_queue=task_queue)
    await client.handle(workflow_id).terminate()
    # after it closed, reject_duplicate still refuses the ID; allow_duplicate takes it
    with pytest.raises(wfkit.WorkflowAlreadyStarted):
        await client.start(w.Waiter, 1, id=workflow_id, task_queue=task_queue, id_reuse_policy="reject_duplicate")
    h = await client.start(w.Waiter, 1, id=workflow_id, task_queue=task_queue, id_reuse_policy="allow_duplicate")
    await h.terminate()


async def test_describe_list_count_memo_tags(client, task_queue):
    wtype_marker = wid("ls")
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        hs = [await client.start(w.Hello, str(i), id=f"{wtype_marker}-{i}", task_queue=task_queue,
                                 memo={"team": "payments", "n": i}, tags=["demo", f"n{i}"]) for i in range(3)]
        for h in hs:
            await h.result(timeout=30)
    d = await hs[0].describe()
    assert isinstance(d, wfkit.Execution)
    assert (d.engine, d.workflow_type, d.status, d.task_queue) == (client.engine, "Hello", "completed", task_queue)
    assert d.memo == {"team": "payments", "n": 0} and d.tags == ("demo", "n0")
    assert d.start_time is not None and d.close_time is not None and d.history_length and d.history_length > 5

    query = f"WorkflowId = '{wtype_marker}-1' AND WorkflowType = 'Hello'"
    execs = await eventually(lambda: _list_n(client, query, 1))
    assert execs[0].workflow_id == f"{wtype_marker}-1" and execs[0].status == "completed"
    assert await client.count(query) == 1
    frame = execs.to_dataframe()
    assert list(frame.columns) == ["engine", "workflow_id", "run_id", "workflow_type", "status", "task_queue",
                                   "start_time", "close_time", "history_length", "memo", "tags",
                                   "search_attributes"]
    assert str(frame["start_time"].dtype) == "datetime64[ns, UTC]"


async def test_iter_list_pages_what_list_collects(client, task_queue):
    """``iter_list`` streams the listing a page at a time (any size in bounded memory): the same rows, in the
    same order, as ``list``; ``limit`` and stopping early are honoured."""
    marker = wid("pages")
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        for i in range(5):
            await (await client.start(w.Hello, str(i), id=f"{marker}-{i}", task_queue=task_queue)).result(timeout=30)
    query = f"WorkflowType = 'Hello' AND TaskQueue = '{task_queue}'"
    listed = await eventually(lambda: _list_n(client, query, 5))
    streamed = [e async for e in client.iter_list(query, page_size=2)]
    assert [(e.workflow_id, e.run_id) for e in streamed] == [(e.workflow_id, e.run_id) for e in listed]
    assert len([e async for e in client.iter_list(query, limit=3, page_size=2)]) == 3
    rows = client.iter_list(query, page_size=2)
    first = await anext(rows)
    await rows.aclose()   # stopping early closes the engine's listing
    assert first.workflow_id == listed[0].workflow_id
    with pytest.raises(wfkit.WfkitError, match="page_size"):
        await anext(client.iter_list(query, page_size=0))


async def _list_n(client, query, n):
    execs = await client.list(query, limit=100)
    return execs if len(execs) == n else None


async def test_history_wrapped(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        h = await client.start(w.Hello, "hist", task_queue=task_queue)
        await h.result(timeout=30)
    hist = await h.history()
    assert isinstance(hist, wfkit.History)
    frame = hist.to_dataframe()
    assert frame["event_type"].iloc[0] == "WorkflowExecutionStarted"
    assert frame["event_type"].iloc[-1] == "WorkflowExecutionCompleted"


async def test_unsupported_feature_is_named(client):
    missing = [c for c in wfkit.CAPABILITIES if c not in client.capabilities]
    for cap in missing:
        with pytest.raises(wfkit.UnsupportedFeature) as info:
            client.require(cap)
        assert client.engine in str(info.value) and cap in str(info.value)
    client.require("query")


async def test_client_side_listing_is_bounded(engine, server_for, task_queue):
    """Where the server cannot evaluate a query (no advanced visibility), wfkit scans at most max_scan rows."""
    c = await wfkit.connect(server_for(engine).url, max_scan=1)
    hs = [await c.start(w.Waiter, 1, id=wid("scan"), task_queue=task_queue) for _ in range(3)]
    try:
        query = f"TaskQueue = '{task_queue}' AND WorkflowType = 'Waiter'"
        if "advanced_visibility" in c.capabilities:
            assert len(await eventually(lambda: _list_n(c, query, 3))) == 3
        else:
            with pytest.raises(wfkit.UnsupportedFeature) as info:
                await eventually(lambda: c.list(query), timeout=10)
            assert "client-side" in str(info.value)
    finally:
        for h in hs:
            await h.terminate()
        await c.close()


async def test_bad_signal_payload_is_dropped_not_wedging(client, task_queue, caplog):
    """A signal whose arguments do not fit its handler (wrong shape, wrong number) is dropped, logged, counted
    and reported; the workflow goes on answering queries and taking good signals (it used to wedge: the decode
    error failed every workflow task)."""
    import wfkit.telemetry

    wfkit.telemetry.enable()
    try:
        async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
            h = await client.start(w.Waiter, 2, id=wid("waiter"), task_queue=task_queue)
            with caplog.at_level("WARNING", logger="wfkit.signals"):
                await h.signal("add", {"reason": "a dict"})
                await h.signal("add", "a", "b")
                await h.signal("add", "ok")
                assert await eventually(lambda: query_answers(h, "count", 1), timeout=20)
            dropped = await h.dropped_signals()
            assert [d["signal"] for d in dropped] == ["add", "add"]
            assert "dict" in dropped[0]["error"] and "argument" in dropped[1]["error"]
            await h.signal("add", "fine")
            assert await h.result(timeout=30) == ["ok", "fine"]
        logged = [r.getMessage() for r in caplog.records if r.name == "wfkit.signals"]
        assert len(logged) == 2 and all(h.workflow_id in m and "'add'" in m for m in logged)
        metrics = wfkit.telemetry.metrics_text()
        assert f'wfkit_signals_dropped_total{{engine="{client.engine}",type="Waiter"}} 2.0' in metrics
        signals = (await h.history()).signals(w.Waiter)
        assert signals["dropped"].notna().tolist() == [True, True, False, False]
    finally:
        wfkit.telemetry.disable()


async def test_start_time_bounds_at_sub_second_distances(client, task_queue):
    """StartTime conditions are exact to the nanosecond the engine reports, bounds inside the same second
    included (Cadence's listing used to lose the workflows started later in the bound's second)."""
    from datetime import timedelta

    prefix = wid("bounds") + "-"
    await asyncio.sleep(1 - time.time() % 1 + 0.05)  # the three starts fall in one second, after its start
    handles = []
    for i in range(3):
        handles.append(await client.start(w.Waiter, 9, id=f"{prefix}{i}", task_queue=task_queue))
        await asyncio.sleep(0.15)
    try:
        starts = {h.workflow_id: (await h.describe()).start_time for h in handles}
        first = min(starts.values())
        whole = first.replace(microsecond=0)
        bounds = [whole, *starts.values(), first + timedelta(microseconds=1), first - timedelta(microseconds=1),
                  max(starts.values()) + timedelta(milliseconds=1)]

        def text(t):
            return t.isoformat().replace("+00:00", "Z")

        cases = []
        for b in bounds:
            for op, keep in ((">=", lambda s, b=b: s >= b), (">", lambda s, b=b: s > b),
                             ("<", lambda s, b=b: s < b), ("<=", lambda s, b=b: s <= b)):
                q = f"WorkflowId STARTS_WITH '{prefix}' AND StartTime {op} '{text(b)}'"
                cases.append((q, sorted(k for k, s in starts.items() if keep(s))))
        lo, hi = sorted(starts.values())[1], max(starts.values())
        cases.append((f"WorkflowId STARTS_WITH '{prefix}' AND StartTime BETWEEN '{text(lo)}' AND '{text(hi)}'",
                      sorted(k for k, s in starts.items() if lo <= s <= hi)))

        async def all_listed() -> bool:
            return len(await client.list(f"WorkflowId STARTS_WITH '{prefix}'", limit=None)) == 3

        async def wrong_answers() -> list:
            wrong = []
            for q, want in cases:
                got = sorted(e.workflow_id for e in await client.list(q, limit=None))
                n = await client.count(q)
                if got != want or n != len(want):
                    wrong.append((q, want, got, n))
            return wrong

        await eventually(all_listed, timeout=30)
        await asyncio.sleep(1.1)  # asked after the bound's second is over (Cadence lost its runs only then)
        wrong = await wrong_answers()  # running: the open listing
        assert not wrong, wrong
        for h in handles:
            await h.terminate("test over")

        async def all_closed() -> bool:
            q = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Terminated'"
            return len(await client.list(q, limit=None)) == 3

        await eventually(all_closed, timeout=30)
        wrong = await wrong_answers()  # closed: the closed listing
        assert not wrong, wrong
    finally:
        for h in handles:
            with contextlib.suppress(wfkit.WfkitError):
                await h.terminate("test over")


async def test_history_length_of_a_running_workflow(client, task_queue):
    """The same on every engine: ``describe()`` counts the events so far; a listing says None for an open run
    (Temporal's listing said 0, Cadence's None)."""
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 1, id=wid("length"), task_queue=task_queue)
        assert await eventually(lambda: query_answers(h, "count", 0))
        described = await h.describe()
        assert described.history_length is not None and described.history_length >= 3

        async def listed():
            return await client.list(f"WorkflowId = '{h.workflow_id}'", limit=None)

        assert await eventually(listed)
        running = (await listed())[0]
        assert running.status == "running" and running.history_length is None
        assert (await listed()).to_dataframe()["history_length"].isna().all()
        await h.signal("add", "x")
        await h.result(timeout=30)

        async def closed_length():
            rows = await listed()
            return rows[0].history_length if rows and rows[0].status == "completed" else None

        assert await eventually(closed_length) == len(await h.history())
