"""A migration whose source or target stops answering stops early with one ``ConnectionFailed`` naming it, instead
of every remaining workflow waiting out its timeout; run again once the server is back, it resumes and finishes."""

from __future__ import annotations

import asyncio
import time

import pytest

import wfkit
from wfkit import devserver, migrate
from wfkit.engine import free_port

from . import workflows as mw
from .conftest import ALL_ACTIVITIES, ALL_WORKFLOWS, query_for, wait_listed

N = 8
TIMEOUT = 120  # the per-workflow timeout: a run that waited it out once per batch would take minutes


async def test_target_down_at_the_start(cadence, task_queue, prefix, tmp_path):
    port = free_port()
    server = await asyncio.to_thread(devserver.start, "temporal", port=port, db=str(tmp_path / "t.db"))
    target = await wfkit.connect(server.url)
    try:
        async with cadence.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
            ids = [f"{prefix}{i:02d}" for i in range(N)]
            for wid in ids:
                await cadence.start(mw.Cart, mw.CartState(wid, ["apple"]), id=wid, task_queue=task_queue)
            await wait_listed(cadence, query_for(prefix), N)
            plan = await migrate.plan(cadence, target, query=query_for(prefix))
            await asyncio.to_thread(server.stop)
            t0 = time.monotonic()
            with pytest.raises(wfkit.ConnectionFailed, match="the target .* does not answer") as info:
                await plan.run(checkpoint=tmp_path / "m.jsonl", progress=False, timeout=TIMEOUT)
            assert time.monotonic() - t0 < 30, info.value
            assert "nothing was migrated" in str(info.value)
            for wid in ids:
                await cadence.handle(wid).terminate("test over")
    finally:
        await target.close()
        await asyncio.to_thread(server.stop)


async def test_source_killed_mid_run_stops_early_then_resumes(cadence, task_queue, prefix, tmp_path):
    port = free_port()
    db = str(tmp_path / "s.db")
    server = await asyncio.to_thread(devserver.start, "temporal", port=port, db=db)
    source = await wfkit.connect(server.url)
    ck = tmp_path / "m.jsonl"
    ids = [f"{prefix}{i:02d}" for i in range(N)]
    try:
        async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
                cadence.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
            for wid in ids:
                await source.start(mw.Cart, mw.CartState(wid, ["apple"]), id=wid, task_queue=task_queue)
            await wait_listed(source, query_for(prefix), N)
            plan = await migrate.plan(source, cadence, query=query_for(prefix))
            seen: list[str] = []

            async def kill_after_two(wid: str) -> None:
                seen.append(wid)
                if len(seen) == 2:
                    await asyncio.to_thread(server.stop)  # the source goes away in the middle of the run

            plan._hooks["terminated"] = kill_after_two
            t0 = time.monotonic()
            with pytest.raises(wfkit.ConnectionFailed, match="the source .* does not answer") as info:
                await plan.run(batch_size=2, checkpoint=ck, progress=False, timeout=TIMEOUT)
            elapsed = time.monotonic() - t0
            assert elapsed < 60, (elapsed, info.value)
            assert "resumes from its checkpoint" in str(info.value) and str(ck) in str(info.value)
    finally:
        await source.close()
    # the source comes back on its store; the same plan resumes and finishes
    server = await asyncio.to_thread(devserver.start, "temporal", port=port, db=db)
    source = await wfkit.connect(server.url)
    try:
        async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
                cadence.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
            plan = await migrate.plan(source, cadence, query=query_for(prefix))
            report = await plan.run(checkpoint=ck, progress=False, timeout=TIMEOUT)
            assert report.stats.failed == 0, report.failures
            assert plan.status(ck).in_flight == []
            for wid in ids:
                assert (await source.handle(wid).describe()).status == "terminated"
                assert (await cadence.handle(wid).describe()).status == "running"
                await cadence.handle(wid).terminate("test over")
    finally:
        await source.close()
        await asyncio.to_thread(server.stop)
