"""``Router`` over a Cadence and a Temporal client, and ``FailoverClient`` with a primary server that stops."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import wfkit
from wfkit._router import FailoverClient, Router, StartRequest
from wfkit.devserver import free_port
from wfkit.examples import orders
from wfkit_temporal.devserver import TemporalDevServer

from .conftest import ALL_ACTIVITIES, ALL_WORKFLOWS, query_for, wait_listed

ORDER = orders.Order("o", "ada", [orders.Item("pen")], 5.0)


async def test_routing_rules(cadence, temporal, task_queue, prefix):
    def policy(req: StartRequest) -> str | None:
        return "temporal" if req.id and req.id.endswith("-vip") else None

    router = Router({"cadence": cadence, "temporal": temporal}, by_type={"Ledger": "temporal"},
                    by_tag={"legacy": "cadence", "new": "temporal"}, policy=policy, default="cadence")
    assert router.engines == {"cadence": "cadence", "temporal": "temporal"}
    assert router.route(orders.OrderWorkflow) == "cadence"
    assert router.route("Ledger") == "temporal"
    assert router.route(orders.OrderWorkflow, tags=["new"]) == "temporal"
    assert router.route("Ledger", tags=["legacy"]) == "temporal"  # by_type first
    assert router.route(orders.OrderWorkflow, id="x-vip") == "temporal"
    assert "subsecond_timers" not in router.capabilities and "query" in router.capabilities
    with pytest.raises(wfkit.WfkitError, match="no client named"):
        Router({"a": cadence}, default="b")

    async with router.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        a = await router.start(orders.OrderWorkflow, ORDER, id=f"{prefix}a", task_queue=task_queue)
        b = await router.start(orders.OrderWorkflow, ORDER, id=f"{prefix}b", task_queue=task_queue, tags=["new"])
        c = await router.start(orders.OrderWorkflow, ORDER, id=f"{prefix}c-vip", task_queue=task_queue)
        assert (a.client, b.client, c.client) == (cadence, temporal, temporal)
        for wid, engine in ((f"{prefix}a", "cadence"), (f"{prefix}b", "temporal"), (f"{prefix}c-vip", "temporal")):
            h = router.handle(wid)
            r = await h.result(timeout=30, result_type=orders.OrderResult)
            assert r.status == "confirmed" and h.client_name == engine
            assert (await h.describe()).engine == engine
        with pytest.raises(wfkit.WorkflowNotFound):
            await router.handle(f"{prefix}nope").describe()
    await wait_listed(cadence, query_for(prefix), 1, running=False)
    await wait_listed(temporal, query_for(prefix), 2, running=False)
    listed = await router.list(query_for(prefix))
    assert sorted(e.workflow_id for e in listed) == sorted([f"{prefix}a", f"{prefix}b", f"{prefix}c-vip"])
    assert {e.engine for e in listed} == {"cadence", "temporal"}
    assert await router.count(query_for(prefix)) == 3
    assert "Router" in repr(router)


async def test_failover(cadence_server, tmp_path, task_queue, caplog):
    port = free_port()
    db = tmp_path / "primary.db"
    server = await asyncio.to_thread(TemporalDevServer.start, port=port, db=db)
    try:
        primary = await wfkit.connect(f"temporal://127.0.0.1:{port}")
        backup = await wfkit.connect(cadence_server.url)
        interval = 2.0
        fo = FailoverClient(primary, backup, health_interval=interval)
        caplog.set_level(logging.INFO, logger="wfkit.failover")
        try:
            h1 = await fo.start(orders.OrderWorkflow, ORDER, id="fo-1", task_queue=task_queue)
            assert h1.client is primary and fo.active == "primary"

            stopped = time.monotonic()
            await asyncio.to_thread(server.stop)  # the primary's server goes away (its db file stays)
            while fo.active == "primary":
                assert time.monotonic() - stopped < interval + 1.0, "no failover within one health interval"
                await asyncio.sleep(0.05)
            h2 = await fo.start(orders.OrderWorkflow, ORDER, id="fo-2", task_queue=task_queue)
            assert h2.client is backup
            assert (await fo.handle("fo-2").describe()).engine == "cadence"

            server = await asyncio.to_thread(TemporalDevServer.start, port=port, db=db)  # back, same state
            restarted = time.monotonic()
            while fo.active == "backup":
                assert time.monotonic() - restarted < interval + 1.0, "no failback within one health interval"
                await asyncio.sleep(0.05)
            h3 = await fo.start(orders.OrderWorkflow, ORDER, id="fo-3", task_queue=task_queue)
            assert h3.client is primary
            assert (await fo.handle("fo-1").describe()).engine == "temporal"  # kept across the restart
        finally:
            await fo.close()
        kinds = [e.kind for e in fo.events]
        assert kinds == ["primary_down", "failed_over", "primary_up", "failed_back"]
        logged = [r.getMessage() for r in caplog.records if r.name == "wfkit.failover"]
        assert any("failed_over" in m for m in logged) and any("failed_back" in m for m in logged)
    finally:
        await asyncio.to_thread(server.stop)
