"""Benchmark of migration as a durable job on an engine (issue 16, item 2): ``plan.run(on=temporal, ...)`` with
its batches run by 1 and by 2 ``wfkit worker migrate`` processes, against the in-process ``plan.run()`` measured
in the same run, and a kill run (one of 2 worker processes SIGKILLed mid-run).

For each run, N carts (``BenchCart``: open, restarted from their ``@wfkit.migration_state``) are started on an
embedded Cadence server and migrated Cadence → Temporal; the job runs on the Temporal server. The workers that
answer the carts' state query (on Cadence) and run their copies (on Temporal) live in this process, the same for
every run; the job's worker processes only connect to both servers. The in-process baseline migrates as many
workflows at once as the job has under way (``batch_size x parallel``). Timed: from ``plan.run`` to the job's end
(the plan's preview is built before, and reported apart). Checked after each run: 0 lost (every source run
terminated, exactly one copy of ours running on the target) and 0 duplicated (one run per workflow ID on the
target).

Run: ``python benchmarks/migrate_job.py [--workflows 2000] [--batch-size 10] [--parallel 6]
[--max-concurrent-batches 3] [--no-inprocess] [--no-kill]``. One worker process runs at most
``max-concurrent-batches`` batches at once, two run all ``parallel`` of them.

Figures (2-vCPU VM shared with other engineers' test runs — load average 6 to 10 throughout; both servers, the
carts' workers and the job's worker processes on the same 2 cores; batch 10, 6 batches under way, at most 3 per
worker process; the in-process run has 60 workflows under way, one worker process 30, two 60):

    run          n      run s   wf/s  vs 1 worker  vs in-process  lost  dup  load
    in-process   2000   158.7   12.6  0.89x        1.00x          0     0    10.4
    1 worker     2000   140.8   14.2  1.00x        1.13x          0     0     8.7
    2 workers    2000   127.5   15.7  1.10x        1.24x          0     0     7.9
    kill         2000   177.4   11.3  0.79x        0.89x          0     0     7.9   (one of 2 SIGKILLed at 680 done)

    in-process    400    15.0   26.7  1.58x        1.00x          0     0     5.6
    1 worker      400    23.6   16.9  1.00x        0.63x          0     0     5.5
    2 workers     400    16.5   24.2  1.43x        0.91x          0     0     6.1
    kill          400    23.8   16.8  0.99x        0.63x          0     0     6.0   (one of 2 SIGKILLed at 160 done)

    cores used during the 400 runs: the two servers 0.9-1.2, the carts' workers 0.1-0.2 (0.6 in-process, which
    also migrates), the job's worker processes 0.46 (one) and 0.75 (two). The machine is the bound: with the
    servers taking a core and other jobs running, a second worker process adds capacity (workflows under way)
    more than CPU; the job costs the servers about 20 ms of CPU per workflow more than the in-process run (the
    job's workflow tasks, activity tasks and heartbeats).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from migration import BenchCart, CartState, total  # noqa: E402 - the carts of the in-process migration benchmark

import wfkit
from wfkit import migrate

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


async def bounded(fn, items, limit: int = 32) -> list:
    sem = asyncio.Semaphore(limit)

    async def one(x):
        async with sem:
            return await fn(x)

    return list(await asyncio.gather(*(one(x) for x in items)))


async def start_carts(client, n: int, prefix: str, task_queue: str) -> list[str]:
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    await bounded(lambda wid: client.start(BenchCart, CartState(wid, ["apple"]), id=wid, task_queue=task_queue), ids)
    query = f"ExecutionStatus='Running' AND WorkflowId STARTS_WITH '{prefix}'"
    deadline = time.monotonic() + 300
    while len(await client.list(query, limit=None)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} carts did not show up as running")
        await asyncio.sleep(0.5)
    from wfkit._definitions import MIGRATION_STATE_QUERY

    for wid in (ids[0], ids[-1]):  # their first workflow tasks done: a state to take
        while True:
            try:
                await client.handle(wid).query(MIGRATION_STATE_QUERY, timeout=10)
                break
            except wfkit.QueryFailed:
                await asyncio.sleep(0.5)
    return ids


async def lost_and_duplicated(source, target, ids: list[str]) -> tuple[int, int]:
    async def one(wid: str) -> tuple[int, int]:
        src = await source.handle(wid).describe()
        runs = await target.list(f"WorkflowId='{wid}'", limit=None)
        try:
            tex = await target.handle(wid).describe()
        except wfkit.WorkflowNotFound:
            return 1, 0
        ours = (tex.memo.get(migrate.MIGRATION_MEMO_KEY) or {}).get("source_run_id") == src.run_id
        lost = int(src.status != "terminated" or not ours or tex.status != "running")
        return lost, int(len(runs) > 1)

    found = await bounded(one, ids, 16)
    return sum(a for a, _ in found), sum(b for _, b in found)


def spawn_workers(k: int, on_url: str, queue: str, max_batches: int) -> list[subprocess.Popen]:
    argv = [sys.executable, "-m", "wfkit.cli", "worker", "migrate", "--on", on_url, "--task-queue", queue,
            "--max-concurrent-batches", str(max_batches)]
    procs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(k)]
    for p in procs:  # each says when it serves
        line = p.stdout.readline() if p.stdout else ""
        if "serving" not in line:
            raise RuntimeError(f"worker did not start: {line}")
    return procs


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process and its waited-for children used so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


async def one_run(kind: str, cadence, temporal, n: int, tq: str, args, server_pids: list[int]) -> dict:
    prefix = f"job-{kind}-{uuid.uuid4().hex[:6]}-"
    ids = await start_carts(cadence, n, prefix, tq)
    t0 = time.monotonic()
    for _ in range(3):  # a loaded machine can leave a state query unanswered: the plan then blocks the type
        plan = await migrate.plan(cadence, temporal, query=f"WorkflowId STARTS_WITH '{prefix}'",
                                  workflows=[BenchCart])
        actions = set(plan.preview["action"])
        if actions == {"restart"} and len(plan.preview) == n:
            break
        print(f"  the plan is not {n} restarts ({len(plan.preview)}: {actions}); planning again", flush=True)
    else:
        raise RuntimeError("no plan of n restarts")
    planned = time.monotonic() - t0
    load0 = os.getloadavg()[0]
    killed = None
    cpu0 = {"servers": sum(cpu_seconds(p) for p in server_pids), "this process": time.process_time()}
    worker_cpu = 0.0
    if kind == "in-process":
        t0 = time.monotonic()
        # as many workflows at once as the job has under way (batch size x parallel batches)
        report = await plan.run(batch_size=args.batch_size * args.parallel, checkpoint=None, progress=False)
        elapsed = time.monotonic() - t0
        counts = (report.stats.successful, report.stats.failed, report.stats.skipped)
    else:
        workers = 1 if kind == "1 worker" else 2
        queue = f"jobs-{uuid.uuid4().hex[:8]}"
        procs = await asyncio.to_thread(spawn_workers, workers, temporal.url, queue, args.max_concurrent_batches)
        try:
            t0 = time.monotonic()
            job = await plan.run(on=temporal, task_queue=queue, batch_size=args.batch_size, parallel=args.parallel,
                                 heartbeat_timeout=5, job_id=f"bench-{prefix}")
            if kind == "kill":
                while True:
                    p = await job.progress()
                    if p.done >= n // 3 and p.in_flight >= 2:
                        break
                    await asyncio.sleep(0.2)
                os.kill(procs[0].pid, signal.SIGKILL)
                killed = p.done
            p = await job.wait(progress=False)
            elapsed = time.monotonic() - t0
            counts = (p.successful, p.failed, p.skipped)
            worker_cpu = sum(cpu_seconds(pr.pid) for pr in procs)  # (the killed one's is lost)
        finally:
            await asyncio.to_thread(stop_workers, procs)
    load1 = os.getloadavg()[0]
    cpu = {"servers": sum(cpu_seconds(p) for p in server_pids) - cpu0["servers"],
           "this process": time.process_time() - cpu0["this process"], "job workers": worker_cpu}
    lost, dup = await lost_and_duplicated(cadence, temporal, ids)
    return {"kind": kind, "n": n, "plan_s": planned, "run_s": elapsed, "rate": n / elapsed, "counts": counts,
            "lost": lost, "dup": dup, "load": (load0 + load1) / 2, "killed_at": killed,
            "cpu": ", ".join(f"{k} {v / elapsed:.2f}" for k, v in cpu.items())}


async def main(args) -> None:
    from wfkit.devserver import start

    cserver = start("cadence")
    tserver = start("temporal")
    try:
        cadence = await wfkit.connect(cserver.url)
        temporal = await wfkit.connect(tserver.url)
        tq = f"bench-{uuid.uuid4().hex[:8]}"
        ws = [c.worker(task_queue=tq, workflows=[BenchCart], activities=[total],
                       max_concurrent_workflow_tasks=64).start() for c in (cadence, temporal)]
        kinds = (["in-process"] if args.inprocess else []) + ["1 worker", "2 workers"] + (["kill"] if args.kill else [])
        results = []
        for kind in kinds:
            r = await one_run(kind, cadence, temporal, args.workflows, tq, args, [cserver.pid, tserver.pid])
            results.append(r)
            print(f"  {kind:11s} {r['n']} workflows: plan {r['plan_s']:.1f} s, run {r['run_s']:.1f} s, "
                  f"{r['rate']:.1f} wf/s, (successful, failed, skipped) {r['counts']}, lost {r['lost']}, "
                  f"duplicated {r['dup']}, load {r['load']:.2f}"
                  + (f", killed after {r['killed_at']} done" if r["killed_at"] is not None else "")
                  + f"; cores used: {r['cpu']}", flush=True)
        for w in ws:
            w.stop()
        await cadence.close()
        await temporal.close()
    finally:
        cserver.stop()
        tserver.stop()
    by = {r["kind"]: r for r in results}
    print(f"\nCadence -> Temporal, job on Temporal, batch {args.batch_size}, parallel {args.parallel}, "
          f"{args.max_concurrent_batches} batches per worker process, {os.cpu_count()} cores")
    print(f"{'run':12s} {'n':>6s} {'run s':>8s} {'wf/s':>7s} {'vs 1 worker':>12s} {'vs in-process':>14s} "
          f"{'lost':>5s} {'dup':>4s} {'load':>5s}")
    for r in results:
        one = by["1 worker"]["rate"]
        base = by["in-process"]["rate"] if "in-process" in by else None
        print(f"{r['kind']:12s} {r['n']:6d} {r['run_s']:8.1f} {r['rate']:7.1f} {r['rate'] / one:11.2f}x "
              + (f"{r['rate'] / base:13.2f}x" if base else f"{'-':>14s}")
              + f" {r['lost']:5d} {r['dup']:4d} {r['load']:5.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workflows", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--parallel", type=int, default=6)
    ap.add_argument("--max-concurrent-batches", type=int, default=3)
    ap.add_argument("--no-inprocess", dest="inprocess", action="store_false")
    ap.add_argument("--no-kill", dest="kill", action="store_false")
    asyncio.run(main(ap.parse_args()))
