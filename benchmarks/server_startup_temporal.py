"""Startup time of the Temporal CLI dev server as wfkit starts it, median of 5.

Two figures: process start -> frontend healthy (``TemporalDevServer.start()``, which asks the CLI's health
check), and the same plus a first ``wfkit.connect`` that describes the namespace (what ``temporal+dev://`` costs).

Run: python benchmarks/server_startup_temporal.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import wfkit
from wfkit_temporal.devserver import TemporalDevServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    port_up, connected = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        server = TemporalDevServer.start()
        port_up.append(time.perf_counter() - t)
        client = wfkit.connect_sync(server.url, connect_timeout=30)
        connected.append(time.perf_counter() - t)
        client.sync.close()
        server.stop()

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"

    print(f"temporal dev server: frontend healthy       {fmt(port_up)}")
    print(f"temporal dev server: + first wfkit.connect {fmt(connected)}")


if __name__ == "__main__":
    main()
