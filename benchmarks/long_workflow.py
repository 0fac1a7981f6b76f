"""A long sequential workflow (one activity after another) on Cadence with the sticky cache on, the same workflow on
Temporal, and on Cadence with the cache off (every decision task replays the whole history), in the same run.
Prints the seconds each block of steps took (from the server's ActivityTaskCompleted times), the last block vs
the first (flat means linear time; the goal is <= 1.3), and the totals vs Temporal (goal: Cadence <= 1.5x).

    .venv/bin/python benchmarks/long_workflow.py [--steps 1000] [--block 50] [--baseline-steps 300]

``--baseline-steps 0`` skips the cache-off run (it grows quadratically: 1,000 steps take many minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

import wfkit
from wfkit.testing import WorkflowEnvironment
from wfkit.testing.conformance import workflows as w


@wfkit.workflow
class Sequential:
    @wfkit.run
    async def run(self, steps: int) -> int:
        for i in range(steps):
            await wfkit.execute_activity(w.echo, i, start_to_close_timeout=60)
        return steps


async def measure(env: WorkflowEnvironment, steps: int, block: int, **worker_options: Any) -> dict[str, Any]:
    q = f"long-{uuid.uuid4().hex[:8]}"
    async with env.worker(task_queue=q, workflows=[Sequential], activities=[w.echo], **worker_options) as worker:
        t0 = time.perf_counter()
        h = await env.client.start(Sequential, steps, task_queue=q, execution_timeout=3 * 3600)
        await h.result(timeout=3 * 3600)
        total = time.perf_counter() - t0
        cache = getattr(getattr(worker, "_engine_worker", None), "cache", None)
        stats = dict(cache.stats) if cache is not None else None
    events = (await h.history()).events
    start = events[0].time
    done = [e.time for e in events if e.event_type == "ActivityTaskCompleted"]
    marks = [start] + [done[i - 1] for i in range(block, len(done) + 1, block)]
    blocks = [(b - a).total_seconds() for a, b in zip(marks, marks[1:], strict=False)]
    # the worker's own share: workflow task started -> completed (the server's times), median per block
    decide = [(b.time - a.time).total_seconds() * 1000 for a, b in zip(events, events[1:], strict=False)
              if a.event_type == "WorkflowTaskStarted" and b.event_type == "WorkflowTaskCompleted"]
    decide_blocks = [statistics.median(decide[i:i + block]) for i in range(0, len(decide) - block + 1, block)]
    return {"total": total, "blocks": blocks, "events": len(events), "stats": stats, "decide": decide_blocks}


def report(name: str, r: dict[str, Any], block: int) -> None:
    b = r["blocks"]
    print(f"\n{name}: {r['total']:.1f} s in all, {r['events']} events"
          + (f", cache {r['stats']}" if r["stats"] else ""), flush=True)
    print(f"  seconds per {block} steps: " + " ".join(f"{x:.2f}" for x in b))
    if b:
        print(f"  last {block} / first {block}: {b[-1] / b[0]:.2f}x   (mean {sum(b) / len(b):.2f} s)")
    d = r["decide"]
    if d:
        print(f"  workflow task started->completed, median ms per {block}: " + " ".join(f"{x:.0f}" for x in d)
              + f"   (last/first {d[-1] / d[0]:.2f}x)")


async def main(steps: int, block: int, baseline_steps: int) -> None:
    load = os.getloadavg()
    print(f"{steps} sequential activities, blocks of {block}; load average before: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    async with WorkflowEnvironment("cadence") as env:
        sticky = await measure(env, steps, block)
        report("Cadence, sticky cache on", sticky, block)
        off = await measure(env, baseline_steps, block, max_cached_workflows=0) if baseline_steps else None
        if off is not None:
            report(f"Cadence, cache off (baseline, {baseline_steps} steps)", off, block)
    async with WorkflowEnvironment("temporal") as env:
        temporal = await measure(env, steps, block)
    report("Temporal", temporal, block)
    print("\nratios")
    b = sticky["blocks"]
    if b:
        print(f"  Cadence sticky, last/first block: {b[-1] / b[0]:.2f}x  (goal <= 1.3)")
    print(f"  Cadence sticky total / Temporal total: {sticky['total'] / temporal['total']:.2f}x  (goal <= 1.5)")
    if off is not None and off["blocks"]:
        n = len(off["blocks"])
        s_first = sum(b[:n])
        print(f"  Cadence cache off, last/first block: {off['blocks'][-1] / off['blocks'][0]:.2f}x; its first "
              f"{baseline_steps} steps {sum(off['blocks']):.1f} s vs {s_first:.1f} s with the cache "
              f"({sum(off['blocks']) / s_first:.2f}x)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--block", type=int, default=50)
    p.add_argument("--baseline-steps", type=int, default=300)
    a = p.parse_args()
    asyncio.run(main(a.steps, a.block, a.baseline_steps))
