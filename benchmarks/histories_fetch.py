"""1,000 histories: ``client.fetch_histories(concurrency=16)`` against a sequential loop, and what bounds the ratio.

Runs N short workflows on an embedded dev server, then fetches all their histories one at a time
(``await handle.history()`` in a loop) and with wfkit's bounded concurrency, alternating, ``--rounds`` times
each after a warm-up (so that neither pays the first call's imports). Prints the best time of each, their ratio
(goal >= 3x on a 2-core machine), and, for each path, the CPU seconds this process and the server's process spent
(``psutil``), which say what bounds the concurrent path: a fetch costs client CPU (the SDK's RPC call, protobuf,
``History``) and server CPU, and with C cores shared by both, N fetches take at least
``(client CPU + server CPU) / C`` however many are in flight.

    .venv/bin/python benchmarks/histories_fetch.py [--n 1000] [--concurrency 16] [--engine temporal|cadence]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import psutil

import wfkit


@wfkit.activity
async def step(i: int) -> int:
    return i + 1


@wfkit.workflow
class Short:
    @wfkit.run
    async def run(self, i: int) -> int:
        return await wfkit.execute_activity(step, i, start_to_close_timeout=30)


def _cpu(proc: psutil.Process, children: bool = True) -> float:
    total = 0.0
    for p in [proc, *(proc.children(recursive=True) if children else [])]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


async def main(n: int, concurrency: int, engine: str, rounds: int) -> None:
    from wfkit import devserver

    server = devserver.start(engine)
    server_proc = psutil.Process(server.pid)
    me = psutil.Process()
    try:
        async with await wfkit.connect(server.url) as client:
            tq = f"hist-{uuid.uuid4().hex[:6]}"
            t0 = time.perf_counter()
            async with client.worker(task_queue=tq, workflows=[Short], activities=[step]):
                handles = []
                for chunk in range(0, n, 200):
                    part = await asyncio.gather(*(client.start(Short, i, task_queue=tq)
                                                  for i in range(chunk, min(n, chunk + 200))))
                    await asyncio.gather(*(h.result(timeout=600) for h in part))
                    handles += part
            print(f"{engine}: ran {n} workflows in {time.perf_counter() - t0:.1f} s")
            ids = [(h.workflow_id, h.run_id) for h in handles]
            await asyncio.sleep(2)  # let the server settle after the workers stop

            async def sequential() -> list:
                return [await client.handle(w, r).history() for w, r in ids]

            async def concurrent() -> list:
                return await client.fetch_histories(ids, concurrency=concurrency, progress=False)

            # warm-up: the first calls import the history layer and open the SDK's paths
            await client.fetch_histories(ids[:50], concurrency=concurrency, progress=False)
            for w, r in ids[:20]:
                await client.handle(w, r).history()

            idle_start, t = _cpu(server_proc), time.perf_counter()
            await asyncio.sleep(2)
            idle = (_cpu(server_proc) - idle_start) / (time.perf_counter() - t)

            best: dict[str, tuple[float, float, float]] = {}
            events = 0
            for _ in range(rounds):
                for name, fn in (("sequential", sequential), ("concurrent", concurrent)):
                    s0, c0, t0 = _cpu(server_proc), _cpu(me, children=False), time.perf_counter()
                    hs = await fn()
                    wall = time.perf_counter() - t0
                    server_cpu = _cpu(server_proc) - s0 - idle * wall
                    row = (wall, _cpu(me, children=False) - c0, server_cpu)
                    if name not in best or wall < best[name][0]:
                        best[name] = row
                    events = sum(len(h) for h in hs)
                    frame = wfkit.histories_frame(hs)
                    assert len(frame) == events
    finally:
        server.stop()
    cores = os.cpu_count() or 1
    print(f"{n} histories ({events} events), best of {rounds} rounds each, {cores} cores, "
          f"server idle CPU {idle * 100:.0f}% of a core (subtracted)")
    for name, (wall, ccpu, scpu) in best.items():
        label = "sequential loop" if name == "sequential" else f"fetch_histories(concurrency={concurrency})"
        print(f"  {label:32s}: {wall:6.2f} s ({n / wall:5.0f} histories/s)   client CPU {ccpu:5.2f} s "
              f"({ccpu / n * 1e3:.2f} ms/history)   server CPU {scpu:5.2f} s ({scpu / n * 1e3:.2f} ms/history)")
    (sw, _, _), (cw, ccpu, scpu) = best["sequential"], best["concurrent"]
    floor = (ccpu + scpu) / cores
    print(f"  ratio sequential / concurrent  : {sw / cw:.2f}x (goal >= 3x)")
    print(f"  CPU floor of the concurrent run: (client + server CPU) / {cores} cores = {floor:.2f} s -> at most "
          f"{sw / floor:.2f}x over this sequential loop; the concurrent run took {cw / floor:.2f}x its floor")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--engine", default="temporal", choices=["temporal", "cadence"])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    asyncio.run(main(a.n, a.concurrency, a.engine, a.rounds))
