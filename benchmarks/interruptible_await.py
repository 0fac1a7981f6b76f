"""The cost of making awaited wfkit calls interruptible (wfkit/_loop.py): awaiting N trivial coroutines on wfkit's
loop from a main-thread loop, with the SIGINT handler installed around each wait (what a notebook cell gets) and
without it (the baseline), in the same run. Prints both rates and the ratio.

    .venv/bin/python benchmarks/interruptible_await.py [--n 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from wfkit import _loop


async def noop() -> None:
    return None


async def plain(n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        await asyncio.wrap_future(_loop.submit(noop()))
    return time.perf_counter() - t


async def interruptible(n: int) -> float:
    loop = asyncio.get_running_loop()
    t = time.perf_counter()
    for _ in range(n):
        await _loop._interruptible(loop, _loop.submit(noop()))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    n = ap.parse_args().n
    loop = asyncio.new_event_loop()  # not asyncio.run: its own SIGINT handling would turn the feature off
    try:
        loop.run_until_complete(plain(200))
        base = loop.run_until_complete(plain(n))
        ours = loop.run_until_complete(interruptible(n))
    finally:
        loop.close()
    print(f"baseline (wrap_future)   {n / base:10.0f} awaits/s  {base / n * 1e6:7.1f} µs each")
    print(f"interruptible            {n / ours:10.0f} awaits/s  {ours / n * 1e6:7.1f} µs each")
    print(f"ratio {ours / base:.2f} (an engine call itself takes ~1 ms)")


if __name__ == "__main__":
    main()
