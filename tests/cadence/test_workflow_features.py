"""Cadence-specific paths of the in-workflow API and the worker, on the real server: custom activity IDs,
replaying a recorded history, child workflow failures, failures written by another Cadence client, sync
activities that heartbeat, and workflow retry policies."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest

import wfkit
import wfkit_cadence
from wfkit._loop import on_loop
from wfkit.engine import workflow_defn
from wfkit.testing.conformance import workflows as w


@wfkit.workflow
class NamedActivities:
    @wfkit.run
    async def run(self) -> list:
        a = await wfkit.execute_activity(w.echo, "a", activity_id="first-one", start_to_close_timeout=10)
        b = await wfkit.execute_activity(w.echo, "b", start_to_close_timeout=10)
        await wfkit.sleep(0.1)
        c = await wfkit.execute_activity(w.echo, "c", activity_id="third", start_to_close_timeout=10)
        return [a, b, c]


@wfkit.workflow(name="NamedActivities")
class NamedActivitiesChanged:
    @wfkit.run
    async def run(self) -> list:
        a = await wfkit.execute_activity(w.echo, "a", activity_id="first-one", start_to_close_timeout=10)
        b = await wfkit.execute_activity(w.double, {"amount": 1, "currency": "x"}, start_to_close_timeout=10)
        return [a, b]


async def test_custom_activity_ids_and_replay(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[NamedActivities], activities=[w.echo]):
        h = await cclient.start(NamedActivities, task_queue=tq)
        assert await h.result(timeout=30) == ["a", "b", "c"]
    events = await on_loop(cclient._inner.history_events(h.workflow_id, None))
    ids = [e.activity_task_scheduled_event_attributes.activity_id for e in events
           if e.WhichOneof("attributes") == "activity_task_scheduled_event_attributes"]
    assert ids[0] == "first-one" and ids[2] == "third"
    # the recorded history replays through the same code, and not through changed code (the plugin's
    # Engine.replay: per history None, or what went wrong)
    hist = await h.history()
    same = [workflow_defn(NamedActivities)]
    assert await on_loop(wfkit_cadence.engine.replay([hist], same)) == [None]
    [changed] = await on_loop(wfkit_cadence.engine.replay([hist], [workflow_defn(NamedActivitiesChanged)]))
    assert isinstance(changed, wfkit.NondeterminismError)


@wfkit.workflow
class ChildFails:
    @wfkit.run
    async def run(self, kind: str) -> str:
        try:
            if kind == "timeout":
                await wfkit.execute_child_workflow(w.Sleeper, 30, execution_timeout=1)
            else:
                await wfkit.execute_child_workflow(w.Child, -1)
        except wfkit.ChildWorkflowError as e:
            return f"{type(e.cause).__name__}:{getattr(e.cause, 'kind', None) or getattr(e.cause, 'type', None)}"
        return "no error"


@pytest.mark.parametrize("kind,expected", [("timeout", "TimeoutError:execution"),
                                           ("failure", "ApplicationError:Negative")])
async def test_child_workflow_failures(cclient, tq, kind, expected):
    async with cclient.worker(task_queue=tq, workflows=[ChildFails, w.Child, w.Sleeper], activities=[w.echo]):
        h = await cclient.start(ChildFails, kind, task_queue=tq)
        assert await h.result(timeout=30) == expected


async def test_failure_from_another_cadence_client_is_readable(cclient, tq):
    """An activity of the plain cadence-python-client reports reason = class name and a traceback text."""
    from cadence import Registry
    from cadence.worker import Worker

    registry = Registry()

    @registry.activity(name="foreign")
    async def foreign(x: str) -> str:
        raise LookupError(f"nothing for {x}")

    @wfkit.workflow
    class CallsForeign:
        @wfkit.run
        async def run(self) -> str:
            try:
                await wfkit.execute_activity("foreign", "k", start_to_close_timeout=10,
                                             retry_policy=wfkit.RetryPolicy(maximum_attempts=1))
            except wfkit.ActivityError as e:
                return f"{e.cause.type}|{e.cause.message}"
            return "no error"

    async def run_foreign_worker() -> None:  # the SDK's worker lives on wfkit's loop, like its channel
        async with Worker(cclient.engine_client.unwrap(), tq, registry, disable_workflow_worker=True):
            await asyncio.sleep(20)

    foreign_worker = asyncio.ensure_future(on_loop(run_foreign_worker()))
    try:
        async with cclient.worker(task_queue=tq, workflows=[CallsForeign]):
            h = await cclient.start(CallsForeign, task_queue=tq)
            assert await h.result(timeout=30) == "LookupError|nothing for k"
    finally:
        foreign_worker.cancel()


_beats: dict[str, int] = {}


@wfkit.activity
def sync_beater(key: str) -> int:
    info = wfkit.activity_info()
    for i in range(8):
        wfkit.heartbeat(i)
        time.sleep(0.25)
    _beats[key] = info.attempt
    return info.attempt


@wfkit.workflow
class SyncBeats:
    @wfkit.run
    async def run(self, key: str) -> int:
        return await wfkit.execute_activity(sync_beater, key, start_to_close_timeout=20, heartbeat_timeout=1)


async def test_sync_activity_heartbeats_keep_it_alive(cclient, tq):
    key = uuid.uuid4().hex
    async with cclient.worker(task_queue=tq, workflows=[SyncBeats], activities=[sync_beater]):
        h = await cclient.start(SyncBeats, key, task_queue=tq)
        assert await h.result(timeout=30) == 1       # no heartbeat timeout, first attempt, counted from 1
    assert _beats[key] == 1


_runs: dict[str, int] = {}


@wfkit.workflow
class FailsTwice:
    @wfkit.run
    async def run(self, key: str) -> int:
        attempt = wfkit.info().attempt
        if attempt < 3:
            raise wfkit.ApplicationError(f"attempt {attempt}", type="Again")
        return attempt


async def test_workflow_retry_policy(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[FailsTwice]):
        h = await cclient.start(FailsTwice, "k", task_queue=tq,
                                retry_policy=wfkit.RetryPolicy(initial_interval=timedelta(seconds=1),
                                                               backoff_coefficient=1, maximum_attempts=3))
        assert await h.result(timeout=60) == 3


@wfkit.activity
async def always_fails() -> None:
    raise wfkit.ApplicationError("nope", type="Nope")


@wfkit.workflow
class RetryStates:
    @wfkit.run
    async def run(self, case: str) -> list:
        policy = {
            "window": wfkit.RetryPolicy(backoff_coefficient=1, maximum_attempts=0),
            "attempts": wfkit.RetryPolicy(backoff_coefficient=1, maximum_attempts=2),
            "listed": wfkit.RetryPolicy(non_retryable_error_types=["Nope"]),
        }[case]
        try:
            await wfkit.execute_activity(always_fails, start_to_close_timeout=2, retry_policy=policy,
                                         schedule_to_close_timeout=3 if case == "window" else None)
        except wfkit.ActivityError as e:
            return [e.retry_state, e.cause.type]
        return []


@pytest.mark.parametrize("case,state", [("window", "timeout"), ("attempts", "maximum_attempts_reached"),
                                        ("listed", "non_retryable_failure")])
async def test_why_retries_stopped(cclient, tq, case, state):
    """The same retry_state as Temporal's (the attempts come from the history's ActivityTaskStarted events)."""
    async with cclient.worker(task_queue=tq, workflows=[RetryStates], activities=[always_fails]):
        h = await cclient.start(RetryStates, case, task_queue=tq)
        assert await h.result(timeout=30) == [state, "Nope"]


@wfkit.workflow
class AsyncioTimers:
    """asyncio's own timers in workflow code are durable timers (as on Temporal)."""

    def __init__(self) -> None:
        self.poked = False

    @wfkit.run
    async def run(self) -> list:
        t0 = wfkit.now()
        await asyncio.sleep(1)
        slept = (wfkit.now() - t0).total_seconds()
        try:
            await asyncio.wait_for(wfkit.wait_condition(lambda: self.poked), timeout=1)
            waited = "poked"
        except TimeoutError:
            waited = "timed out"
        return [slept >= 1, waited]

    @wfkit.signal
    def poke(self) -> None:
        self.poked = True


async def test_asyncio_timers_are_durable(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[AsyncioTimers], activities=[w.echo]):
        h = await cclient.start(AsyncioTimers, task_queue=tq)
        assert await h.result(timeout=30) == [True, "timed out"]
    frame = (await h.history()).to_dataframe()
    assert (frame["event_type"] == "TimerFired").sum() == 2
    assert await on_loop(wfkit_cadence.engine.replay([await h.history()], [workflow_defn(AsyncioTimers)])) == [None]


async def test_cancel_before_the_first_decision_still_runs_cleanup(cclient, tq):
    """Start, signal and cancel land in the same first decision task: the run still reaches its first await
    (and so its cleanup), as on Temporal."""
    h = await cclient.start(w.Waiter, 5, task_queue=tq)
    await h.signal("add", "x")
    await h.cancel()
    async with cclient.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]):
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await h.result(timeout=30)
    assert info.value.status == "canceled"
    frame = (await h.history()).to_dataframe()
    assert "echo" in set(frame["activity_type"].dropna())
