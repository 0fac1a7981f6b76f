"""What a restart carries to the target besides the state: memo, timeouts, cron schedule and search attributes
(where the target supports them; the preview says when it does not)."""

from __future__ import annotations

import uuid

import wfkit
from wfkit import migrate
from wfkit.testing.conformance import workflows as w

from .conftest import query_for, wait_listed


async def test_restart_carries_timeouts_memo_search_attributes(temporal, cadence, task_queue, prefix):
    wid = f"{prefix}sa"
    customer = f"c-{uuid.uuid4().hex[:6]}"
    async with temporal.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]), \
            cadence.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        await temporal.start(w.Waiter, 1, id=wid, task_queue=task_queue, run_timeout=3600, task_timeout=7,
                             memo={"batch": 3}, search_attributes={"CustomerId": customer})
        await wait_listed(temporal, query_for(prefix), 1)
        plan = await migrate.plan(temporal, cadence, query=query_for(prefix), strategy="restart",
                                  workflows=[w.Waiter], allow_reexecution=True)
        reason = plan.preview["reason"].iloc[0]
        assert "search attributes (CustomerId) stay behind" in reason and "cadence" in reason, reason
        report = await plan.run(checkpoint=None, progress=False)
        assert report.stats.failed == 0, report
        copy = await cadence.handle(wid).describe()
        assert copy.status == "running" and copy.memo["batch"] == 3
        assert copy.run_timeout is not None and copy.run_timeout.total_seconds() == 3600
        assert copy.task_timeout is not None and copy.task_timeout.total_seconds() == 7
        await cadence.handle(wid).terminate("test over")


async def test_restart_carries_cron_and_search_attributes(temporal, cadence, task_queue, prefix):
    wid = f"{prefix}cron"
    async with cadence.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo]):
        await cadence.start(w.Waiter, 1, id=wid, task_queue=task_queue, cron_schedule="*/5 * * * *")
        await wait_listed(cadence, query_for(prefix), 1)
        plan = await migrate.plan(cadence, temporal, query=query_for(prefix), strategy="restart",
                                  workflows=[w.Waiter], allow_reexecution=True)
        assert "stay behind" not in plan.preview["reason"].iloc[0]
        report = await plan.run(checkpoint=None, progress=False)
        assert report.stats.failed == 0, report
    frame = (await temporal.handle(wid).history()).to_dataframe()
    assert frame["attributes"].iloc[0].get("cronSchedule") == "*/5 * * * *"
    await temporal.handle(wid).terminate("test over")
    assert wfkit.Capability.SEARCH_ATTRIBUTES in temporal.capabilities
