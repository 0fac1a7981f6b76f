"""The local engine with time skipping vs the Temporal dev server, in the same run: the conformance workflows
that finish on their own (activities, retries with backoff, a wait_condition timeout, children, continue-as-new,
a 2 s timer), each run ROUNDS times on both, one after another; then a workflow with a 30-day timer on
``local://?time=skip`` alone (on a server it would take 30 days). Prints wall times and the ratio.

    .venv/bin/python benchmarks/local_engine.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from wfkit.testing import WorkflowEnvironment
from wfkit.testing.conformance import workflows as w

CASES: list[tuple[str, Callable[[], tuple[Any, tuple[Any, ...]]]]] = [
    ("Hello", lambda: (w.Hello, ("bench",))),
    ("Values", lambda: (w.Values, (w.Point(1, 2, "p"), w.Money(amount=1.0, currency="EUR"), {"a": [1]}))),
    ("Retrying (2 failures, 1 s backoff)", lambda: (w.Retrying, (2, 3))),
    ("Deterministic (1 s wait_condition timeout)", lambda: (w.Deterministic, ())),
    ("Parent + 2 children", lambda: (w.Parent, (4,))),
    ("Looping (3 continue-as-new)", lambda: (w.Looping, (3, 0))),
    ("Sleeper (2 s timer)", lambda: (w.Sleeper, (2,))),
]


async def run_cases(env: WorkflowEnvironment, rounds: int) -> dict[str, float]:
    out: dict[str, float] = {}
    q = f"bench-{uuid.uuid4().hex[:8]}"
    async with env.worker(task_queue=q, workflows=[*w.ALL_WORKFLOWS, w.Month], activities=w.ALL_ACTIVITIES):
        for name, case in CASES:
            t0 = time.perf_counter()
            for _ in range(rounds):
                cls, args = case()
                h = await env.client.start(cls, *args, task_queue=q)
                await h.result(timeout=120)
            out[name] = (time.perf_counter() - t0) / rounds
    return out


async def main(rounds: int) -> None:
    async with WorkflowEnvironment("local", time_skipping=True) as env:
        local = await run_cases(env, rounds)
        q = f"month-{uuid.uuid4().hex[:8]}"
        async with env.worker(task_queue=q, workflows=[w.Month], activities=[w.echo]):
            t0 = time.perf_counter()
            elapsed = await (await env.client.start(w.Month, task_queue=q)).result(timeout=60)
            month_wall = time.perf_counter() - t0
    t_start = time.perf_counter()
    async with WorkflowEnvironment("temporal") as env:
        server_start = time.perf_counter() - t_start
        server = await run_cases(env, rounds)
    print(f"conformance workflows, mean of {rounds} runs each (seconds)")
    print(f"{'workflow':44} {'local skip':>11} {'temporal':>10} {'ratio':>8}")
    for name, _ in CASES:
        print(f"{name:44} {local[name]:11.4f} {server[name]:10.4f} {server[name] / local[name]:7.1f}x")
    total_l, total_s = sum(local.values()), sum(server.values())
    print(f"{'all':44} {total_l:11.4f} {total_s:10.4f} {total_s / total_l:7.1f}x")
    print(f"Temporal dev server start: {server_start:.2f} s (local://: none)")
    print(f"30-day timer on local://?time=skip: {month_wall * 1000:.1f} ms wall, {elapsed / 86400:.1f} days of "
          "workflow time")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(p.parse_args().rounds))
