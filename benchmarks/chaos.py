"""A chaos run: a mixed load on both engines while servers, workers and a migration are SIGKILLed at random.

    .venv/bin/python benchmarks/chaos.py --minutes 20 [--seed N] [--max-workflows N]

For ``--minutes`` the script keeps a load on an embedded Temporal server and an embedded Cadence server (each on
a fixed loopback port and a file-backed store, so that a killed server restarts on its data):

* starts of ``ChaosFlow`` workflows: on Temporal, on Cadence, on Cadence to be migrated to Temporal, and through
  a ``wfkit.FailoverClient`` (Temporal primary, Cadence backup);
* signals (each carrying a unique token), and queries, to random open workflows;
* activities that fail and retry (each workflow's activity fails its first attempt);
* a restart migration Cadence -> Temporal of the ``chaos-m-`` workflows, run again and again from one checkpoint
  by a process of its own;
* worker processes (one per engine) serving the workflows.

Every 15-45 s (random) one of them is SIGKILLed: the Temporal server, the Cadence server (each restarted on its
store), a worker process (restarted), or the migrating process (run again later). At the end the chaos stops,
everything is brought up, the migration is run to completion, every workflow is told to finish, and the
invariants are checked:

* no workflow lost: every accepted start has exactly one live run (migration-terminated source runs aside);
* none duplicated: no workflow ID has two live runs (on one engine or across both);
* every accepted signal delivered once: its token is in the result exactly once (a signal whose call failed may
  or may not have arrived, but never twice);
* every completed workflow's result right: ``total == base + number of tokens``.

A 2.5-minute run (seed 7, 2-vCPU VM shared with other jobs): 229 workflows (173 completed on Temporal, 56 on
Cadence), 261 signals, 100 queries, 5 migration runs; SIGKILLs: the Cadence server once, the Temporal worker
twice, the migration once; 0 lost, 0 duplicated, 261 signals each delivered once, 229 results right; 206 s in all.
A 5-minute run (seed 11): 444 workflows (334 on Temporal, 110 on Cadence), 535 signals, 246 queries, 8 migration
runs; SIGKILLs: the Temporal server 4 times (the failover client sent starts to Cadence meanwhile), the Cadence
server once, each worker twice; 0 lost, 0 duplicated, 535 signals each delivered once, 444 results right; 354 s.

It prints the counts (starts, signals, queries, kills by kind, errors seen during the chaos) and the invariant
figures, and exits 1 when an invariant fails. Bounded: at most ``--max-workflows`` workflows, every call has a
timeout, the whole run a hard deadline (``--minutes`` + 15 min); loopback only; every process it started is
stopped at the end (and on Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import wfkit
import wfkit.devserver
import wfkit.engine

HERE = Path(__file__).resolve()
CALL_TIMEOUT = 10.0
TASK_QUEUE = "chaos"


# --- the workflow the load runs ----------------------------------------------------------------------------------

@dataclasses.dataclass
class FlowState:
    key: str
    base: int
    tokens: list[str] = dataclasses.field(default_factory=list)


@wfkit.activity
async def flaky_total(key: str, base: int, n: int) -> int:
    """Fails its first attempt (a retry every workflow goes through), then adds."""
    if wfkit.activity_info().attempt < 2:
        raise wfkit.ApplicationError(f"chaos: first attempt of {key} fails", type="Flaky")
    return base + n


@wfkit.workflow
class ChaosFlow:
    """Collects ``add(token)`` signals until ``finish``; returns the tokens and ``base + len(tokens)``."""

    def __init__(self) -> None:
        self.state: FlowState | None = None
        self.early: list[str] = []
        self.finished = False

    @wfkit.run
    async def run(self, state: FlowState) -> dict:
        self.state = state
        self.state.tokens += self.early
        await wfkit.wait_condition(lambda: self.finished)
        total = await wfkit.execute_activity(
            flaky_total, state.key, state.base, len(state.tokens), start_to_close_timeout=timedelta(seconds=20),
            retry_policy=wfkit.RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.0,
                                           maximum_attempts=20))
        return {"key": state.key, "tokens": state.tokens, "total": total}

    @wfkit.signal
    def add(self, token: str) -> None:
        (self.state.tokens if self.state is not None else self.early).append(token)

    @wfkit.signal
    def finish(self) -> None:
        self.finished = True

    @wfkit.query
    def count(self) -> int:
        return len(self.state.tokens) if self.state else len(self.early)

    @wfkit.migration_state
    def snapshot(self) -> FlowState | None:
        return self.state


# --- child processes: a worker, a migration -----------------------------------------------------------------------

def worker_main(url: str) -> None:
    """Serve ChaosFlow on ``url`` until killed; reconnect when the server goes away."""
    while True:
        try:
            client = wfkit.connect_sync(url, connect_timeout=5)
        except wfkit.WfkitError:
            time.sleep(1)
            continue
        try:
            with client.sync.worker(task_queue=TASK_QUEUE, workflows=[ChaosFlow], activities=[flaky_total]):
                while True:
                    time.sleep(3600)
        except wfkit.WfkitError as exc:
            print(f"worker: {type(exc).__name__}: {exc}; connecting again", flush=True)
            time.sleep(1)


def migrate_main(source_url: str, target_url: str, checkpoint: str) -> None:
    """One run of the restart migration of the ``chaos-m-`` workflows (resumes from ``checkpoint``)."""
    from wfkit import migrate

    source = wfkit.connect_sync(source_url, connect_timeout=10)
    target = wfkit.connect_sync(target_url, connect_timeout=10)
    plan = migrate.sync.plan(source, target, query="WorkflowId STARTS_WITH 'chaos-m-'", workflows=[ChaosFlow])
    report = plan.sync.run(batch_size=8, checkpoint=checkpoint, progress=False, timeout=60)
    print(f"migration: {report!r}", flush=True)


# --- the orchestra -----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Flow:
    workflow_id: str
    kind: str            # t, c, m (Cadence, migrated), f (through the failover client)
    home: str            # the engine it was started on
    base: int
    accepted: list[str] = dataclasses.field(default_factory=list)   # tokens whose signal call succeeded
    maybe: list[str] = dataclasses.field(default_factory=list)      # tokens whose signal call failed


class Chaos:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dir = Path(tempfile.mkdtemp(prefix="wfkit-chaos-"))
        self.ports = {"temporal": wfkit.engine.free_port(), "cadence": wfkit.engine.free_port()}
        (self.dir / "cadence").mkdir()
        self.dbs = {"temporal": str(self.dir / "temporal.db"), "cadence": str(self.dir / "cadence")}
        self.servers: dict[str, Any] = {}
        self.urls: dict[str, str] = {}
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.migrator: subprocess.Popen[bytes] | None = None
        self.clients: dict[str, wfkit.Client] = {}
        self.failover: Any = None
        self.flows: list[Flow] = []
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.kills: Counter[str] = Counter()
        self.restarting: set[str] = set()
        self.token = 0
        self.ok = False

    # processes
    def start_server(self, engine: str) -> None:
        server = wfkit.devserver.start(engine, port=self.ports[engine], db=self.dbs[engine])
        self.servers[engine] = server
        self.urls[engine] = server.url

    def kill_server(self, engine: str) -> None:
        server = self.servers.pop(engine, None)
        if server is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(server.pid, signal.SIGKILL)
            server.stop()

    def _spawn(self, *argv: str) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{argv[0]}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - the child owns it
        return subprocess.Popen([sys.executable, str(HERE), *argv], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=HERE.parents[1])

    def start_worker(self, engine: str) -> None:
        self.workers[engine] = self._spawn("_worker", self.urls[engine])

    def start_migrator(self) -> None:
        if self.migrator is None or self.migrator.poll() is not None:
            self.migrator = self._spawn("_migrate", self.urls["cadence"], self.urls["temporal"],
                                        str(self.dir / "migration.jsonl"))
            self.counts["migration runs"] += 1

    @staticmethod
    def kill_proc(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)

    def stop_all(self) -> None:
        self.kill_proc(self.migrator)
        for proc in self.workers.values():
            self.kill_proc(proc)
        for engine in list(self.servers):
            with contextlib.suppress(Exception):
                self.servers.pop(engine).stop()

    # load
    async def call(self, what: str, coro: Any) -> Any:
        try:
            return await asyncio.wait_for(coro, CALL_TIMEOUT)
        except (wfkit.WfkitError, TimeoutError) as exc:
            self.errors[f"{what}: {type(exc).__name__}"] += 1
            raise

    async def start_one(self) -> None:
        kind = self.rng.choice("tcmf")
        home = "temporal" if kind in "tf" else "cadence"
        n = len(self.flows)
        wid = f"chaos-{kind}-{n:05d}"
        base = self.rng.randint(0, 1000)
        state = FlowState(wid, base)
        try:
            if kind == "f":
                handle = await self.call("start", self.failover.start(ChaosFlow, state, id=wid, task_queue=TASK_QUEUE))
                home = handle.client.engine
            else:
                await self.call("start", self.clients[home].start(ChaosFlow, state, id=wid, task_queue=TASK_QUEUE))
        except (wfkit.WfkitError, TimeoutError):
            self.counts["starts failed"] += 1
            if kind != "f":  # a start whose answer was lost may still have happened: check it at the end
                self.flows.append(Flow(wid, kind, home, base))
                self.flows[-1].maybe.append("<start>")
            return
        self.counts["starts"] += 1
        self.flows.append(Flow(wid, kind, home, base))

    def engines_of(self, flow: Flow) -> list[str]:
        other = "cadence" if flow.home == "temporal" else "temporal"
        return [flow.home, other] if flow.kind in "mf" else [flow.home]

    async def signal_one(self) -> None:
        open_flows = [f for f in self.flows if len(f.accepted) + len(f.maybe) < 6]
        if not open_flows:
            return
        flow = self.rng.choice(open_flows)
        self.token += 1
        token = f"tok-{self.token:06d}"
        for engine in self.engines_of(flow):
            try:
                await self.call("signal", self.clients[engine].handle(flow.workflow_id).signal("add", token))
            except (wfkit.WfkitError, TimeoutError):
                continue
            flow.accepted.append(token)
            self.counts["signals"] += 1
            return
        flow.maybe.append(token)
        self.counts["signals failed"] += 1

    async def query_one(self) -> None:
        if not self.flows:
            return
        flow = self.rng.choice(self.flows)
        for engine in self.engines_of(flow):
            try:
                await self.call("query", self.clients[engine].handle(flow.workflow_id).query("count", timeout=5))
                self.counts["queries"] += 1
                return
            except (wfkit.WfkitError, TimeoutError):
                continue
        self.counts["queries failed"] += 1

    async def load(self, until: float) -> None:
        while time.monotonic() < until:
            action = self.rng.random()
            with contextlib.suppress(Exception):
                if action < 0.35 and len(self.flows) < self.args.max_workflows:
                    await self.start_one()
                elif action < 0.8:
                    await self.signal_one()
                else:
                    await self.query_one()
            await asyncio.sleep(0.2)

    async def supervise(self, until: float) -> None:
        """Restart dead workers; rerun the migration every ~40 s."""
        next_migration = time.monotonic() + 20
        while time.monotonic() < until:
            for engine, proc in list(self.workers.items()):
                if proc.poll() is not None and engine in self.servers:
                    self.start_worker(engine)
            if time.monotonic() >= next_migration and not self.restarting:
                self.start_migrator()
                next_migration = time.monotonic() + 40
            await asyncio.sleep(1)

    async def chaos(self, until: float) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(15, 45))
            if time.monotonic() >= until:
                return
            victim = self.rng.choice(["temporal server", "cadence server", "temporal worker", "cadence worker",
                                      "migration"])
            engine = victim.split()[0]
            if victim.endswith("server"):
                self.restarting.add(engine)
                self.kill_server(engine)
                self.kills[victim] += 1
                await asyncio.sleep(self.rng.uniform(0, 5))
                await asyncio.to_thread(self.start_server, engine)
                self.restarting.discard(engine)
            elif victim.endswith("worker"):
                self.kill_proc(self.workers.get(engine))
                self.kills[victim] += 1
            elif self.migrator is not None and self.migrator.poll() is None:
                self.kill_proc(self.migrator)
                self.kills[victim] += 1

    # the end
    async def settle(self) -> None:
        """Everything up, the migration to completion, every workflow told to finish."""
        for engine in ("temporal", "cadence"):
            if engine not in self.servers:
                await asyncio.to_thread(self.start_server, engine)
            if self.workers.get(engine) is None or self.workers[engine].poll() is not None:
                self.start_worker(engine)
        self.kill_proc(self.migrator)
        for _ in range(5):  # a run interrupted by a server still waking up: once more
            self.migrator = self._spawn("_migrate", self.urls["cadence"], self.urls["temporal"],
                                        str(self.dir / "migration.jsonl"))
            if await asyncio.to_thread(self.migrator.wait, 600) == 0:
                break
            await asyncio.sleep(5)
        self.counts["migration runs"] += 1

        sem = asyncio.Semaphore(16)

        async def finish(flow: Flow) -> None:
            async with sem:
                for _ in range(30):
                    for engine in self.engines_of(flow):
                        with contextlib.suppress(wfkit.WfkitError, TimeoutError):
                            h = self.clients[engine].handle(flow.workflow_id)
                            if (await asyncio.wait_for(h.describe(), CALL_TIMEOUT)).status == "running":
                                await asyncio.wait_for(h.signal("finish"), CALL_TIMEOUT)
                                return
                    await asyncio.sleep(2)

        await asyncio.gather(*(finish(f) for f in self.flows))

    async def live_runs(self, flow: Flow) -> list[tuple[str, Any]]:
        """Every run of the flow's ID on both engines that the migration did not terminate."""
        out = []
        for engine in ("temporal", "cadence"):
            runs = await self.clients[engine].list(f"WorkflowId='{flow.workflow_id}'", limit=None)
            out += [(engine, r) for r in runs if r.status != "terminated"]
        return out

    async def check(self) -> dict[str, int]:
        figures: Counter[str] = Counter()
        sem = asyncio.Semaphore(16)

        async def one(flow: Flow) -> None:
            async with sem:
                runs = []
                for _ in range(20):  # visibility is eventually consistent
                    runs = await self.live_runs(flow)
                    if len(runs) == 1 and runs[0][1].status != "running":
                        break
                    await asyncio.sleep(3)
                if "<start>" in flow.maybe and not runs:
                    figures["unacknowledged starts that never happened (fine)"] += 1
                    return
                if not runs:
                    figures["LOST"] += 1
                    print(f"LOST {flow}", flush=True)
                    return
                if len(runs) > 1:
                    figures["DUPLICATED"] += 1
                    print(f"DUPLICATED {flow}: {[(e, r.run_id, r.status) for e, r in runs]}", flush=True)
                engine, run = runs[0]
                figures[f"{run.status} on {engine}"] += 1
                if run.status != "completed":
                    return
                result = await self.clients[engine].handle(flow.workflow_id, run.run_id).result(timeout=30)
                tokens = Counter(result["tokens"])
                lost = [t for t in flow.accepted if tokens[t] != 1]
                twice = [t for t, n in tokens.items() if n > 1]
                unknown = [t for t in tokens if t not in flow.accepted and t not in flow.maybe]
                figures["signals checked"] += len(flow.accepted)
                figures["failed signal calls that arrived (fine)"] += sum(1 for t in flow.maybe if tokens[t] == 1)
                if lost or twice or unknown:
                    figures["SIGNALS WRONG"] += 1
                    print(f"SIGNALS WRONG {flow.workflow_id}: lost {lost} twice {twice} unknown {unknown}",
                          flush=True)
                if result["total"] != flow.base + len(result["tokens"]) or result["key"] != flow.workflow_id:
                    figures["RESULT WRONG"] += 1
                    print(f"RESULT WRONG {flow.workflow_id}: {result}", flush=True)
                else:
                    figures["results right"] += 1

        await asyncio.gather(*(one(f) for f in self.flows))
        return dict(figures)

    async def connect(self, engine: str) -> wfkit.Client:
        deadline = time.monotonic() + 120
        while True:
            try:
                return await wfkit.connect(self.urls[engine], connect_timeout=10)
            except wfkit.ConnectionFailed:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)

    async def run(self) -> int:
        t0 = time.monotonic()
        print(f"chaos: {self.args.minutes} min, seed {self.args.seed}, state in {self.dir}", flush=True)
        await asyncio.gather(asyncio.to_thread(self.start_server, "temporal"),
                             asyncio.to_thread(self.start_server, "cadence"))
        print(f"servers up in {time.monotonic() - t0:.1f} s: {self.urls}", flush=True)
        for engine in ("temporal", "cadence"):
            self.clients[engine] = await self.connect(engine)
            self.start_worker(engine)
        self.failover = wfkit.FailoverClient(self.clients["temporal"], self.clients["cadence"], health_interval=4)
        until = time.monotonic() + self.args.minutes * 60
        await asyncio.gather(self.load(until), self.supervise(until), self.chaos(until))
        print(f"chaos over after {time.monotonic() - t0:.0f} s; settling", flush=True)
        await self.settle()
        figures = await self.check()
        print("\n== load ==")
        for k, v in sorted(self.counts.items()):
            print(f"  {k:40s} {v}")
        print("== kills (SIGKILL) ==")
        for k, v in sorted(self.kills.items()):
            print(f"  {k:40s} {v}")
        print("== errors seen by the load during the chaos ==")
        for k, v in sorted(self.errors.items()):
            print(f"  {k:40s} {v}")
        print("== invariants ==")
        print(f"  {'workflows':40s} {len(self.flows)}")
        for k, v in sorted(figures.items()):
            print(f"  {k:40s} {v}")
        bad = sum(figures.get(k, 0) for k in ("LOST", "DUPLICATED", "SIGNALS WRONG", "RESULT WRONG"))
        print(f"== {'OK' if not bad else 'FAILED'}: {bad} violations; {time.monotonic() - t0:.0f} s in all ==")
        self.ok = not bad
        return 1 if bad else 0


async def _main(args: argparse.Namespace) -> int:
    chaos = Chaos(args)
    try:
        return await asyncio.wait_for(chaos.run(), args.minutes * 60 + 15 * 60)
    finally:
        if chaos.failover is not None:
            with contextlib.suppress(Exception):
                await chaos.failover.close()
        for client in chaos.clients.values():
            with contextlib.suppress(Exception):
                await client.close()
        chaos.stop_all()
        if chaos.ok:
            shutil.rmtree(chaos.dir, ignore_errors=True)
        else:
            print(f"stores and logs kept in {chaos.dir}", flush=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_migrate":
        migrate_main(*sys.argv[2:5])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=20, help="how long the chaos lasts (default 20)")
    p.add_argument("--seed", type=int, default=int(time.time()), help="random seed (printed; rerun with it)")
    p.add_argument("--max-workflows", type=int, default=1000, help="at most this many workflows (default 1000)")
    args = p.parse_args()
    if args.minutes <= 0 or args.max_workflows < 1:
        p.error("--minutes must be > 0 and --max-workflows >= 1")

    def on_term(*_: object) -> None:  # stop like Ctrl-C: every process started is stopped
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
