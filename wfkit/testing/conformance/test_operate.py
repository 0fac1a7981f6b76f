"""Operating: describe in full, task queues and diagnosis of stuck workflows, each situation made to happen on
the real server."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime

import pytest

import wfkit
from wfkit.testing import eventually

from . import workflows as w
from ._helpers import query_answers
from .operate_workflows import (
    CallsBackend,
    Counter,
    RunsLongJob,
    VersionedDrift,
    WaitsOnChild,
    backend_call,
    long_job,
)


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_task_queue_pollers(client, task_queue):
    empty = await client.task_queue(task_queue)
    assert empty.name == task_queue and empty.pollers == ()
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        async def both_polled():
            tq = await client.task_queue(task_queue)
            return tq if tq.workflow_pollers and tq.activity_pollers else None

        tq = await eventually(both_polled, timeout=30)
    p = tq.workflow_pollers[0]
    assert p.identity and p.last_access_time is not None and p.kind == "workflow"
    df = tq.to_dataframe()
    assert list(df.columns) == ["identity", "kind", "last_access_time", "rate_per_second"]
    assert set(df["kind"]) == {"workflow", "activity"}
    assert str(df["last_access_time"].dtype) == "datetime64[ns, UTC]"
    assert "workflow pollers" in repr(tq) and task_queue in tq._repr_html_()
    with pytest.raises(wfkit.WfkitError, match="task queue name"):
        await client.task_queue("")


async def test_wrong_task_queue_is_diagnosed(client, task_queue):
    """A workflow started on a queue nobody polls (a typo) runs silently; diagnose says why at once."""
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        h = await client.start(w.Hello, "typo", id=wid("typo"), task_queue=task_queue + "-typo")
        d = await h.diagnose()
    assert d.status == "running"
    assert d.kinds[0] == "no_workflow_worker", d
    f = d.findings[0]
    assert f.severity == "problem" and f.evidence["task_queue"] == task_queue + "-typo"
    assert f.evidence["pollers"] == []
    assert "no worker polls task queue" in str(d)
    await h.terminate("test over")


async def test_retrying_activity_is_described_and_diagnosed(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[CallsBackend], activities=[backend_call]):
        h = await client.start(CallsBackend, "o-1", id=wid("backend"), task_queue=task_queue)

        async def retried_twice():
            ex = await h.describe()
            return ex if ex.pending_activities and ex.pending_activities[0].attempt >= 3 else None

        ex = await eventually(retried_twice, timeout=60)
        d = await h.diagnose()
    a = ex.pending_activities[0]
    assert ex.status == "running"
    assert a.activity_type == backend_call.__name__ or a.activity_type.endswith("backend_call")
    assert a.maximum_attempts == 50
    assert a.last_failure is not None and "backend down (order o-1)" in a.last_failure
    assert "BackendDown" in a.last_failure
    assert a.scheduled_time is not None
    df = ex.pending_activities_frame()
    assert len(df) == 1 and int(df["attempt"].iloc[0]) >= 3
    assert str(df["scheduled_time"].dtype) == "datetime64[ns, UTC]"
    retrying = [f for f in d.findings if f.kind == "activity_retrying"]
    assert retrying, d
    assert retrying[0].evidence["attempt"] >= 3 and retrying[0].evidence["maximum_attempts"] == 50
    assert "backend down" in retrying[0].summary and "of 50" in retrying[0].summary
    assert "pending activities" in ex._repr_html_()
    await h.terminate("test over")


async def test_failing_workflow_task_is_diagnosed(client, task_queue):
    """A worker that cannot run the workflow's code fails its workflow task again and again."""
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        h = await client.start("NotServedHere", id=wid("wft"), task_queue=task_queue)

        async def failing():
            d = await h.diagnose()
            return d if "workflow_task_failing" in d.kinds else None

        d = await eventually(failing, timeout=60)
    f = next(f for f in d.findings if f.kind == "workflow_task_failing")
    assert f.severity == "problem"
    assert "NotServedHere" in (f.evidence["message"] or ""), f.evidence
    assert f.evidence["cause"] in ("exception", "nondeterminism", "decode error")
    assert "no_workflow_worker" not in d.kinds
    await h.terminate("test over")


async def test_timer_signal_and_child_waits_are_diagnosed(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Sleeper, w.Waiter, WaitsOnChild],
                             activities=[w.echo]):
        sleeper = await client.start(w.Sleeper, 3600, id=wid("sleep"), task_queue=task_queue)
        waiter = await client.start(w.Waiter, 2, id=wid("wait"), task_queue=task_queue)
        parent = await client.start(WaitsOnChild, id=wid("parent"), task_queue=task_queue)
        await waiter.signal("add", "first")

        async def settled(h, kind):
            d = await h.diagnose()
            return d if kind in d.kinds else None

        d_timer = await eventually(lambda: settled(sleeper, "waiting_timer"), timeout=30)
        d_signal = await eventually(lambda: settled(waiter, "waiting_signal"), timeout=30)
        d_child = await eventually(lambda: settled(parent, "waiting_child"), timeout=30)
        ex_parent = await parent.describe()
        child = await client.handle(f"{parent.workflow_id}-child").describe()
        await client.handle(f"{parent.workflow_id}-child").signal("add", "done")
        assert await parent.result(timeout=30) == ["done"]
        for h in (sleeper, waiter):
            await h.terminate("test over")
        closed = await sleeper.diagnose()
    timer = next(f for f in d_timer.findings if f.kind == "waiting_timer")
    fires = timer.evidence["fires_at"]
    start = (await sleeper.describe()).start_time
    assert abs((fires - start).total_seconds() - 3600) < 60, (fires, start)
    assert "first" not in d_signal.findings[0].summary and "received so far: add" in d_signal.findings[0].summary
    assert "it handles add, finish" in d_signal.findings[0].summary
    assert d_signal.problems == ()
    f = next(f for f in d_child.findings if f.kind == "waiting_child")
    assert f.evidence["workflow_id"] == f"{parent.workflow_id}-child"
    assert ex_parent.pending_children[0].workflow_type == "Waiter"
    assert child.parent_workflow_id == parent.workflow_id
    assert closed.kinds == ("closed",) and closed.status == "terminated"


async def test_describe_reports_timeouts(client, task_queue):
    h = await client.start(w.Hello, "x", id=wid("timeouts"), task_queue=task_queue, run_timeout=120,
                           task_timeout=7)
    ex = await h.describe()
    assert ex.run_timeout is not None and ex.run_timeout.total_seconds() == 120
    assert ex.task_timeout is not None and ex.task_timeout.total_seconds() == 7
    assert ex.pending_workflow_task is not None and ex.pending_workflow_task.attempt == 1
    assert ex.parent_workflow_id is None and ex.pending_activities == ()
    await h.terminate("test over")


async def test_stack_shows_where_the_workflow_waits(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 5, id=wid("stack"), task_queue=task_queue)
        await eventually(lambda: query_answers(h, "count", 0), timeout=30)
        stack = await h.stack()
        await h.terminate("test over")
    assert "workflows.py" in stack and "in run" in stack, stack
    assert "wait_condition" in stack and "__stack_trace" not in stack, stack


async def test_reset_preview_then_reset(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        h = await client.start(w.Waiter, 3, id=wid("reset"), task_queue=task_queue)
        await eventually(lambda: query_answers(h, "count", 0), timeout=30)
        await h.signal("add", "a")
        await h.signal("add", "b")
        await eventually(lambda: query_answers(h, "count", 2), timeout=30)
        plan = await h.reset_preview("first")
        hist = await h.history()
        frame = hist.to_dataframe()
        first_done = int(frame.loc[frame["event_type"].astype(str) == "WorkflowTaskCompleted", "event_id"].iloc[0])
        assert plan.event_id == first_done and plan.run_id == h.run_id
        assert plan.reapplied_signals["signal_name"].tolist() == ["add", "add"]
        assert plan.reapplied_signals["payload"].tolist() == ["a", "b"]
        assert "WorkflowExecutionSignaled" in set(plan.discarded["event_type"].astype(str))
        assert int(plan.discarded["event_id"].min()) == first_done + 1
        assert "discards" in repr(plan) and "reapplies 2 signals" in repr(plan)
        assert "reapplied" in plan._repr_html_()
        new = await plan.reset(reason="conformance")
        assert new.run_id and new.run_id != plan.run_id
        assert (await client.handle(h.workflow_id, plan.run_id).describe()).status == "terminated"
        await eventually(lambda: query_answers(new, "count", 2), timeout=30)
        await new.signal("add", "c")
        assert await new.result(timeout=30) == ["a", "b", "c"]
    with pytest.raises(wfkit.WfkitError, match="not the end of a workflow task"):
        await h.reset_preview(1)
    with pytest.raises(wfkit.WfkitError, match="expected one of last, first"):
        await h.reset_preview("middle")


async def _listed(client, query, n):
    execs = await client.list(query, limit=None)
    return execs if len(execs) == n else None


async def _listed_exactly(client, query, runs):
    """The listing once it shows exactly ``runs`` ({(workflow_id, run_id)}): visibility is eventually consistent,
    and a count alone can match runs that closed a moment ago."""
    execs = await client.list(query, limit=None)
    return execs if {(e.workflow_id, e.run_id) for e in execs} == set(runs) else None


async def test_batch_signal_reset_cancel_terminate(client, task_queue, tmp_path):
    prefix = wid("batch")
    running = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'"
    journal = tmp_path / "signal.jsonl"
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter, w.Sleeper], activities=[w.echo]):
        hs = [await client.start(w.Waiter, 3, id=f"{prefix}-{i}", task_queue=task_queue) for i in range(3)]
        for h in hs:
            await eventually(functools.partial(query_answers, h, "count", 0), timeout=30)
        await eventually(lambda: _listed(client, running, 3), timeout=30)

        with pytest.raises(wfkit.WfkitError, match="expected one of signal, cancel, terminate, reset"):
            await client.batch("pause", running)
        with pytest.raises(wfkit.WfkitError, match="signal's name"):
            await client.batch("signal", running)
        plan = await client.batch("signal", running, signal="add", args=["x"], journal=journal)
        assert sorted(plan.preview["workflow_id"]) == sorted(h.workflow_id for h in hs)
        assert set(plan.preview["detail"]) == {'signal add("x")'} and set(plan.preview["journal"]) == {""}
        assert not journal.exists()  # a preview changes nothing
        with pytest.raises(wfkit.WfkitError, match="confirm=True"):
            await plan.run()
        out = await plan.run(confirm=True, concurrency=2, progress=False)
        assert list(out.columns) == ["workflow_id", "run_id", "outcome", "error", "new_run_id"]
        assert set(out["outcome"]) == {"done"}, out
        for h in hs:
            await eventually(functools.partial(query_answers, h, "count", 1), timeout=30)

        # the same batch again (a rerun after a crash): nothing is sent twice
        again = await client.batch("signal", running, signal="add", args=["x"], journal=journal)
        assert set(again.preview["journal"]) == {"done"}
        out = await again.run(confirm=True, progress=False)
        assert set(out["outcome"]) == {"already done"}, out

        # a crash after the signal reached the server but before the journal said so
        from wfkit.migrate._checkpoint import JsonlCheckpoint

        crashed = tmp_path / "crashed.jsonl"
        plan_y = await client.batch("signal", running, signal="add", args=["y"], journal=crashed)
        ck = JsonlCheckpoint(crashed, plan_y.header())
        ck.write(hs[0].workflow_id, "starting", source_run_id=hs[0].run_id,
                 started=datetime.now(UTC).isoformat())
        ck.close()
        await hs[0].signal("add", "y")
        out = await plan_y.run(confirm=True, progress=False)
        outcome = dict(zip(out["workflow_id"], out["outcome"], strict=True))
        assert outcome[hs[0].workflow_id] == "already done"
        assert {outcome[h.workflow_id] for h in hs[1:]} == {"done"}
        for h in hs:
            await eventually(functools.partial(query_answers, h, "count", 2), timeout=30)

        # reset every one to its first workflow task: the signals are reapplied to the new runs
        reset = await client.batch("reset", running, reset_to="first", reason="conformance", journal=None)
        assert all("reapplies 2 signals" in d for d in reset.preview["detail"]), reset.preview
        out = await reset.run(confirm=True, progress=False)
        assert set(out["outcome"]) == {"done"} and all(out["new_run_id"]), out
        new_runs = set(zip(out["workflow_id"], out["new_run_id"], strict=True))
        for workflow_id, new_run in new_runs:
            new = client.handle(workflow_id, new_run)
            await eventually(functools.partial(query_answers, new, "count", 2), timeout=30)

        # cancel them all; then terminate two sleepers
        await eventually(lambda: _listed_exactly(client, running, new_runs), timeout=30)
        out = await (await client.batch("cancel", running, journal=None)).run(confirm=True, progress=False)
        assert set(out["outcome"]) == {"done"}, out
        for h in hs:
            with pytest.raises(wfkit.WorkflowFailed) as info:
                await client.handle(h.workflow_id).result(timeout=30)
            assert info.value.status == "canceled"
        sleepers = [await client.start(w.Sleeper, 3600, id=f"{prefix}-s{i}", task_queue=task_queue)
                    for i in range(2)]
        await eventually(lambda: _listed_exactly(client, running, {(s.workflow_id, s.run_id) for s in sleepers}),
                         timeout=30)
        out = await (await client.batch("terminate", running, reason="batch", journal=None)).run(
            confirm=True, progress=False)
        assert set(out["outcome"]) == {"done"}, out
    for s in sleepers:
        assert (await s.describe()).status == "terminated"


async def test_signal_with_start(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        workflow_id = wid("sws")
        h = await client.signal_with_start(w.Waiter, 2, signal="add", signal_args=["a"], id=workflow_id,
                                           task_queue=task_queue)
        again = await client.signal_with_start(w.Waiter, 2, signal="add", signal_args=["b"], id=workflow_id,
                                               task_queue=task_queue)
        assert again.run_id == h.run_id  # the running workflow got the signal; no new run
        assert await h.result(timeout=30) == ["a", "b"]
    with pytest.raises(wfkit.WfkitError, match="signal's name"):
        await client.signal_with_start(w.Waiter, 1, signal="", id=wid("sws"), task_queue=task_queue)


async def test_cron_schedule(client, task_queue):
    h = await client.start(w.Hello, "cron", id=wid("cron"), task_queue=task_queue, cron_schedule="*/5 * * * *")
    frame = (await h.history()).to_dataframe()
    assert frame["attributes"].iloc[0].get("cronSchedule") == "*/5 * * * *"
    assert (await h.describe()).status == "running"
    await h.terminate("test over")
    for bad, why in (("every minute", "five fields"), ("@sometimes", "unknown macro"), ("", "cron expression")):
        with pytest.raises(wfkit.WfkitError, match=why):
            await client.start(w.Hello, "x", task_queue=task_queue, cron_schedule=bad)


async def test_search_attributes(client, task_queue):
    if wfkit.Capability.SEARCH_ATTRIBUTES not in client.capabilities:
        with pytest.raises(wfkit.UnsupportedFeature, match=f"{client.engine}.*search_attributes"):
            await client.start(w.Hello, "x", task_queue=task_queue, search_attributes={"CustomerId": "ada"})
        return
    customer = f"c-{uuid.uuid4().hex[:8]}"
    h = await client.start(w.Hello, "x", id=wid("sa"), task_queue=task_queue,
                           search_attributes={"CustomerId": customer, "Priority": 2})
    ex = await h.describe()
    assert ex.search_attributes["CustomerId"] == customer and ex.search_attributes["Priority"] == 2
    execs = await eventually(lambda: _listed(client, f"CustomerId = '{customer}'", 1), timeout=30)
    frame = execs.to_dataframe()
    assert frame["search_attributes"].iloc[0]["CustomerId"] == customer
    await h.terminate("test over")
    with pytest.raises(wfkit.WfkitError, match="not registered"):
        await client.start(w.Hello, "x", task_queue=task_queue, search_attributes={"NoSuchAttribute": "v"})
    with pytest.raises(wfkit.WfkitError, match="does not fit"):
        await client.start(w.Hello, "x", task_queue=task_queue, search_attributes={"Priority": "high"})
    with pytest.raises(wfkit.WfkitError, match="cannot be indexed"):
        await client.start(w.Hello, "x", task_queue=task_queue, search_attributes={"Priority": {"a": 1}})


async def test_namespaces(client):
    names = await client.namespaces()
    assert client.namespace in [n.name for n in names]
    df = names.to_dataframe()
    assert list(df.columns) == ["name", "id", "state", "description", "owner_email", "retention", "is_global", "data"]
    assert str(df["retention"].dtype) == "timedelta64[ns]"
    mine = await client.describe_namespace()
    assert mine.name == client.namespace and mine.state == "registered" and mine.id
    assert mine.retention is not None and mine.retention.total_seconds() > 0
    with pytest.raises(wfkit.WfkitError, match="does not exist"):
        await client.describe_namespace("no-such-namespace-" + uuid.uuid4().hex[:6])


async def test_schedules(client, task_queue):
    if wfkit.Capability.SCHEDULES not in client.capabilities:
        with pytest.raises(wfkit.UnsupportedFeature, match=f"{client.engine} does not support schedules"):
            await client.schedules()
        with pytest.raises(wfkit.UnsupportedFeature):
            await client.create_schedule("s", w.Hello, "x", task_queue=task_queue, cron="0 * * * *")
        return
    sid = wid("sched")
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        s = await client.create_schedule(sid, w.Hello, "scheduled", task_queue=task_queue, cron="0 0 1 1 *",
                                         workflow_id=f"{sid}-wf", note="yearly")
        assert s.id == sid and s.workflow_type == "Hello" and not s.paused and s.next_action_times
        await client.pause_schedule(sid, note="maintenance")
        d = await client.describe_schedule(sid)
        assert d.paused and d.note == "maintenance"
        await client.trigger_schedule(sid)  # acts now, even paused

        async def acted():
            d = await client.describe_schedule(sid)
            return d if d.recent_actions else None

        d = await eventually(acted, timeout=30)
        started = d.recent_actions[0][1]
        assert started.startswith(f"{sid}-wf")
        assert await client.handle(started).result(timeout=30) == "hello scheduled"
        await client.unpause_schedule(sid)
        assert not (await client.describe_schedule(sid)).paused

        async def listed():
            return sid in [x.id for x in await client.schedules()]

        await eventually(listed, timeout=30)
        frame = (await client.schedules()).to_dataframe()
        assert list(frame.columns) == ["id", "workflow_type", "spec", "paused", "note", "next_action_time",
                                       "recent_actions"]
        await client.delete_schedule(sid)
    with pytest.raises(wfkit.WfkitError, match="does not exist"):
        await client.describe_schedule(sid)
    with pytest.raises(wfkit.WfkitError, match="cron expressions or intervals"):
        await client.create_schedule(wid("s"), w.Hello, task_queue=task_queue)


async def test_update(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[Counter], activities=[w.echo]):
        h = await client.start(Counter, id=wid("update"), task_queue=task_queue)
        if wfkit.Capability.UPDATE not in client.capabilities:
            with pytest.raises(wfkit.UnsupportedFeature, match=f"{client.engine} does not support update"):
                await h.update("add", 2)
            await h.terminate("test over")
            return
        assert await h.update("add", 2) == 2
        assert await h.update("add_later", 3, timeout=30) == 5
        with pytest.raises(wfkit.WfkitError, match="negative"):
            await h.update("add", -1)
        await h.signal("finish")
        assert await h.result(timeout=30) == 5


async def test_nondeterminism_is_diagnosed(client, task_queue):
    """Code changed under a running workflow: its workflow task fails on replay, and diagnose says so."""
    workflow_id = wid("drift")
    async with client.worker(task_queue=task_queue, workflows=[w.VersionedV1], activities=[w.echo]):
        h = await client.start(w.VersionedV1, id=workflow_id, task_queue=task_queue)

        async def waiting():
            return "waiting_signal" in (await h.diagnose()).kinds

        await eventually(waiting, timeout=30)
    async with client.worker(task_queue=task_queue, workflows=[VersionedDrift], activities=[w.echo]):
        await h.signal("proceed")

        async def failing():
            d = await h.diagnose()
            return d if "workflow_task_failing" in d.kinds else None

        d = await eventually(failing, timeout=60)
    f = next(f for f in d.findings if f.kind == "workflow_task_failing")
    assert f.evidence["cause"] == "nondeterminism", f.evidence
    assert "nondetermin" in f.summary.lower()
    await h.terminate("test over")



async def test_pending_activity_heartbeat(client, task_queue):
    async with client.worker(task_queue=task_queue, workflows=[RunsLongJob], activities=[long_job]):
        h = await client.start(RunsLongJob, 60, id=wid("beat"), task_queue=task_queue)

        async def beating():
            ex = await h.describe()
            acts = ex.pending_activities
            return acts[0] if acts and acts[0].heartbeat_details not in (None, "step 0") else None

        a = await eventually(beating, timeout=40)
        d = await h.diagnose()
        await h.terminate("test over")
    assert a.state == "started" and a.attempt == 1 and a.last_started_time is not None
    assert isinstance(a.heartbeat_details, str) and a.heartbeat_details.startswith("step ")
    assert a.last_heartbeat_time is not None and a.last_worker_identity
    running = next(f for f in d.findings if f.kind == "activity_running")
    assert running.severity == "info" and "long_job" in running.summary


async def test_batch_reset_skips_runs_without_a_reset_point(client, task_queue):
    prefix = wid("noreset")
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter, w.Hello], activities=[w.echo]):
        ok = await client.start(w.Waiter, 1, id=f"{prefix}-ok", task_queue=task_queue)
        await eventually(functools.partial(query_answers, ok, "count", 0), timeout=30)
        stuck = await client.start(w.Waiter, 1, id=f"{prefix}-typo", task_queue=task_queue + "-typo")
        done = await client.start(w.Hello, "x", id=f"{prefix}-done", task_queue=task_queue)
        await done.result(timeout=30)
        await eventually(lambda: _listed(client, query, 3), timeout=30)
        await eventually(lambda: _listed(client, query + " AND ExecutionStatus = 'Running'", 2), timeout=30)
        plan = await client.batch("reset", query, reset_to="first", journal=None)
        assert plan.closed_matches == 1 and "1 closed ones left out" in repr(plan)
        detail = dict(zip(plan.preview["workflow_id"], plan.preview["detail"], strict=True))
        assert detail[stuck.workflow_id].startswith("cannot reset (skipped): ") and "no workflow task" in \
            detail[stuck.workflow_id]
        assert detail[ok.workflow_id].startswith("reset to first")
        out = await plan.run(confirm=True, progress=False)
        outcome = dict(zip(out["workflow_id"], out["outcome"], strict=True))
        assert outcome == {ok.workflow_id: "done", stuck.workflow_id: "skipped"}, out
        await stuck.terminate("test over")
        await client.handle(ok.workflow_id).signal("add", "x")
