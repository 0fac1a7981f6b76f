"""N short histories -> a Parquet dataset (``client.export_histories``) against the in-memory path
(``client.histories``, one frame) in the same run.

Runs N short workflows (one activity each) on an embedded dev server, then, each in a fresh process so that
peak RSS is its own: (a) ``client.sync.export_histories(query, dir)`` and (b) ``client.sync.histories(query,
limit=None)``. Prints histories/s of both, their ratio, and each process's peak RSS (goal for the export:
<= 300 MB at 10,000 histories; its memory is bounded by ``max_buffered_rows``, not by N), and checks that the
dataset read back has the in-memory frame's rows.

    .venv/bin/python benchmarks/export_parquet.py [--n 10000] [--engine temporal|cadence] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from histories_fetch import Short, step  # noqa: E402 - the same short workflow (one activity)

import wfkit  # noqa: E402

CHILD = r"""
import json, resource, sys, time
import wfkit
url, query, mode, out, concurrency = sys.argv[1:6]
client = wfkit.connect_sync(url)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
if mode == "export":
    r = client.sync.export_histories(query, out, partition_by="date", concurrency=int(concurrency), progress=False)
    n, rows, files = r.written, r.events, r.files
else:
    frame = client.sync.histories(query, limit=None, concurrency=int(concurrency), progress=False)
    n, rows, files = frame[["workflow_id", "run_id"]].drop_duplicates().shape[0], len(frame), 0
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
client.sync.close()
print(json.dumps({"n": n, "rows": rows, "files": files, "seconds": seconds, "peak_mb": peak, "before_mb": before}))
"""


async def make_runs(url: str, n: int, prefix: str) -> str:
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    async with await wfkit.connect(url) as client:
        tq = f"exp-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        async with client.worker(task_queue=tq, workflows=[Short], activities=[step]):
            for chunk in range(0, n, 200):
                handles = await asyncio.gather(*(client.start(Short, i, id=f"{prefix}{i:06d}", task_queue=tq)
                                                 for i in range(chunk, min(n, chunk + 200))))
                await asyncio.gather(*(h.result(timeout=600) for h in handles))
        print(f"ran {n} workflows in {time.perf_counter() - t0:.1f} s", flush=True)
        deadline = time.monotonic() + 120
        while len(await client.list(query, limit=None)) < n:
            if time.monotonic() > deadline:
                raise SystemExit("visibility did not list every run within 120 s")
            await asyncio.sleep(1)
    return query


def child(url: str, query: str, mode: str, out: str, concurrency: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, url, query, mode, out, str(concurrency)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{mode} process failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--engine", default="temporal", choices=["temporal", "cadence"])
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--url", default=None, help="an already running server (default: start the engine's dev server)")
    a = ap.parse_args()
    server = None
    url = a.url
    if url is None:
        from wfkit import devserver

        server = devserver.start(a.engine)
        url = server.url
    try:
        prefix = f"exp-{uuid.uuid4().hex[:8]}-"
        query = asyncio.run(make_runs(url, a.n, prefix))
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "ds")
            exp = child(url, query, "export", out, a.concurrency)
            mem = child(url, query, "memory", out, a.concurrency)
            back = wfkit.read_histories(out, columns=["workflow_id", "run_id", "event_id"])
            size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
        assert exp["n"] == mem["n"] == a.n, (exp, mem)
        assert len(back) == exp["rows"] == mem["rows"], (len(back), exp, mem)
    finally:
        if server is not None:
            server.stop()
    engine = a.engine if a.url is None else url.split(":")[0]
    print(f"{a.n} short histories ({exp['rows']} events) on {engine}, concurrency {a.concurrency}, each path in "
          "a fresh process")
    print(f"  client.histories (in memory)   : {mem['seconds']:7.2f} s {a.n / mem['seconds']:7.0f} histories/s   "
          f"peak RSS {mem['peak_mb']:6.1f} MB (after connect: {mem['before_mb']:.1f} MB)")
    print(f"  export_histories (Parquet)     : {exp['seconds']:7.2f} s {a.n / exp['seconds']:7.0f} histories/s   "
          f"peak RSS {exp['peak_mb']:6.1f} MB (after connect: {exp['before_mb']:.1f} MB)")
    print(f"  dataset: {exp['files']} files, {size / 1e6:.1f} MB; read back: {len(back)} rows (the frame's)")
    print(f"  export speed / in-memory speed : {mem['seconds'] / exp['seconds']:.2f}x")
    print(f"  export peak RSS {exp['peak_mb']:.1f} MB: goal <= 300 MB "
          f"{'met' if exp['peak_mb'] <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
