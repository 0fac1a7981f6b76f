"""1,000 histories → one frame: ``client.fetch_histories(concurrency=16)`` against a sequential loop.

Runs N short workflows on an embedded Temporal dev server, then fetches all their histories twice — one at a
time (``await handle.history()`` in a loop) and with wfkit's bounded concurrency — and frames them with
``wfkit.histories_frame``. Prints both times and the ratio (goal >= 2x on a 2-core machine).

    .venv/bin/python benchmarks/histories_fetch.py [--n 1000] [--concurrency 16] [--engine temporal|cadence]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import wfkit


@wfkit.activity
async def step(i: int) -> int:
    return i + 1


@wfkit.workflow
class Short:
    @wfkit.run
    async def run(self, i: int) -> int:
        return await wfkit.execute_activity(step, i, start_to_close_timeout=10)


async def main(n: int, concurrency: int, engine: str) -> None:
    async with await wfkit.connect(f"{engine}+dev://") as client:
        tq = f"hist-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        async with client.worker(task_queue=tq, workflows=[Short], activities=[step]):
            handles = []
            for chunk in range(0, n, 100):
                handles += await asyncio.gather(*(client.start(Short, i, task_queue=tq)
                                                  for i in range(chunk, min(n, chunk + 100))))
            await asyncio.gather(*(h.result(timeout=300) for h in handles))
        print(f"{engine}: ran {n} workflows in {time.perf_counter() - t0:.1f} s")
        ids = [(h.workflow_id, h.run_id) for h in handles]

        t = time.perf_counter()
        seq = [await client.handle(w, r).history() for w, r in ids]
        seq_frame = wfkit.histories_frame(seq)
        t_seq = time.perf_counter() - t

        t = time.perf_counter()
        conc = await client.fetch_histories(ids, concurrency=concurrency, progress=False)
        conc_frame = wfkit.histories_frame(conc)
        t_conc = time.perf_counter() - t
    assert len(seq_frame) == len(conc_frame)
    print(f"{n} histories ({len(conc_frame)} events) -> one frame")
    print(f"  sequential loop          : {t_seq:6.2f} s ({n / t_seq:6.0f} histories/s)")
    print(f"  fetch_histories(conc={concurrency:<3}): {t_conc:6.2f} s ({n / t_conc:6.0f} histories/s)")
    print(f"  ratio sequential / concurrent: {t_seq / t_conc:.2f}x (goal >= 2x)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--engine", default="temporal", choices=["temporal", "cadence"])
    a = ap.parse_args()
    asyncio.run(main(a.n, a.concurrency, a.engine))
