"""Batch operations: signalling N running workflows through ``client.batch`` (preview, then run) at concurrency 1
and at concurrency 8, against a baseline measured in the same run — one ``handle.signal`` call after another.
Also times ``handle.diagnose()`` against ``handle.describe()`` (its extra calls: task queue and history).

    .venv/bin/python benchmarks/batch_ops.py [--engine temporal|cadence] [--n 40]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import wfkit
from wfkit.testing.conformance import workflows as w


async def main(engine: str, n: int) -> None:
    client = await wfkit.connect(f"{engine}+dev://")
    tq = f"bench-{uuid.uuid4().hex[:6]}"
    prefix = f"bb-{uuid.uuid4().hex[:6]}"
    query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'"
    try:
        async with client.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]):
            hs = [await client.start(w.Waiter, 10_000, id=f"{prefix}-{i}", task_queue=tq) for i in range(n)]
            while len(await client.list(query, limit=None)) < n:
                await asyncio.sleep(0.2)

            t0 = time.perf_counter()
            for h in hs:
                await h.signal("add", "x")
            baseline = time.perf_counter() - t0
            rates = {}
            for conc in (1, 8):
                t0 = time.perf_counter()
                plan = await client.batch("signal", query, signal="add", args=["x"], journal=None, limit=None)
                results = await plan.run(confirm=True, concurrency=conc, progress=False)
                rates[conc] = time.perf_counter() - t0
                assert (results["outcome"] == "done").all()

            t0 = time.perf_counter()
            for h in hs[:10]:
                await h.describe()
            describe = (time.perf_counter() - t0) / 10
            t0 = time.perf_counter()
            for h in hs[:10]:
                await h.diagnose()
            diagnose = (time.perf_counter() - t0) / 10
            for h in hs:
                await h.terminate("bench over")
    finally:
        await client.close()
    print(f"{engine}: {n} running workflows")
    print(f"  baseline, one signal call after another: {baseline:.2f} s ({n / baseline:.0f}/s)")
    for conc, t in rates.items():
        print(f"  batch signal (list + preview + run), concurrency {conc}: {t:.2f} s ({n / t:.0f}/s), "
              f"ratio to baseline {t / baseline:.2f}")
    print(f"  describe {describe * 1000:.1f} ms, diagnose {diagnose * 1000:.1f} ms (ratio {diagnose / describe:.2f})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="temporal")
    ap.add_argument("--n", type=int, default=40)
    a = ap.parse_args()
    asyncio.run(main(a.engine, a.n))
