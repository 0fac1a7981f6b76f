"""wfkit vs raw temporalio: 200 one-activity workflows each, on the same dev server, in the same run.

Rounds alternate between the two sides (raw, wfkit, raw, wfkit, ...), each round starting ROUND workflows at
once and waiting for all results, with only that side's worker running. Both sides use temporalio's
unsandboxed runner (wfkit's choice), so the difference is wfkit's own layer: definitions, conversions, the hop
to wfkit's loop thread. Prints both rates and the ratio (goal: raw/wfkit time ratio <= 1.05).

    .venv/bin/python benchmarks/adapter_overhead.py [--total 200] [--round 25]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import wfkit
from wfkit.devserver import TemporalDevServer


@activity.defn(name="raw_echo")
async def raw_echo(x: str) -> str:
    return x


@workflow.defn(name="RawOne", sandboxed=False)
class RawOne:
    @workflow.run
    async def run(self, x: str) -> str:
        return await workflow.execute_activity(raw_echo, x, start_to_close_timeout=timedelta(seconds=10))


@wfkit.activity
async def wf_echo(x: str) -> str:
    return x


@wfkit.workflow
class WfOne:
    @wfkit.run
    async def run(self, x: str) -> str:
        return await wfkit.execute_activity(wf_echo, x, start_to_close_timeout=10)


async def raw_round(raw: Client, n: int) -> float:
    tq = f"raw-{uuid.uuid4().hex[:8]}"
    async with Worker(raw, task_queue=tq, workflows=[RawOne], activities=[raw_echo],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        t0 = time.perf_counter()
        hs = await asyncio.gather(*(raw.start_workflow(RawOne.run, f"v{i}", id=f"{tq}-{i}", task_queue=tq)
                                    for i in range(n)))
        results = await asyncio.gather(*(h.result() for h in hs))
        dt = time.perf_counter() - t0
    assert results == [f"v{i}" for i in range(n)]
    return dt


async def wfkit_round(client: wfkit.Client, n: int) -> float:
    tq = f"wfkit-{uuid.uuid4().hex[:8]}"
    async with client.worker(task_queue=tq, workflows=[WfOne], activities=[wf_echo]):
        t0 = time.perf_counter()
        hs = await asyncio.gather(*(client.start(WfOne, f"v{i}", id=f"{tq}-{i}", task_queue=tq) for i in range(n)))
        results = await asyncio.gather(*(h.result() for h in hs))
        dt = time.perf_counter() - t0
    assert results == [f"v{i}" for i in range(n)]
    return dt


async def main(total: int, per_round: int) -> None:
    server = TemporalDevServer.start()
    try:
        raw = await Client.connect(server.address)
        client = await wfkit.connect(server.url)
        await raw_round(raw, 10)          # warm-up, not counted
        await wfkit_round(client, 10)
        raw_t = wf_t = 0.0
        rounds = total // per_round
        for _ in range(rounds):
            raw_t += await raw_round(raw, per_round)
            wf_t += await wfkit_round(client, per_round)
        n = rounds * per_round
        print(f"workflows per side: {n} in {rounds} alternating rounds of {per_round}")
        print(f"raw temporalio : {n / raw_t:7.1f} workflows/s ({raw_t:.2f} s)")
        print(f"wfkit          : {n / wf_t:7.1f} workflows/s ({wf_t:.2f} s)")
        print(f"ratio wfkit time / raw time: {wf_t / raw_t:.3f} (goal <= 1.05)")
        await client.close()
    finally:
        server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--total", type=int, default=200)
    ap.add_argument("--round", type=int, default=25)
    a = ap.parse_args()
    asyncio.run(main(a.total, a.round))
