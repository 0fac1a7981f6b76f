"""``strategy="archive"`` (closed workflows to files) and ``strategy="drain"`` (new starts to the target)."""

from __future__ import annotations

import asyncio
import json

import wfkit
from wfkit import migrate
from wfkit.examples import orders
from wfkit.testing import eventually

from .conftest import ALL_ACTIVITIES, ALL_WORKFLOWS, query_for, wait_listed, wait_status


async def test_archive_closed_workflows(direction, task_queue, prefix, tmp_path):
    source, target = direction
    ids = [f"{prefix}{i}" for i in range(5)]
    async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        for i, wid in enumerate(ids):
            items = [orders.Item(orders.OUT_OF_STOCK if i == 4 else "pen")]
            await source.start(orders.OrderWorkflow, orders.Order(f"o{i}", "ada", items, 5.0), id=wid,
                               task_queue=task_queue)
        for wid in ids:
            await source.handle(wid).result(timeout=30)
        running = await source.start(orders.OrderWorkflow, orders.Order("open", "bo", [orders.Item("x")], 1.0,
                                                                        review_seconds=60),
                                     id=f"{prefix}open", task_queue=task_queue)
        await wait_status(running, "in review")
        await wait_listed(source, query_for(prefix), len(ids) + 1, running=False)

        archive = tmp_path / "archive"
        plan = await migrate.plan(source, target, query=query_for(prefix), strategy="archive", archive_dir=archive)
        assert sorted(plan.preview.workflow_id) == sorted(ids)  # the open one is not archived
        assert set(plan.preview.action) == {"archive"} and set(plan.preview.status) == {"completed"}
        dry = await plan.run(dry_run=True, progress=False, checkpoint=tmp_path / "a.jsonl")
        assert dry.stats.successful == len(ids) and not (archive / "manifest.json").exists()

        report = await plan.run(checkpoint=tmp_path / "a.jsonl", progress=False)
        await running.terminate("test over")
    assert report.stats == migrate.MigrationStats(total=len(ids), successful=len(ids))
    manifest = json.loads((archive / "manifest.json").read_text())
    assert manifest["count"] == len(ids) and manifest["verified"] is True
    assert manifest["target_engine"] == target.engine and manifest["source"]["engine"] == source.engine
    assert report.manifest is not None and report.manifest["count"] == len(ids)
    native = sorted((archive / target.engine).glob("*.json"))
    portable = sorted((archive / "wfkit").glob("*.json"))
    assert len(native) == len(portable) == len(ids)
    for entry in manifest["workflows"]:
        n = wfkit.History.from_json(archive / entry["files"][target.engine])
        w = wfkit.History.from_json(archive / entry["files"]["wfkit"])
        src = await source.handle(entry["workflow_id"], entry["run_id"]).history()
        assert len(n) == len(w) == len(src) == entry["events"]
        assert n.engine == target.engine and w.engine == source.engine
        assert n.result() == src.result()
        assert n.source_format != w.source_format

    # the archived histories, in the target's own format, replay on the target with the current code
    replayed = await wfkit_replay([archive / e["files"][target.engine] for e in manifest["workflows"]],
                                  target.engine)
    assert replayed["ok"].all(), replayed

    again = await plan.run(checkpoint=tmp_path / "a.jsonl", progress=False)
    assert (again.stats.skipped, again.stats.successful) == (len(ids), 0)
    assert json.loads((archive / "manifest.json").read_text())["count"] == len(ids)


async def wfkit_replay(paths, engine):
    from wfkit._replay import replay

    return await replay([str(p) for p in paths], workflows=orders.WORKFLOWS, engine=engine)


async def test_drain_routes_new_starts_to_the_target(direction, task_queue, prefix, tmp_path):
    source, target = direction
    old = [f"{prefix}old-{i}" for i in range(3)]
    async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
            target.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        for i, wid in enumerate(old):
            await source.start(orders.OrderWorkflow, orders.Order(f"o{i}", "ada", [orders.Item("pen")], 5.0,
                                                                  review_seconds=4), id=wid, task_queue=task_queue)
        await wait_listed(source, query_for(prefix), len(old))
        plan = await migrate.plan(source, target, query=query_for(prefix), strategy="drain")
        assert set(plan.preview.action) == {"wait"} and sorted(plan.preview.workflow_id) == sorted(old)
        router = plan.router
        assert router is not None and router.default == "target"

        new = await router.start(orders.OrderWorkflow, orders.Order("n", "cy", [orders.Item("pen")], 5.0),
                                 id=f"{prefix}new", task_queue=task_queue)
        assert new.client is target
        report = await plan.run(checkpoint=tmp_path / "d.jsonl", progress=False)
        assert report.stats.pending == len(old) and sorted(report.remaining) == sorted(old)
        # the router still finds the old ones on the source while they finish there
        assert (await router.handle(old[0]).describe()).engine == source.engine
        results = await asyncio.gather(*(router.handle(w).result(timeout=60, result_type=orders.OrderResult)
                                         for w in [*old, f"{prefix}new"]))
        assert all(r.status == "confirmed" for r in results)

        async def none_listed_running() -> bool:  # visibility catches up with the closes eventually
            return not await source.list(f"ExecutionStatus='Running' AND ({query_for(prefix)})", limit=None)

        await eventually(none_listed_running, timeout=30)
        final = await plan.run(checkpoint=tmp_path / "d.jsonl", progress=False)
    assert final.stats.pending == 0 and final.remaining == []
    assert final.stats.successful == len(old)
