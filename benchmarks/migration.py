"""Benchmark and fault scenarios of ``wfkit.migrate`` (issue 7), on embedded servers with file-backed stores.

Throughput (the default): for each batch size (1, 10, 50), N open workflows (200) of mixed types are started on
Cadence — order sagas in review, carts collecting signals (both restarted from their ``@wfkit.migration_state``),
ledgers without one (restarted from their input, ``allow_reexecution=True``) — with a "late" signal sent to every
fifth after its state was taken, so it must be forwarded. They are migrated Cadence → Temporal, then back
Temporal → Cadence, then finished on Cadence and every result checked. Prints workflows/s of ``plan.run`` for
both directions (goal: >= 20/s).

Faults (``--fault source|target|process|all``): a Cadence → Temporal restart migration of N workflows is hit in
the middle — the source or target server process is SIGKILLed (then started again on the same port and store),
or the process running the migration is SIGKILLed — and the same plan is run again from its checkpoint.
Checked: right after the fault no source is terminated without a running copy; after the rerun nothing is lost
(every workflow runs on the target and finishes with the right result, every signal delivered once) and nothing
is duplicated (one run per workflow ID on the target).

Figures (2-vCPU VM shared with other jobs; both servers, both engines' workers and the migration in one
machine; Temporal in memory, Cadence on SQLite; 200 workflows):

    batch  direction           run s   wf/s
        1  cadence->temporal   15.4    13.0
        1  temporal->cadence   13.5    14.8
       10  cadence->temporal    8.1    24.6
       10  temporal->cadence    8.0    25.0
       50  cadence->temporal    7.4    26.9
       50  temporal->cadence    5.7    34.8

    every result correct, 0 lost, 0 duplicated. ``--fault all`` (file-backed stores): source, target and
    process faults all OK (0 lost, 0 duplicated, 0 sources terminated without a running copy).

Run: ``python benchmarks/migration.py [--workflows 200] [--batch-sizes 1,10,50] [--fault all]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import wfkit
from wfkit import migrate
from wfkit.examples import orders

# --- the workflows --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class CartState:
    customer: str
    items: list[str] = dataclasses.field(default_factory=list)


@wfkit.activity
async def total(items: list[str]) -> int:
    return 10 * len(items)


@wfkit.activity
async def stamp(label: str) -> str:
    return f"stamped {label}"


@wfkit.workflow
class BenchCart:
    def __init__(self) -> None:
        self.state: CartState | None = None
        self.early: list[str] = []
        self.done = False

    @wfkit.run
    async def run(self, state: CartState) -> dict:
        self.state = state
        self.state.items += self.early
        await wfkit.wait_condition(lambda: self.done)
        amount = await wfkit.execute_activity(total, self.state.items, start_to_close_timeout=timedelta(seconds=30))
        return {"items": self.state.items, "total": amount}

    @wfkit.signal
    def add(self, item: str) -> None:
        (self.state.items if self.state is not None else self.early).append(item)

    @wfkit.signal
    def checkout(self) -> None:
        self.done = True

    @wfkit.migration_state
    def snapshot(self) -> CartState | None:
        return self.state


@wfkit.workflow
class BenchLedger:
    def __init__(self) -> None:
        self.entries: list[str] = []
        self.closed = False

    @wfkit.run
    async def run(self, label: str) -> dict:
        first = await wfkit.execute_activity(stamp, label, start_to_close_timeout=timedelta(seconds=30))
        await wfkit.wait_condition(lambda: self.closed)
        return {"first": first, "entries": self.entries}

    @wfkit.signal
    def post(self, entry: str) -> None:
        self.entries.append(entry)

    @wfkit.signal
    def close(self) -> None:
        self.closed = True


WORKFLOWS = [*orders.WORKFLOWS, BenchCart, BenchLedger]
ACTIVITIES = [*orders.ACTIVITIES, total, stamp]


def kind_of(i: int) -> str:
    return ("cart", "cart", "saga", "saga", "ledger")[i % 5]


# --- servers --------------------------------------------------------------------------------------------------

class Servers:
    """Both embedded servers on file-backed stores, restartable on the same port and store."""

    def __init__(self, root: Path, *, durable: bool = True):
        self.root = root
        self.durable = durable  # Temporal in memory when False (Cadence always has its SQLite files)
        self.cadence = self.temporal = None
        self.cport = self.tport = None

    def start(self, which: str = "both") -> None:
        from wfkit.devserver import free_port
        from wfkit_cadence.devserver import CadenceDevServer
        from wfkit_temporal.devserver import TemporalDevServer

        if which in ("both", "cadence"):
            self.cport = self.cport or free_port()
            self.cadence = _retry_port(lambda: CadenceDevServer.start(port=self.cport, db=self.root / "cadence",
                                                                       domain="default"))
        if which in ("both", "temporal"):
            self.tport = self.tport or free_port()
            db = self.root / "temporal.db" if self.durable else None
            self.temporal = _retry_port(lambda: TemporalDevServer.start(port=self.tport, db=db))

    def kill(self, which: str) -> None:
        server = self.cadence if which == "cadence" else self.temporal
        os.killpg(server.pid, signal.SIGKILL)
        server.stop()

    def stop(self) -> None:
        for s in (self.cadence, self.temporal):
            if s is not None:
                s.stop()

    def url(self, which: str) -> str:
        return (self.cadence if which == "cadence" else self.temporal).url


def _retry_port(start, patience: float = 90):
    """A server restarted on its old port: the dev servers refuse a port that still has connections in
    TIME_WAIT (they check it without SO_REUSEADDR), so wait for the kernel to let it go."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return start()
        except wfkit.DevServerError as exc:
            if "in use" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(1)


async def start_mix(client, n: int, prefix: str, task_queue: str) -> list[str]:
    ids = [f"{prefix}{i:04d}" for i in range(n)]

    async def one(i: int, wid: str) -> None:
        kind = kind_of(i)
        if kind == "cart":
            await client.start(BenchCart, CartState(wid, ["apple"]), id=wid, task_queue=task_queue)
        elif kind == "saga":
            order = orders.Order(f"o{i}", f"c{i}", [orders.Item("pen")], 5.0, review_seconds=3600)
            await client.start(orders.OrderWorkflow, order, id=wid, task_queue=task_queue)
        else:
            await client.start(BenchLedger, f"ledger-{i}", id=wid, task_queue=task_queue)
            await client.handle(wid).signal("post", "opening")

    sem = asyncio.Semaphore(20)

    async def guarded(i: int, wid: str) -> None:
        async with sem:
            await one(i, wid)

    await asyncio.gather(*(guarded(i, w) for i, w in enumerate(ids)))
    return ids


async def wait_ready(client, query: str, n: int, timeout: float = 120) -> None:
    """All n listed as running and past their first activity (so a state is there to take)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(await client.list(f"ExecutionStatus='Running' AND ({query})", limit=None)) >= n:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{n} workflows did not show up as running within {timeout} s")


def late_signal_hook(source, every: int = 5):
    async def hook(wid: str) -> None:
        i = int(wid[-4:])
        if i % every == 0:
            if kind_of(i) == "cart":
                await source.handle(wid).signal("add", "late")
            elif kind_of(i) == "ledger":
                await source.handle(wid).signal("post", "late")
    return hook


async def finish_and_check(client, ids: list[str], histories_from) -> dict[str, int]:
    """Finish every workflow on ``client`` and check its result against the signals its first source got."""
    sem = asyncio.Semaphore(20)
    problems: dict[str, int] = {"wrong": 0, "lost": 0}

    async def one(wid: str) -> None:
        async with sem:
            i = int(wid[-4:])
            kind = kind_of(i)
            h = client.handle(wid)
            try:
                if kind == "cart":
                    await h.signal("checkout")
                elif kind == "saga":
                    await h.signal("cancel_order", "benchmark over")
                else:
                    await h.signal("close")
                result = await h.result(timeout=120)
            except wfkit.WfkitError as exc:
                print(f"  LOST {wid}: {exc}")
                problems["lost"] += 1
                return
            sent = await histories_from(wid)
            if kind == "cart":
                ok = result == {"items": ["apple", *sent], "total": 10 * (1 + len(sent))}
            elif kind == "saga":
                ok = result["status"] == "cancelled" and result["steps"] == ["validated", "cancelled: benchmark over"]
            else:
                ok = result == {"first": f"stamped ledger-{i}", "entries": sent}
            if not ok:
                print(f"  WRONG {wid}: {result} (signals {sent})")
                problems["wrong"] += 1

    await asyncio.gather(*(one(w) for w in ids))
    return problems


def signals_of(client):
    async def get(wid: str) -> list[str]:
        """The payloads of the add/post signals the first run of ``wid`` on ``client`` received, in order."""
        runs = sorted(await client.list(f"WorkflowId='{wid}'", limit=None), key=lambda e: e.start_time)
        h = await client.handle(wid, runs[0].run_id).history()
        sig = h.signals()
        return [p for name, p in zip(sig.signal_name, sig.payload, strict=True) if name in ("add", "post")]
    return get


async def duplicates(client, ids: list[str]) -> int:
    sem = asyncio.Semaphore(20)

    async def runs(wid: str) -> int:
        async with sem:
            return len(await client.list(f"WorkflowId='{wid}'", limit=None))

    counts = await asyncio.gather(*(runs(w) for w in ids))
    return sum(1 for c in counts if c != 1)


async def orphans(source, target, ids: list[str]) -> int:
    """Sources terminated without a running (or finished) copy on the target."""
    sem = asyncio.Semaphore(20)

    async def one(wid: str) -> bool:
        async with sem:
            src = await source.handle(wid).describe()
            if src.status == "running":
                return False
            try:
                tex = await target.handle(wid).describe()
            except wfkit.WorkflowNotFound:
                return True
            mark = tex.memo.get(migrate.MIGRATION_MEMO_KEY) or {}
            return not (tex.status in ("running", "completed") and mark.get("source_run_id") == src.run_id)

    return sum(await asyncio.gather(*(one(w) for w in ids)))


# --- throughput -----------------------------------------------------------------------------------------------

async def throughput(n: int, batch_sizes: list[int], root: Path, durable: bool = False) -> None:
    servers = Servers(root, durable=durable)
    servers.start()
    try:
        cadence = await wfkit.connect(servers.url("cadence"))
        temporal = await wfkit.connect(servers.url("temporal"))
        tq = f"bench-{uuid.uuid4().hex[:8]}"
        workers = [c.worker(task_queue=tq, workflows=WORKFLOWS, activities=ACTIVITIES,
                            max_concurrent_workflow_tasks=64).start() for c in (cadence, temporal)]
        rows = []
        for b in batch_sizes:
            prefix = f"bench-b{b}-{uuid.uuid4().hex[:6]}-"
            query = f"WorkflowId STARTS_WITH '{prefix}'"
            ids = await start_mix(cadence, n, prefix, tq)
            await wait_ready(cadence, query, n)
            await asyncio.sleep(1.0)  # first workflow tasks done
            rates = []
            for source, target in ((cadence, temporal), (temporal, cadence)):
                t0 = time.monotonic()
                plan = await migrate.plan(source, target, query=query, allow_reexecution=True, workflows=WORKFLOWS)
                planned = time.monotonic() - t0
                if source is cadence:
                    plan._hooks["state"] = late_signal_hook(source)
                report = await plan.run(batch_size=b, checkpoint=root / f"ck-{prefix}{source.engine}.jsonl",
                                        progress=False)
                st = report.stats
                if st.successful != n:
                    print(report.failures[["workflow_id", "error"]].head(10).to_string())
                rates.append((source.engine, target.engine, planned, report.elapsed, report.rate, st))
                steps = report.frame[["state_seconds", "start_seconds", "terminate_seconds", "forward_seconds"]]
                print(f"batch {b} {source.engine}->{target.engine}: mean seconds per step "
                      + ", ".join(f"{c.split('_')[0]} {v:.3f}" for c, v in steps.mean().items()), flush=True)
            problems = await finish_and_check(cadence, ids, signals_of(cadence))
            dup = await duplicates(temporal, ids)
            for s, t, planned, elapsed, rate, st in rates:
                rows.append((b, f"{s}->{t}", planned, elapsed, rate, st.successful, st.failed))
            print(f"batch {b}: results lost={problems['lost']} wrong={problems['wrong']} "
                  f"duplicated on temporal={dup}", flush=True)
        print()
        print(f"restart migration of {n} open workflows (carts, sagas, ledgers; every 5th with a late signal)")
        print(f"{'batch':>5}  {'direction':<18} {'plan s':>7} {'run s':>7} {'wf/s':>7} {'ok':>5} {'failed':>6}")
        for b, d, planned, elapsed, rate, ok, failed in rows:
            print(f"{b:>5}  {d:<18} {planned:>7.2f} {elapsed:>7.2f} {rate:>7.1f} {ok:>5} {failed:>6}")
        for w in workers:
            w.stop()
        await cadence.close()
        await temporal.close()
    finally:
        servers.stop()


# --- faults ---------------------------------------------------------------------------------------------------

async def fault(kind: str, n: int, root: Path) -> bool:
    """One fault scenario; True when every check passed."""
    servers = Servers(root / kind)
    servers.start()
    tq = f"fault-{uuid.uuid4().hex[:8]}"
    prefix = f"fault-{kind}-{uuid.uuid4().hex[:6]}-"
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    ck = root / f"ck-{kind}.jsonl"
    try:
        cadence = await wfkit.connect(servers.url("cadence"))
        temporal = await wfkit.connect(servers.url("temporal"))
        workers = [c.worker(task_queue=tq, workflows=WORKFLOWS, activities=ACTIVITIES,
                            max_concurrent_workflow_tasks=64).start() for c in (cadence, temporal)]
        ids = await start_mix(cadence, n, prefix, tq)
        await wait_ready(cadence, query, n)
        await asyncio.sleep(1.0)

        t0 = time.monotonic()
        if kind == "process":
            argv = [sys.executable, os.path.abspath(__file__), "--child", servers.url("cadence"),
                    servers.url("temporal"), query, str(ck)]
            proc = await asyncio.to_thread(subprocess.Popen, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)
            await _wait_started(ck, n // 3, proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            print(f"[{kind}] migration process killed after {time.monotonic() - t0:.1f} s", flush=True)
        else:
            which = "cadence" if kind == "source" else "temporal"
            plan = await migrate.plan(cadence, temporal, query=query, allow_reexecution=True, workflows=WORKFLOWS)
            plan._hooks["state"] = late_signal_hook(cadence)
            run = asyncio.ensure_future(plan.run(batch_size=10, checkpoint=ck, progress=False, timeout=30))
            await _wait_started(ck, n // 3)
            await asyncio.to_thread(servers.kill, which)
            print(f"[{kind}] {which} server killed after {time.monotonic() - t0:.1f} s", flush=True)
            await asyncio.sleep(3)  # an outage: calls in flight fail or wait
            await asyncio.to_thread(servers.start, which)
            print(f"[{kind}] {which} server started again on port "
                  f"{servers.cport if which == 'cadence' else servers.tport} after "
                  f"{time.monotonic() - t0:.1f} s", flush=True)
            report = await run
            print(f"[{kind}] interrupted run: {report}", flush=True)
            await _reconnected(cadence if which == "cadence" else temporal)

        lonely = await orphans(cadence, temporal, ids)
        print(f"[{kind}] after the fault: {lonely} source(s) terminated without a running copy", flush=True)
        plan = await migrate.plan(cadence, temporal, query=query, allow_reexecution=True, workflows=WORKFLOWS)
        report = await plan.run(batch_size=10, checkpoint=ck, progress=False)
        print(f"[{kind}] rerun from the checkpoint: {report}", flush=True)
        if report.stats.failed:
            print(report.failures[["workflow_id", "error"]].head(10).to_string())
        dup = await duplicates(temporal, ids)
        problems = await finish_and_check(temporal, ids, signals_of(cadence))
        ok = not lonely and not dup and not problems["lost"] and not problems["wrong"] and not report.stats.failed
        print(f"[{kind}] lost={problems['lost']} wrong={problems['wrong']} duplicated={dup} "
              f"orphaned={lonely} -> {'OK' if ok else 'FAILED'}", flush=True)
        for w in workers:
            w.stop()
        await cadence.close()
        await temporal.close()
        return ok
    finally:
        servers.stop()


async def _wait_started(ck: Path, k: int, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ck.exists() and ck.read_text().count('"step":"started"') >= k:
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the migration process ended early: {proc.communicate()[0]}")
        await asyncio.sleep(0.02)
    raise RuntimeError("the migration did not get going")


async def _reconnected(client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.handle("__wfkit_bench_probe__").describe()
        except wfkit.WorkflowNotFound:
            return
        except wfkit.WfkitError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def child(source_url: str, target_url: str, query: str, ck: str) -> None:
    """``--child``: the migration in a process of its own (killed by the parent in the ``process`` fault)."""
    source = await wfkit.connect(source_url)
    target = await wfkit.connect(target_url)
    plan = await migrate.plan(source, target, query=query, allow_reexecution=True, workflows=WORKFLOWS)
    plan._hooks["state"] = late_signal_hook(source)
    await plan.run(batch_size=10, checkpoint=ck, progress=False)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workflows", type=int, default=200)
    p.add_argument("--batch-sizes", default="1,10,50")
    p.add_argument("--fault", choices=["none", "source", "target", "process", "all"], default="none",
                   help="run a fault scenario instead of the throughput benchmark")
    p.add_argument("--child", nargs=4, metavar=("SOURCE", "TARGET", "QUERY", "CHECKPOINT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        asyncio.run(child(*args.child))
        return 0
    with tempfile.TemporaryDirectory(prefix="wfkit-bench-migration-") as tmp:
        root = Path(tmp)
        if args.fault == "none":
            asyncio.run(throughput(args.workflows, [int(b) for b in args.batch_sizes.split(",")], root))
            return 0
        kinds = ["source", "target", "process"] if args.fault == "all" else [args.fault]
        results = {k: asyncio.run(fault(k, args.workflows, root)) for k in kinds}
        print("\n" + "  ".join(f"{k}: {'OK' if ok else 'FAILED'}" for k, ok in results.items()))
        return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
