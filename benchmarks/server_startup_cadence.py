"""Startup time of the real Cadence dev server (v1.4.1, SQLite), median of 5.

Prints four figures:
  * schema setup: the sql tool creating both SQLite databases (setup -v 0.0 + update-schema, main and visibility);
  * describable: server process start -> frontend answers -> domain registered -> DescribeDomain works;
  * ready: the same plus the wait until every service's domain cache can see a just-registered domain
    (Cadence reloads a domain cache at most once a second), i.e. when `start()` returns;
  * total: what `CadenceDevServer.start()` costs on a fresh temporary db (schema + config + ready).

Run: python benchmarks/server_startup_cadence.py [--runs N] [--build]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    from wfkit_cadence import devserver
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "cadence"))
    from wfkit_cadence import devserver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build", action="store_true", help="build the server first if it is not cached")
    args = ap.parse_args()

    _, sqltool = devserver.cadence_binaries(build=args.build)
    source = devserver.cadence_source_dir()

    schema = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="wfkit-bench-") as d:
            t = time.perf_counter()
            devserver.setup_schemas(sqltool, Path(d) / "c.db", Path(d) / "v.db", source, Path(d) / "log")
            schema.append(time.perf_counter() - t)

    describable, server, total = [], [], []
    for i in range(args.runs):
        srv = devserver.CadenceDevServer.start()
        try:
            describable.append(srv.timings["describable"])
            server.append(srv.timings["server"])
            total.append(srv.timings["total"])
        finally:
            srv.stop()
        print(f"run {i + 1}: schema {srv.timings['schema']:.2f} s, describable {srv.timings['describable']:.2f} s, "
              f"ready {srv.timings['server']:.2f} s, total {srv.timings['total']:.2f} s", file=sys.stderr)

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"

    print(f"cadence {devserver.CADENCE_VERSION} schema setup (sql tool, 2 SQLite dbs): {fmt(schema)}")
    print(f"cadence {devserver.CADENCE_VERSION} process start -> domain describable:  {fmt(describable)}")
    print(f"cadence {devserver.CADENCE_VERSION} process start -> ready (start returns): {fmt(server)}")
    print(f"cadence {devserver.CADENCE_VERSION} CadenceDevServer.start() total:        {fmt(total)}")


if __name__ == "__main__":
    main()
