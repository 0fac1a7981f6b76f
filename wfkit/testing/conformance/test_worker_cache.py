"""A worker's workflow cache (sticky execution): ``max_cached_workflows`` bounds how many runs' state a worker
keeps between workflow tasks, 0 turns it off; whatever its size, runs whose workflow tasks interleave (and so push
each other out of a cache of one) complete as they do with a large cache, and their queries answer."""

from __future__ import annotations

from typing import Any

import pytest

import wfkit
from wfkit.testing import eventually

from . import workflows as w
from ._helpers import query_answers


@pytest.mark.parametrize("size", [0, 1, None], ids=["off", "one", "default"])
async def test_runs_interleave_whatever_the_cache_size(client, task_queue, size):
    options = {} if size is None else {"max_cached_workflows": size}
    async with client.worker(task_queue=task_queue, workflows=[w.Waiter], activities=[w.echo], **options):
        runs = {name: await client.start(w.Waiter, 3, task_queue=task_queue) for name in ("a", "b")}
        for i in range(3):
            for name, h in runs.items():
                await h.signal("add", f"{name}{i}")

                def counted(h: wfkit.WorkflowHandle = h, n: int = i + 1) -> Any:
                    return query_answers(h, "count", n)

                await eventually(counted, timeout=30)
        for name, h in runs.items():
            assert await h.result(timeout=30) == [f"{name}{i}" for i in range(3)]


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
async def test_max_cached_workflows_must_be_a_whole_number(client, task_queue, bad):
    with pytest.raises(wfkit.WfkitError, match="max_cached_workflows"):
        client.worker(task_queue=task_queue, workflows=[w.Waiter], max_cached_workflows=bad)
