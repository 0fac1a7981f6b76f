"""``strategy="restart"`` against the real servers, both directions: open workflows move with their state (or
their input), late signals follow them, a rerun changes nothing."""

from __future__ import annotations

import asyncio
import json

import pytest

import wfkit
from wfkit import migrate
from wfkit._router import MIGRATION_REASON_PREFIX, Router
from wfkit.examples import orders
from wfkit.testing import eventually

from . import workflows as mw
from .conftest import ALL_ACTIVITIES, ALL_WORKFLOWS, query_for, runs_of, wait_listed, wait_status

REVIEW = 8  # seconds the sagas stay open (in review) on each engine


def order_for(i: int) -> orders.Order:
    sku = orders.OUT_OF_STOCK if i % 4 == 3 else f"book-{i}"
    return orders.Order(f"o{i}", f"customer-{i}", [orders.Item(sku, 1 + i % 3)], 10.0 + i, review_seconds=REVIEW)


def expected_status(i: int) -> str:
    return {1: "cancelled", 3: "compensated"}.get(i % 4, "confirmed")


async def test_restart_order_sagas(direction, task_queue, prefix, tmp_path):
    source, target = direction
    n = 12
    ids = [f"{prefix}{i}" for i in range(n)]
    async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
            target.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        handles = [await source.start(orders.OrderWorkflow, order_for(i), id=wid, task_queue=task_queue,
                                      memo={"batch": 7}, tags=["migration-test"]) for i, wid in enumerate(ids)]
        await asyncio.gather(*(wait_status(h, "in review") for h in handles))
        await wait_listed(source, query_for(prefix), n)

        plan = await migrate.plan(source, target, query=query_for(prefix), strategy="restart",
                                  workflows=[orders.OrderWorkflow])
        pv = plan.preview
        assert list(pv.columns[:5]) == ["workflow_id", "status", "action", "reexecutes", "reason"]
        assert sorted(pv.workflow_id) == sorted(ids)
        assert set(pv.action) == {"restart"} and set(pv.status) == {"running"}
        assert all(r == [] for r in pv.reexecutes)
        assert set(pv.task_queue) == {task_queue}

        # a dry run reads and changes nothing
        ck = tmp_path / "migration.jsonl"
        dry = await plan.run(checkpoint=ck, dry_run=True, progress=False)
        assert (dry.stats.total, dry.stats.successful, dry.stats.failed) == (n, n, 0)
        assert not ck.exists()
        for wid in ids:
            with pytest.raises(wfkit.WorkflowNotFound):
                await target.handle(wid).describe()
            assert (await source.handle(wid).describe()).status == "running"

        # a routed handle that waits on the source follows its workflow to the target
        router = Router({"source": source, "target": target})
        follower = asyncio.ensure_future(router.handle(ids[0]).result(timeout=90, result_type=orders.OrderResult))

        report = await plan.run(checkpoint=ck, batch_size=5, progress=False)
        assert report.stats == migrate.MigrationStats(total=n, successful=n, failed=0, skipped=0), report.frame
        assert list(report.frame.columns[:6]) == ["workflow_id", "workflow_type", "action", "status", "outcome",
                                                 "error"]
        assert report.frame["target_run_id"].notna().all()
        assert (report.frame["duration"] > report.frame["duration"].iloc[0] * 0).all()
        steps = [json.loads(line) for line in ck.read_text().splitlines()]
        assert steps[0]["wfkit_migration"] == 1
        assert {s["wf"] for s in steps if s.get("step") == "done"} == set(ids)

        for i, wid in enumerate(ids):
            if i % 4 == 1:  # signals sent after the move reach the copy
                await router.handle(wid).signal("cancel_order", "changed my mind")
        results = await asyncio.gather(*(router.handle(wid).result(timeout=90, result_type=orders.OrderResult)
                                         for wid in ids))
        assert (await follower) == results[0]

    for i, (wid, r) in enumerate(zip(ids, results, strict=True)):
        assert isinstance(r, orders.OrderResult)
        assert r.status == expected_status(i), (wid, r)
        assert r.order_id == f"o{i}"
        if r.status == "confirmed":
            assert (r.payment_id, r.shipment_id) == (f"pay-o{i}", f"ship-o{i}")
        # the source was terminated, naming the target
        src = await source.handle(wid).describe()
        assert src.status == "terminated"
        with pytest.raises(wfkit.WorkflowFailed) as info:
            await source.handle(wid).result(timeout=10)
        reason = str(info.value.cause)
        assert reason.startswith(MIGRATION_REASON_PREFIX) and target.engine in reason and target.address in reason
        # one run on the target, with the memo and tags of the source and where it came from
        tex = await target.handle(wid).describe()
        assert tex.memo["batch"] == 7 and tex.tags == ("migration-test",)
        mark = tex.memo[migrate.MIGRATION_MEMO_KEY]
        assert mark["source"]["engine"] == source.engine and mark["mode"] == "state"
        assert len(await runs_of(target, wid)) == 1

    # idempotent: the same plan again, a new plan, a run without checkpoint
    again = await plan.run(checkpoint=ck, progress=False)
    assert (again.stats.total, again.stats.successful, again.stats.skipped) == (n, 0, n)
    assert set(again.frame.outcome) == {"already migrated (checkpoint)"}
    no_ck = await plan.run(checkpoint=None, progress=False)
    assert (no_ck.stats.successful, no_ck.stats.failed, no_ck.stats.skipped) == (0, 0, n)
    fresh = await migrate.plan(source, target, query=query_for(prefix))
    assert len(fresh.preview) == 0
    for wid in ids:
        assert len(await runs_of(target, wid)) == 1


async def test_signals_after_the_state_are_forwarded(direction, task_queue, prefix, tmp_path):
    source, target = direction
    ids = [f"{prefix}{i}" for i in range(4)]
    async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
            target.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        for wid in ids:
            h = await source.start(mw.Cart, mw.CartState(wid, ["apple"]), id=wid, task_queue=task_queue)
            await h.signal("add", "pear")
        for wid in ids:
            h = source.handle(wid)

            async def has_pear(h=h) -> bool:
                try:
                    return await h.query("items", timeout=5) == ["apple", "pear"]
                except wfkit.QueryFailed:
                    return False

            from wfkit.testing import eventually

            await eventually(has_pear)
        await wait_listed(source, query_for(prefix), len(ids))
        plan = await migrate.plan(source, target, query=query_for(prefix), workflows=[mw.Cart])
        assert set(plan.preview.action) == {"restart"}

        async def signal_late(wid: str) -> None:  # arrives on the source after its state was taken
            await source.handle(wid).signal("add", f"late-{wid}")
            if wid == ids[0]:
                await source.handle(wid).signal("add", "later")

        plan._hooks["state"] = signal_late
        report = await plan.run(checkpoint=tmp_path / "ck.jsonl", progress=False)
        assert report.stats.successful == len(ids) and report.stats.failed == 0, report.frame
        forwarded = dict(zip(report.frame.workflow_id, report.frame.signals_forwarded, strict=True))
        assert forwarded == {wid: (2 if wid == ids[0] else 1) for wid in ids}

        router = Router({"s": source, "t": target})
        for wid in ids:
            await router.handle(wid).signal("checkout")
        results = {wid: await router.handle(wid).result(timeout=60) for wid in ids}
    for wid in ids:
        extra = ["later"] if wid == ids[0] else []
        assert results[wid] == {"customer": wid, "items": ["apple", "pear", f"late-{wid}", *extra],
                                "total": 10 * (3 + len(extra))}
        assert (await target.handle(wid).describe()).status == "completed"


async def test_restart_from_input_forwards_pending_signals(direction, task_queue, prefix, tmp_path):
    """Without a migration state (Ledger), or with the source's workers gone (the sagas' state cannot be
    asked), a restart begins again from the input: only with allow_reexecution=True, and every signal the
    source received — processed or still pending — follows, in order."""
    source, target = direction
    ledgers = [f"{prefix}ledger-{i}" for i in range(3)]
    sagas = [f"{prefix}saga-{i}" for i in range(4)]
    worker = source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES)
    async with worker:
        for i, wid in enumerate(ledgers):
            await source.start(mw.Ledger, f"book-{i}", 100 * i, id=wid, task_queue=task_queue)
        for i, wid in enumerate(sagas):
            await source.start(orders.OrderWorkflow, order_for(4 * i), id=wid, task_queue=task_queue)
        for wid in ledgers:
            await source.handle(wid).signal("post", "rent", 5)
        await asyncio.gather(*(wait_status(source.handle(w), "in review") for w in sagas))

        from wfkit.testing import eventually

        async def stamped(wid: str) -> bool:
            acts = (await source.handle(wid).history()).activities()
            return bool((acts["status"] == "completed").any())

        for wid in ledgers:
            await eventually(lambda wid=wid: stamped(wid))
    # the source's workers are gone: these signals stay pending there
    for wid in ledgers:
        await source.handle(wid).signal("post", "food", 7)
    for wid in sagas[:2]:
        await source.handle(wid).signal("cancel_order", "while nobody served it")
    await wait_listed(source, query_for(prefix), len(ledgers) + len(sagas))

    blocked = await migrate.plan(source, target, query=query_for(prefix), workflows=[mw.Ledger])
    pv = blocked.preview.set_index("workflow_id")
    assert set(pv.action) == {"blocked"}
    for wid in ledgers:
        assert pv.at[wid, "reexecutes"] == ["stamp"]
        assert "no @wfkit.migration_state" in pv.at[wid, "reason"]
        assert "allow_reexecution=True" in pv.at[wid, "reason"]
    for wid in sagas:
        assert pv.at[wid, "reexecutes"] == ["validate_order"]
        assert "no worker answered" in pv.at[wid, "reason"]
    report = await blocked.run(checkpoint=tmp_path / "blocked.jsonl", progress=False)
    assert (report.stats.skipped, report.stats.successful) == (len(ledgers) + len(sagas), 0)

    plan = await migrate.plan(source, target, query=query_for(prefix), allow_reexecution=True,
                              workflows=[mw.Ledger])
    assert set(plan.preview.action) == {"restart_from_input"}
    report = await plan.run(checkpoint=tmp_path / "ck.jsonl", progress=False)
    assert report.stats.successful == len(ledgers) + len(sagas), report.frame
    forwarded = dict(zip(report.frame.workflow_id, report.frame.signals_forwarded, strict=True))
    assert all(forwarded[w] == 2 for w in ledgers)
    assert [forwarded[w] for w in sagas] == [1, 1, 0, 0]

    async with target.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        for wid in ledgers:
            await target.handle(wid).signal("close")
        for i, wid in enumerate(ledgers):
            r = await target.handle(wid).result(timeout=60)
            assert r == {"label": f"book-{i}", "opening": 100 * i, "first": f"stamped book-{i}",
                         "entries": ["rent:5", "food:7"]}
        for i, wid in enumerate(sagas):
            r = await target.handle(wid).result(timeout=60, result_type=orders.OrderResult)
            assert r.status == ("cancelled" if i < 2 else "confirmed"), r
    for wid in ledgers + sagas:
        assert (await target.handle(wid).describe()).memo[migrate.MIGRATION_MEMO_KEY]["mode"] == "input"


async def test_plan_rejects_bad_arguments(cadence, temporal):
    with pytest.raises(wfkit.WfkitError, match="strategy"):
        await migrate.plan(cadence, temporal, strategy="teleport")
    with pytest.raises(wfkit.WfkitError, match="same client"):
        await migrate.plan(cadence, cadence)


def test_sync_twins(cadence, temporal, prefix, tmp_path):
    plan = migrate.sync.plan(cadence, temporal, query=query_for(prefix))
    assert len(plan.preview) == 0 and "MigrationPlan" in repr(plan)
    report = plan.sync.run(checkpoint=tmp_path / "x.jsonl", progress=False)
    assert report.stats == migrate.MigrationStats()
    assert "0 total" in repr(report) and "<table" in report._repr_html_()


async def test_checkpoint_of_another_migration_is_refused(cadence, temporal, prefix, tmp_path):
    ck = tmp_path / "ck.jsonl"
    forward = await migrate.plan(cadence, temporal, query=query_for(prefix))
    await forward.run(checkpoint=ck, progress=False)
    assert json.loads(ck.read_text().splitlines()[0])["source"] == cadence.url
    backward = await migrate.plan(temporal, cadence, query=query_for(prefix))
    with pytest.raises(wfkit.WfkitError, match="belongs to another migration"):
        await backward.run(checkpoint=ck, progress=False)
    ck.write_text(ck.read_text() + '{"t": "torn')  # a crash mid-line: ignored
    assert (await forward.run(checkpoint=ck, progress=False)).stats.total == 0
    with pytest.raises(wfkit.WfkitError, match="batch_size"):
        await forward.run(batch_size=0)


async def test_reused_workflow_id_is_migrated_again(direction, task_queue, prefix, tmp_path):
    """A workflow ID migrated once, then reused for a new run on the source, is migrated again with the same
    checkpoint: its records are per source run (the 'done' of the first run used to skip the new one, which
    stayed on the source while the run exited 0)."""
    source, target = direction
    wid, ck = f"{prefix}cart", tmp_path / "ck.jsonl"
    running = f"ExecutionStatus='Running' AND ({query_for(prefix)})"
    async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
            target.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        await source.start(mw.Cart, mw.CartState("ada"), id=wid, task_queue=task_queue)
        await wait_listed(source, query_for(prefix), 1)
        plan = await migrate.plan(source, target, query=query_for(prefix), workflows=[mw.Cart])
        assert (await plan.run(checkpoint=ck, progress=False)).stats.successful == 1
        await target.handle(wid).signal("checkout")
        await target.handle(wid).result(timeout=30)

        second = await source.start(mw.Cart, mw.CartState("bob"), id=wid, task_queue=task_queue)

        async def listed() -> bool:
            return [e.run_id for e in await source.list(running, limit=None)] == [second.run_id]

        await eventually(listed, timeout=30)
        again = await migrate.plan(source, target, query=query_for(prefix), workflows=[mw.Cart])
        assert list(again.preview.action) == ["restart"]
        report = await again.run(checkpoint=ck, progress=False)
        assert (report.stats.successful, report.stats.skipped) == (1, 0), report.frame
        assert report.frame["source_run_id"].tolist() == [second.run_id]
        copy = await target.handle(wid).describe()
        assert copy.status == "running" and copy.memo[migrate.MIGRATION_MEMO_KEY]["source_run_id"] == second.run_id
        assert (await source.handle(wid, second.run_id).describe()).status == "terminated"
        await target.handle(wid).signal("checkout")
        assert (await target.handle(wid).result(timeout=30))["customer"] == "bob"
