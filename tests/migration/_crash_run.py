"""Run a restart migration in a process of its own and die in the middle (used by test_crash.py).

    python -m tests.migration._crash_run SOURCE_URL TARGET_URL QUERY CHECKPOINT MODE

MODE ``<step>:<k>`` leaves with ``os._exit`` (no cleanup at all, like a kill) right after the k-th time the
migration passes ``step`` (state, started, terminated, signal); ``slow`` just slows every step down so that the
parent can SIGKILL it at a moment of its choosing. Before each workflow is restarted, a "late" signal is sent
to its source, so every workflow has a signal to forward.
"""

from __future__ import annotations

import asyncio
import os
import sys

import wfkit
from wfkit import migrate


async def main(source_url: str, target_url: str, query: str, checkpoint: str, mode: str) -> None:
    source = await wfkit.connect(source_url)
    target = await wfkit.connect(target_url)
    plan = await migrate.plan(source, target, query=query)
    print(f"planned {len(plan.preview)}", flush=True)
    counts: dict[str, int] = {}
    die_at = None
    if mode != "slow":
        step, k = mode.split(":")
        die_at = (step, int(k))

    def hook(step: str):
        async def fn(wid: str) -> None:
            if step == "state":
                await source.handle(wid).signal("add", "late")
            if mode == "slow":
                await asyncio.sleep(0.15)
            counts[step] = counts.get(step, 0) + 1
            if die_at is not None and die_at == (step, counts[step]):
                print(f"dying after {step} #{counts[step]} ({wid})", flush=True)
                os._exit(17)
        return fn

    for step in ("state", "started", "terminated", "signal"):
        plan._hooks[step] = hook(step)
    report = await plan.run(batch_size=4, checkpoint=checkpoint, progress=False)
    print(f"finished without dying: {report}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
