"""Sticky execution on Cadence: the worker keeps each run's workflow state between decision tasks (a bounded LRU
cache), answers with sticky attributes, applies only a sticky task's new events, and falls back to a full replay
when the run is not cached. The cached and the fully replayed paths must make the same decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

import wfkit
import wfkit_cadence
from wfkit._loop import on_loop
from wfkit.engine import workflow_defn
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w
from wfkit.testing.conformance._helpers import query_answers


@wfkit.workflow
class Mixed:
    """Activities, timers, a side effect, a version marker, signals, a condition with a timeout, a child."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.stage = "starting"

    @wfkit.run
    async def run(self, n: int) -> dict:
        out: list = []
        for i in range(n):
            out.append(await wfkit.execute_activity(w.echo, f"a{i}", start_to_close_timeout=10))
        await wfkit.sleep(timedelta(seconds=1))
        out.append(await wfkit.side_effect(lambda: 7))
        out.append(wfkit.get_version("change", wfkit.DEFAULT_VERSION, 1))
        self.stage = "waiting"
        await wfkit.wait_condition(lambda: len(self.items) >= 2)
        self.stage = "timing out"
        try:
            await wfkit.wait_condition(lambda: False, timeout=timedelta(seconds=1))
        except wfkit.TimeoutError:
            out.append("timed out")
        out.append(await wfkit.execute_child_workflow(w.Child, 3, id=f"{wfkit.info().workflow_id}-child"))
        for item in self.items:
            out.append(await wfkit.execute_activity(w.echo, item, start_to_close_timeout=10))
        self.stage = "done"
        return {"out": out, "items": self.items}

    @wfkit.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @wfkit.query
    def where(self) -> str:
        return self.stage


@wfkit.workflow
class Collector:
    """Echoes each signalled item through an activity, until it has ``n``."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.echoed: list[str] = []

    @wfkit.run
    async def run(self, n: int) -> list[str]:
        while len(self.echoed) < n:
            await wfkit.wait_condition(lambda: len(self.items) > len(self.echoed))
            self.echoed.append(await wfkit.execute_activity(w.echo, self.items[len(self.echoed)],
                                                            start_to_close_timeout=10))
        return self.echoed

    @wfkit.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @wfkit.query
    def echoed_count(self) -> int:
        return len(self.echoed)


def _cadence_worker(worker: wfkit.Worker):
    return worker._engine_worker


async def _history_events(client, h):
    return await on_loop(client._inner.history_events(h.workflow_id, h.run_id))


def _sticky_decision_tasks(events, tq: str) -> int:
    """Decision tasks the server scheduled on a worker's sticky task list (the event names the list)."""
    return sum(1 for e in events if e.HasField("decision_task_scheduled_event_attributes")
               and e.decision_task_scheduled_event_attributes.task_list.name != tq)


def _decisions(events) -> list[tuple]:
    """What the decisions recorded, in order, without IDs and times that differ from run to run."""
    out: list[tuple] = []
    for e in events:
        kind = e.WhichOneof("attributes")
        if kind == "activity_task_scheduled_event_attributes":
            a = e.activity_task_scheduled_event_attributes
            out.append((kind, a.activity_type.name, a.input.data))
        elif kind == "timer_started_event_attributes":
            out.append((kind, e.timer_started_event_attributes.start_to_fire_timeout.seconds))
        elif kind == "marker_recorded_event_attributes":
            m = e.marker_recorded_event_attributes
            out.append((kind, m.marker_name, m.details.data))
        elif kind == "start_child_workflow_execution_initiated_event_attributes":
            a = e.start_child_workflow_execution_initiated_event_attributes
            out.append((kind, a.workflow_type.name, a.input.data))
        elif kind in ("timer_canceled_event_attributes", "workflow_execution_completed_event_attributes"):
            out.append((kind,))
    return out


async def _run_mixed(client, tq: str, cache: int | None):
    opts = {} if cache is None else {"max_cached_workflows": cache}
    async with client.worker(task_queue=tq, workflows=[Mixed, w.Child], activities=[w.echo], **opts) as worker:
        h = await client.start(Mixed, 4, task_queue=tq)
        await eventually(lambda: query_answers(h, "where", "waiting"), timeout=30)
        await h.signal("add", "x")
        await h.signal("add", "y")
        result = await h.result(timeout=60)
        stats = dict(_cadence_worker(worker).cache.stats)
    return h, result, stats


async def test_sticky_and_full_replay_make_the_same_decisions(cclient, tq):
    h, result, stats = await _run_mixed(cclient, tq, cache=None)
    assert result == {"out": ["a0", "a1", "a2", "a3", 7, 1, "timed out", 30, "x", "y"], "items": ["x", "y"]}
    events = await _history_events(cclient, h)
    # the run went sticky: most decision tasks came on the worker's sticky list with only their new events,
    # answered from the cached state
    assert _sticky_decision_tasks(events, tq) >= 8, _sticky_decision_tasks(events, tq)
    assert stats["hits"] >= 8 and stats["query_hits"] >= 1, stats
    # the same history replayed from its first event (the non-sticky path, with nondeterminism detection) makes
    # every decision the sticky path recorded
    hist = await h.history()
    assert await on_loop(wfkit_cadence.engine.replay([hist], [workflow_defn(Mixed)])) == [None]
    # and the same inputs with the cache off (every task a full replay) record the same decisions
    h0, result0, stats0 = await _run_mixed(cclient, tq + "-nocache", cache=0)
    assert result0 == result
    events0 = await _history_events(cclient, h0)
    assert _sticky_decision_tasks(events0, tq + "-nocache") == 0 and stats0["hits"] == 0 and stats0["full_replays"] >= 8
    assert _decisions(events0) == _decisions(events)


async def _collect(client, handles: list, rounds: int) -> None:
    """Signal each run in turn, one item a round, waiting until each has echoed it: the runs' decision tasks
    interleave on the worker."""
    for i in range(rounds):
        for h in handles:
            await h.signal("add", f"{h.workflow_id[-1]}{i}")
            await eventually(lambda h=h, i=i: query_answers(h, "echoed_count", i + 1), timeout=30)


async def test_cache_of_one_evicts_and_replays_interleaved_runs(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[Collector], activities=[w.echo],
                              max_cached_workflows=1) as worker:
        a = await cclient.start(Collector, 3, task_queue=tq, id=f"{tq}-a")
        b = await cclient.start(Collector, 3, task_queue=tq, id=f"{tq}-b")
        await _collect(cclient, [a, b], 3)
        assert await a.result(timeout=30) == ["a0", "a1", "a2"]
        assert await b.result(timeout=30) == ["b0", "b1", "b2"]
        cache = _cadence_worker(worker).cache
        assert len(cache) <= 1
        # each run pushed the other out: their sticky tasks found no state and replayed the whole history
        assert cache.stats["evictions"] >= 2 and cache.stats["misses"] >= 2, cache.stats
    for h in (a, b):
        assert await on_loop(wfkit_cadence.engine.replay([await h.history()], [workflow_defn(Collector)])) == [None]


@pytest.mark.parametrize("reset", [True, False], ids=["stopped", "killed"])
async def test_a_new_worker_replays_what_another_had_cached(cclient, tq, reset):
    """A worker that stops resets its runs' stickiness; one that dies does not, and the server hands the sticky
    task to the normal list after the sticky schedule-to-start timeout. Either way a new worker, with an empty
    cache, replays the whole history and carries on."""
    first = cclient.worker(task_queue=tq, workflows=[Collector], activities=[w.echo])
    await first.__aenter__()
    h = await cclient.start(Collector, 2, task_queue=tq, id=f"{tq}-a")
    await _collect(cclient, [h], 1)
    engine_worker = _cadence_worker(first)
    assert len(engine_worker.cache) == 1
    if not reset:  # as if the process died: the server still believes the run sticky to the old worker
        async def no_reset() -> None:
            engine_worker.cache.clear()

        engine_worker._reset_stickiness = no_reset
    await first.__aexit__(None, None, None)
    async with cclient.worker(task_queue=tq, workflows=[Collector], activities=[w.echo]) as second:
        await h.signal("add", "z")
        assert await h.result(timeout=60) == ["a0", "z"]
        stats = _cadence_worker(second).cache.stats
    assert stats["full_replays"] >= 1, stats


async def test_query_on_a_cached_run_is_answered_from_the_cache(cclient, tq):
    async with cclient.worker(task_queue=tq, workflows=[Collector], activities=[w.echo]) as worker:
        h = await cclient.start(Collector, 3, task_queue=tq, id=f"{tq}-q")
        await _collect(cclient, [h], 2)
        cache = _cadence_worker(worker).cache
        before = cache.stats["query_hits"]
        assert await h.query("echoed_count") == 2
        assert cache.stats["query_hits"] == before + 1
        await h.signal("add", "last")
        assert (await h.result(timeout=30))[2] == "last"


async def test_max_cached_workflows_is_checked(cclient, tq):
    for bad in (-1, 1.5, True):
        with pytest.raises(wfkit.WfkitError, match="max_cached_workflows"):
            cclient.worker(task_queue=tq, workflows=[Collector], max_cached_workflows=bad)


_BOOM = {"left": 1}


@wfkit.workflow
class FailsOnce:
    """Its signal handler raises the first time in this process (a bug fixed while the run waits): the decision
    task fails and the worker drops the run's cached state (half-applied events); the server clears the run's
    stickiness too, so the retried task comes from the normal task list with the whole history and replays it."""

    def __init__(self) -> None:
        self.items: list[str] = []

    @wfkit.run
    async def run(self) -> list[str]:
        await wfkit.execute_activity(w.echo, "before", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: len(self.items) >= 2)
        return self.items

    @wfkit.signal
    def add(self, item: str) -> None:
        if item == "boom" and _BOOM["left"]:
            _BOOM["left"] -= 1
            raise RuntimeError("a bug in the signal handler")
        self.items.append(item)

    @wfkit.query
    def count(self) -> int:
        return len(self.items)


async def test_a_failed_decision_task_evicts_the_run(cclient, tq):
    _BOOM["left"] = 1
    async with cclient.worker(task_queue=tq, workflows=[FailsOnce], activities=[w.echo]) as worker:
        cache = _cadence_worker(worker).cache
        h = await cclient.start(FailsOnce, task_queue=tq, id=f"{tq}-f")
        await h.signal("add", "first")
        await eventually(lambda: query_answers(h, "count", 1), timeout=30)
        full_before = cache.stats["full_replays"]
        await h.signal("add", "boom")
        assert await h.result(timeout=60) == ["first", "boom"]
        # the retry replayed the whole history, and applied the signal once
        assert _BOOM["left"] == 0 and cache.stats["full_replays"] > full_before, cache.stats
    assert await on_loop(wfkit_cadence.engine.replay([await h.history()], [workflow_defn(FailsOnce)])) == [None]

