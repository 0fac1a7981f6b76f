"""``wfkit.replay`` with each engine's replayer, on histories of both engines; ``wfkit.migrate.readiness``."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest

import wfkit
from wfkit import migrate
from wfkit._replay import REPLAY_COLUMNS, replay, replayable_json
from wfkit.examples import orders

from . import workflows as mw
from .conftest import ALL_ACTIVITIES, ALL_WORKFLOWS


@wfkit.workflow
class Versioned:
    """get_version, a timer and a wait_condition timer that is cancelled."""

    def __init__(self) -> None:
        self.go = False

    @wfkit.run
    async def run(self, n: int) -> str:
        v = wfkit.get_version("fast-ship", wfkit.DEFAULT_VERSION, 1)
        out = await wfkit.execute_activity(mw.stamp, f"v{v}-{n}", start_to_close_timeout=timedelta(seconds=10))
        await wfkit.sleep(timedelta(seconds=1))
        try:
            await wfkit.wait_condition(lambda: self.go, timeout=timedelta(seconds=30))
        except wfkit.TimeoutError:
            pass
        return out

    @wfkit.signal
    def proceed(self) -> None:
        self.go = True


@wfkit.workflow(name="OrderWorkflow")
class ReorderedSaga(orders.OrderWorkflow):
    """A changed deployment: ships before it charges."""

    @wfkit.run
    async def run(self, order: orders.Order) -> orders.OrderResult:
        await wfkit.execute_activity(orders.validate_order, order, **orders.ACTIVITY_OPTIONS)
        await wfkit.execute_activity(orders.ship_order, order, **orders.ACTIVITY_OPTIONS)
        await wfkit.execute_activity(orders.charge_payment, order, **orders.ACTIVITY_OPTIONS)
        return orders.OrderResult(order_id=order.order_id, status="confirmed")


@wfkit.workflow(name="Versioned")
class VersionDropped(Versioned):
    """A deployment that no longer supports executions recorded before version 2."""

    @wfkit.run
    async def run(self, n: int) -> str:
        wfkit.get_version("fast-ship", 2, 2)
        return await wfkit.execute_activity(mw.stamp, "x", start_to_close_timeout=timedelta(seconds=10))


@pytest.fixture(scope="module")
async def recorded(cadence, temporal):
    """Closed histories of the saga (confirmed, compensated, cancelled) and of Versioned, on both engines."""
    out = {}
    for client in (cadence, temporal):
        tq = f"tq-{uuid.uuid4().hex[:8]}"
        async with client.worker(task_queue=tq, workflows=[*ALL_WORKFLOWS, Versioned], activities=ALL_ACTIVITIES):
            hs = [await client.start(orders.OrderWorkflow, orders.Order("o1", "a", [orders.Item("pen")], 3.0),
                                     task_queue=tq),
                  await client.start(orders.OrderWorkflow,
                                     orders.Order("o2", "b", [orders.Item(orders.OUT_OF_STOCK)], 3.0), task_queue=tq),
                  await client.start(orders.OrderWorkflow,
                                     orders.Order("o3", "c", [orders.Item("pen")], 3.0, review_seconds=30),
                                     task_queue=tq),
                  await client.start(Versioned, 7, task_queue=tq)]
            for _ in range(100):
                try:
                    if await hs[2].query("status", timeout=5) == "in review":
                        break
                except wfkit.QueryFailed:
                    pass
                await asyncio.sleep(0.1)
            await hs[2].signal("cancel_order", "no")
            await hs[3].signal("proceed")
            for h in hs:
                await h.result(timeout=60)
            out[client.engine] = [await h.history() for h in hs]
    return out


@pytest.mark.parametrize("engine", ["temporal", "cadence"])
@pytest.mark.parametrize("source", ["temporal", "cadence"])
async def test_replay_ok(recorded, source, engine):
    df = await replay(recorded[source], workflows=[orders.OrderWorkflow, Versioned], engine=engine)
    assert list(df.columns) == list(REPLAY_COLUMNS)
    assert len(df) == 4 and df["ok"].all(), df.to_dict("records")
    assert set(df.source_engine) == {source}
    assert df.error.isna().all()


@pytest.mark.parametrize("engine", ["temporal", "cadence"])
@pytest.mark.parametrize("source", ["temporal", "cadence"])
async def test_replay_reports_nondeterminism(recorded, source, engine):
    df = await replay(recorded[source], workflows=[ReorderedSaga, VersionDropped], engine=engine)
    assert not df["ok"].any(), df.to_dict("records")
    assert all(e.startswith("NondeterminismError") for e in df.error), list(df.error)
    by_type = df.groupby("workflow_type")["error"].first()
    assert "fast-ship" in by_type["Versioned"]


async def test_replay_from_json_and_unknown_types(recorded, tmp_path):
    h = recorded["cadence"][0]
    path = tmp_path / "h.json"
    path.write_text(replayable_json(h, "temporal"))
    df = await replay([str(path), h.to_json(format="wfkit")], workflows=[orders.OrderWorkflow])
    assert df["ok"].all(), df.to_dict("records")
    doc = json.loads(path.read_text())
    assert doc["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"

    df = await replay(recorded["temporal"][3], workflows=[orders.OrderWorkflow])
    assert not df.ok.iloc[0] and "no workflow named 'Versioned'" in df.error.iloc[0]
    with pytest.raises(wfkit.WfkitError, match="engine"):
        await replay(h, workflows=[orders.OrderWorkflow], engine="zeebe")


async def test_readiness(recorded, cadence, temporal, task_queue):
    async with temporal.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        ledger = await temporal.start(mw.Ledger, "open-book", 1, task_queue=task_queue)
        cart = await temporal.start(mw.Cart, mw.CartState("c", []), task_queue=task_queue)
        await cart.signal("add", "x")
        for _ in range(100):
            acts = (await ledger.history()).activities()
            if (acts["status"] == "completed").any():
                break
            await asyncio.sleep(0.1)
        open_hs = [await ledger.history(), await cart.history()]
        await ledger.terminate("test over")
        await cart.terminate("test over")
    hs = [*recorded["cadence"], *recorded["temporal"], *open_hs]
    df = await migrate.readiness(hs, workflows=[orders.OrderWorkflow, Versioned, mw.Ledger, mw.Cart])
    assert list(df.columns) == list(migrate.READINESS_COLUMNS)
    r = df.set_index("workflow_type")
    assert r.at["OrderWorkflow", "workflows"] == 6 and r.at["OrderWorkflow", "closed"] == 6
    assert r.at["OrderWorkflow", "signals"] == 2 and r.at["OrderWorkflow", "timers"] == 2
    assert r.at["Versioned", "versions"] == 2 and r.at["Versioned", "timers"] == 2
    assert r.at["Ledger", "open"] == 1 and not r.at["Ledger", "ready"]
    assert r.at["Ledger", "reexecutes"] == ["stamp"]
    assert "allow_reexecution" in r.at["Ledger", "blockers"][0]
    assert r.at["Cart", "ready"] and r.at["Cart", "migration_state"]
    assert r.at["OrderWorkflow", "ready"] and r.at["OrderWorkflow", "migration_state"]
    assert not r.at["Ledger", "migration_state"]
    # and straight from a client, with the sync twin
    df2 = await asyncio.to_thread(migrate.sync.readiness, temporal, query=f"WorkflowId='{ledger.workflow_id}'")
    assert list(df2.workflow_type) == ["Ledger"] and df2.closed.iloc[0] == 1
