"""Migration as a durable job on an engine: ``plan.run(on=client, task_queue=…)`` starts the migration itself as a
wfkit workflow (``MigrationJobWorkflow``) on a Temporal or Cadence cluster; the plan's batches are activities
(``migrate_batch``) run by any number of worker processes (``wfkit worker migrate`` / ``worker()``); progress and
counts are a query, pause/resume/cancel are signals, and the workflow's history is the checkpoint.

What travels where (nothing secret is ever in the job's input or history):

* the job's input: the *spec* — strategy, the source's and the target's URLs without secrets
  (``engine://host:port?namespace=…``, as ``Client.url`` says them), the query, the restart options — and the
  plan's workflows not yet started, compactly (workflow ID, source run ID, type, task queue, action: column by
  column, zlib-compressed, about 30 bytes a workflow). A plan of more than ``PLAN_PART_SIZE`` workflows is held
  in parts instead, each in the input of a workflow of its own on the job's engine (``PLAN_PART_WORKFLOW``,
  which nothing runs; the job ends them when it is over), and the job reads one part at a time through an
  activity: no input or history holds more than one part, whatever the plan's size;
* the job's history stays bounded: it continues as new every ``batches_per_run`` batches (100 by default) and
  after each part, carrying its counts, the workflows left of its part and the IDs of its earlier runs; a
  batch's result is its counts and its rows column by column, which ``MigrationJob.rows()``/``report()`` read
  from every run's history;
* each worker process connects to the spec's URLs itself, with the credentials of its own environment
  (``WFKIT_API_KEY`` / ``<ENGINE>_API_KEY``), or with the clients and full URLs (TLS options, keys) given to
  ``worker(connections=…)`` / ``wfkit worker migrate --source URL --target URL`` for the same engine, address
  and namespace.

A batch is idempotent by (workflow ID, source run ID): it heartbeats the rows of the workflows it finished, so a
retry (after a worker died, say) starts where the last heartbeat left it, and each remaining workflow is
migrated by the restart strategy, which recognises a copy it started already on the target by its memo and
adopts it instead of starting another.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import uuid
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import wfkit._definitions as _defs
from wfkit import _workflow_api as wf
from wfkit._client import Client, WorkflowHandle
from wfkit._errors import ConnectionFailed, QueryFailed, WfkitError, WorkflowAlreadyStarted
from wfkit._loop import SyncProxy, on_loop
from wfkit.migrate._plan import DEFAULT_JOB_TASK_QUEUE, MigrationPlan, run_item

if TYPE_CHECKING:
    from wfkit._client import Worker
    from wfkit.migrate._report import MigrationReport, Row

JOB_WORKFLOW = "wfkit.MigrationJob"
"""The job's workflow type."""
BATCH_ACTIVITY = "wfkit.migrate_batch"
"""The activity type of one batch."""
PLAN_PART_WORKFLOW = "wfkit.MigrationJobPlan"
"""The workflow type holding one part of a large job's plan in its input (nothing runs it)."""
PLAN_PART_ACTIVITY = "wfkit.migration_plan_part"
"""The activity type that reads one part of a job's plan (the packed workflows in its holder's input)."""
RELEASE_PARTS_ACTIVITY = "wfkit.migration_release_plan"
"""The activity type that ends the holders of a finished job's plan."""
JOB_STRATEGIES = ("restart",)
"""The strategies a job runs (archive writes files on one machine, drain moves nothing: both run in-process)."""

_ITEM_FIELDS = ("workflow_id", "run_id", "workflow_type", "task_queue", "action")


# --- the spec and the packed plan ----------------------------------------------------------------------------

def job_spec(plan: MigrationPlan, *, timeout: float | None, heartbeat_timeout: float) -> dict[str, Any]:
    """What every batch needs to know of the plan (no secrets: URLs as ``Client.url`` says them)."""
    return {"v": 1, "strategy": plan.strategy, "source": plan.source.url, "target": plan.target.url,
            "query": plan.query, "allow_reexecution": plan.allow_reexecution, "task_queue": plan.task_queue,
            "timeout": timeout, "heartbeat_timeout": heartbeat_timeout}


_PACKED_COLUMNS = "c1:"
"""Prefix of the packed plan written column by column (JSON, zlib, base85)."""


def pack_items(rows: Iterable[Sequence[Any]]) -> str:
    """The plan's workflows as one compact string: column by column (the types, task queues and actions repeat),
    JSON, zlib, base85 (JSON-safe) — about 30 bytes a workflow with random run IDs."""
    listed = [list(r) for r in rows]
    width = max((len(r) for r in listed), default=0)
    cols = [[r[i] if i < len(r) else None for r in listed] for i in range(width)]
    raw = json.dumps(cols, separators=(",", ":")).encode()
    return _PACKED_COLUMNS + base64.b85encode(zlib.compress(raw, 9)).decode("ascii")


def unpack_items(text: str) -> list[list[Any]]:
    if text.startswith(_PACKED_COLUMNS):
        cols = json.loads(zlib.decompress(base64.b85decode(text[len(_PACKED_COLUMNS):])))
        return [list(r) for r in zip(*cols, strict=True)]
    return list(json.loads(zlib.decompress(base64.b64decode(text))))  # row by row (jobs started before c1)


def default_job_id(plan: MigrationPlan) -> str:
    """One job ID per migration (strategy, source, target, query): starting the same migration again while its
    job runs watches that job instead of starting a second one."""
    key = json.dumps([plan.strategy, plan.source.url, plan.target.url, plan.query])
    return f"wfkit-migration-{plan.strategy}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


_MAX_PACKED = 1_900_000
"""Bytes of packed plan a job's input may hold (both engines refuse inputs over 2 MiB): about 60,000 workflows
with random run IDs."""
DEFAULT_BATCHES_PER_RUN = 100
"""Batches one run of a job starts before it continues as new (its history stays bounded)."""
PLAN_PART_SIZE = 20_000
"""Workflows per part of a larger plan (about 600 kB packed): each part is held in the input of a workflow of its
own on the job's engine (``PLAN_PART_WORKFLOW``, which nothing runs), and the job reads one part at a time."""


# --- the workflow ----------------------------------------------------------------------------------------------

_COUNT_KEYS = ("successful", "failed", "skipped", "pending")


@_defs.workflow(name=JOB_WORKFLOW)
class MigrationJobWorkflow:
    """Runs a migration plan's batches as activities, ``parallel`` at once; ``progress`` is a query; ``pause``,
    ``resume`` and ``cancel`` are signals (a cancel lets the batches under way finish and starts no more)."""

    def __init__(self) -> None:
        self.state = "starting"
        self.paused = False
        self.canceled = False
        self.total = 0
        self.batches = 0
        self.batches_done = 0
        self.in_flight = 0
        self.counts = dict.fromkeys(_COUNT_KEYS, 0)
        self.done = 0

    @_defs.run
    async def run(self, spec: dict, items: str, options: dict) -> dict:
        size = int(options["batch_size"])
        parallel = int(options["parallel"])
        per_run = max(1, int(options.get("batches_per_run") or DEFAULT_BATCHES_PER_RUN))
        carried = options.get("carried") or {}  # what earlier runs of this job did (it continued as new)
        parts = [(str(pid), int(n)) for pid, n in options.get("parts") or []]  # the plan, held outside the input
        part = int(carried.get("part", 0))  # the part whose workflows ``items`` holds (or is read now)
        policy = _defs.RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
                                   maximum_attempts=0)
        if parts and not items and part < len(parts):
            items = await wf.execute_activity(
                PLAN_PART_ACTIVITY, spec, parts[part][0], activity_id=f"plan-part-{part}",
                start_to_close_timeout=timedelta(minutes=5), schedule_to_close_timeout=timedelta(days=30),
                retry_policy=policy)
        plan_rows = unpack_items(items) if items else []
        first = int(carried.get("batches_done", 0))  # batch numbers go on across runs
        batches = [plan_rows[i:i + size] for i in range(0, len(plan_rows), size)]
        later = sum(-(-n // size) for _, n in parts[part + 1:])  # batches of the parts not read yet
        self.total = int(carried.get("total", sum(n for _, n in parts) if parts else len(plan_rows)))
        self.batches = first + len(batches) + later
        self.batches_done, self.done = first, int(carried.get("done", 0))
        self.counts.update({k: int(v) for k, v in (carried.get("counts") or {}).items() if k in self.counts})
        self.paused = self.paused or bool(carried.get("paused"))
        self.canceled = self.canceled or bool(carried.get("canceled"))
        runs = [*carried.get("runs", []), wf.info().run_id]
        hb = float(spec.get("heartbeat_timeout") or 10)
        per_wf = float(spec.get("timeout") or 600)

        async def one(i: int) -> None:
            try:
                result = await wf.execute_activity(
                    BATCH_ACTIVITY, spec, batches[i], activity_id=f"batch-{first + i}",
                    start_to_close_timeout=timedelta(seconds=max(per_wf * 4, 600)),
                    schedule_to_close_timeout=timedelta(days=30), heartbeat_timeout=timedelta(seconds=hb),
                    retry_policy=policy)
                for k in _COUNT_KEYS:
                    self.counts[k] += int(result.get("counts", {}).get(k, 0))
                self.done += len(batches[i])
                self.batches_done += 1
            finally:
                self.in_flight -= 1

        tasks = []
        started = 0
        for i in range(len(batches)):
            self.state = "running"
            if started == per_run:
                break
            await wf.wait_condition(lambda: self.canceled or (not self.paused and self.in_flight < parallel))
            if self.canceled:
                break
            self.in_flight += 1
            started += 1
            tasks.append(asyncio.ensure_future(one(i)))
        if self.canceled:
            self.state = "canceling"
        await wf.wait_condition(lambda: self.in_flight == 0)
        for t in tasks:
            t.result()  # a batch that failed for good (a worker refused its spec) fails the job
        if not self.canceled and (started < len(batches) or part + 1 < len(parts)):
            # bound the history: the next run carries the counts, the workflows left (of this part; none: it
            # reads the next part) and this job's runs
            rest = [r for b in batches[started:] for r in b]
            wf.continue_as_new(spec, pack_items(rest) if rest else "", {
                **{k: v for k, v in options.items() if k != "carried"},
                "carried": {"total": self.total, "done": self.done, "batches_done": self.batches_done,
                            "counts": dict(self.counts), "paused": self.paused, "runs": runs,
                            "part": part if rest else part + 1}})
        if parts:  # the plan's parts are no longer needed
            await wf.execute_activity(RELEASE_PARTS_ACTIVITY, spec, [pid for pid, _ in parts],
                                      activity_id="release-plan", start_to_close_timeout=timedelta(minutes=5),
                                      schedule_to_close_timeout=timedelta(days=1), retry_policy=policy)
        self.state = "canceled" if self.canceled else "completed"
        return {**self.progress(), "runs": runs}

    @_defs.signal
    def pause(self) -> None:
        self.paused = True

    @_defs.signal
    def resume(self) -> None:
        self.paused = False

    @_defs.signal
    def cancel(self) -> None:
        self.canceled = True

    @_defs.query
    def progress(self) -> dict:
        state = self.state
        if state == "running" and self.canceled:
            state = "canceling"
        elif state == "running" and self.paused:
            state = "paused" if self.in_flight == 0 else "pausing"
        return {"state": state, "total": self.total, "done": self.done, **self.counts,
                "not_started": self.total - self.done if state in ("canceled", "completed") else 0,
                "batches": self.batches, "batches_done": self.batches_done, "in_flight": self.in_flight}


# --- the batch activity ----------------------------------------------------------------------------------------

_given: dict[str, Client | str] = {}
"""What worker processes were given to reach the spec's URLs: a client, or a full URL (with TLS options and
credentials), by the URL's identity (engine://address?namespace=…)."""
_connected: dict[str, Client] = {}
_connecting: dict[str, asyncio.Lock] = {}
_hooks: dict[str, Any] = {}
"""Fault injection for tests: step -> fn(workflow_id), as ``MigrationPlan._hooks``, in every batch of this
process."""


def url_identity(url: str) -> str:
    """``engine://address?namespace=…`` of a URL (what a client's ``url`` says: no secrets, no options)."""
    from wfkit._config import parse_url
    from wfkit._engines import namespace_term

    cfg = parse_url(url)
    if cfg.dev:
        raise WfkitError(f"{cfg.engine}+dev:// starts a server of its own: give a migration job the URL of a running "
                         "server")
    return f"{cfg.engine}://{cfg.address}?{namespace_term(cfg.engine)}={cfg.namespace}"


async def _client_for(url: str, role: str) -> Client:
    """The worker process's client of a spec URL (connected once, on first use)."""
    key = url_identity(url)
    given = _given.get(key)
    if isinstance(given, Client) and not given.closed:
        return given
    lock = _connecting.setdefault(key, asyncio.Lock())
    async with lock:
        c = _connected.get(key)
        if c is None or c.closed:
            from wfkit._client import connect

            try:
                c = await connect(given if isinstance(given, str) else url)
            except WfkitError as exc:
                raise ConnectionFailed(f"this worker cannot reach the migration's {role} ({key}): {exc}") from exc
            _connected[key] = c
        return c


def _item_of(row: Sequence[Any]) -> Any:
    from wfkit.migrate._strategies import Item

    d = dict(zip(_ITEM_FIELDS, row, strict=False))
    return Item(d["workflow_id"], d.get("run_id"), d.get("workflow_type") or "", "running", d.get("task_queue"),
                d.get("action") or "restart", [], "")


def _plain_row(row: Row) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


@_defs.activity(name=BATCH_ACTIVITY)
async def migrate_batch(spec: dict, batch: list) -> dict:
    """Migrate one batch of a job's workflows (all at once), heartbeating the rows of those done so that a retry
    resumes after them; returns the counts and the rows, column by column (``columns``, ``values``)."""
    from wfkit.migrate._checkpoint import NullCheckpoint

    if spec.get("v") != 1 or spec.get("strategy") not in JOB_STRATEGIES:
        raise _defs_error(f"a migration job's spec this worker cannot run ({spec.get('strategy')!r}, v "
                          f"{spec.get('v')!r}): upgrade the worker")
    source = await _client_for(spec["source"], "source")
    target = await _client_for(spec["target"], "target")
    plan = MigrationPlan(source, target, query=spec.get("query"), strategy=spec["strategy"],
                         allow_reexecution=bool(spec.get("allow_reexecution")), definitions={},
                         task_queue=spec.get("task_queue"), archive_dir=None, concurrency=16)
    plan._hooks.update(_hooks)
    info = wf.activity_info()
    details, retry = info.heartbeat_details, info.attempt > 1
    earlier = details[0] if details and isinstance(details[0], dict) else {}
    rows: dict[str, dict[str, Any]] = dict(earlier.get("rows") or {})
    ck = NullCheckpoint()
    timeout = spec.get("timeout")

    def beat() -> None:
        wf.heartbeat({"rows": rows})

    async def one(r: Sequence[Any]) -> None:
        item = _item_of(r)
        key = f"{item.workflow_id}\x00{item.run_id or ''}"
        if key in rows:
            return
        row = await run_item(plan, item, ck, timeout)
        if retry and row["status"] == "skipped" and str(row["outcome"]).endswith("already on the target"):
            # moved by an earlier attempt of this batch after its last heartbeat (a worker that died): this job
            # migrated it
            row.update(status="successful", outcome="migrated (by an earlier attempt of this batch)")
        row["finished_at"] = datetime.now(UTC)
        rows[key] = _plain_row(row)
        beat()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(1.0)
            beat()

    beat()
    tick = asyncio.ensure_future(ticker())
    try:
        await asyncio.gather(*(one(r) for r in batch))
    finally:
        tick.cancel()
    counts = dict.fromkeys(_COUNT_KEYS, 0)
    for row in rows.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"counts": counts, **_columns_of(list(rows.values()))}


def _columns_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows as ``{"columns": [names], "values": [[column values] per column]}``: each name once."""
    from wfkit.migrate._report import REPORT_COLUMNS

    names = [c for c in REPORT_COLUMNS if any(c in r for r in rows)]
    return {"columns": names, "values": [[r.get(c) for r in rows] for c in names]}


def _rows_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a batch's result (column by column, or row by row from jobs started before)."""
    if isinstance(result.get("columns"), list) and isinstance(result.get("values"), list):
        names, values = result["columns"], result["values"]
        return [dict(zip(names, r, strict=True)) for r in zip(*values, strict=True)] if values else []
    return [r for r in result.get("rows") or [] if isinstance(r, dict)]


@_defs.activity(name=PLAN_PART_ACTIVITY)
async def read_plan_part(spec: dict, part_id: str) -> str:
    """One part of a job's plan: the packed workflows its holder (a workflow on the job's engine) was started
    with."""
    client = await _client_for(spec["on"], "engine")
    frame = (await client.handle(part_id).history()).to_dataframe()
    started = frame.loc[frame["event_type"] == "WorkflowExecutionStarted", "payload"]
    value = started.iloc[0] if len(started) else None
    value = value[0] if isinstance(value, list) and value else value
    if not isinstance(value, str):
        raise _defs_error(f"the migration job's plan part {part_id} holds no packed workflows")
    return value


@_defs.activity(name=RELEASE_PARTS_ACTIVITY)
async def release_plan_parts(spec: dict, part_ids: list) -> None:
    """End the holders of a job's plan (those already closed are left as they are)."""
    client = await _client_for(spec["on"], "engine")
    for pid in part_ids:
        try:
            await client.handle(str(pid)).terminate("wfkit: the migration job is over")
        except WfkitError:
            pass  # closed already (timed out), or gone


def _defs_error(message: str) -> Exception:
    from wfkit._errors import ApplicationError

    return ApplicationError(message, type="MigrationJobSpec", non_retryable=True)


def worker(on: Client, task_queue: str = DEFAULT_JOB_TASK_QUEUE, *, max_concurrent_batches: int = 4,
           connections: Sequence[Client | str] = ()) -> Worker:
    """A worker of migration jobs on ``on`` (the engine the jobs run on): it serves the job workflow and runs
    its batches. Start it like any worker (``.start()``, ``async with``); run as many as you like, in as many
    processes (``wfkit worker migrate --on URL --task-queue Q`` is one).

    Args:
        on: the client of the engine the jobs run on.
        task_queue: the jobs' task queue.
        max_concurrent_batches: batches this worker runs at once.
        connections: clients or full URLs (TLS options, credentials) to use for a job's source and target where
            they match its engine, address and namespace; others are connected from the job's URL with the
            credentials of this process's environment (``WFKIT_API_KEY``, ``<ENGINE>_API_KEY``).
    """
    if max_concurrent_batches < 1:
        raise WfkitError(f"max_concurrent_batches must be >= 1, got {max_concurrent_batches}")
    if not on._config.dev:
        _given[url_identity(on.url)] = on  # a job's plan parts are read from its own engine
    for c in connections:
        if isinstance(c, Client):
            _given[url_identity(c.url)] = c
        elif isinstance(c, str):
            _given[url_identity(c)] = c
        else:
            raise WfkitError(f"connections: expected clients or URLs, got {type(c).__name__}")
    return on.worker(task_queue=task_queue, workflows=[MigrationJobWorkflow],
                     activities=[migrate_batch, read_plan_part, release_plan_parts],
                     max_concurrent_activities=max_concurrent_batches)


# --- the job as the notebook sees it ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class JobProgress:
    """What a migration job says of itself (``job.progress()``)."""

    state: str
    """starting, running, pausing, paused, canceling, canceled, completed — or failed/terminated/timed_out."""
    total: int
    """Workflows in the plan."""
    done: int
    """Workflows of the batches finished."""
    successful: int
    failed: int
    skipped: int
    pending: int
    not_started: int
    """Canceled: workflows whose batch never started."""
    batches: int
    batches_done: int
    in_flight: int
    """Batches under way."""

    @classmethod
    def of(cls, d: dict[str, Any]) -> JobProgress:
        return cls(**{f.name: d.get(f.name, 0) if f.name != "state" else d.get("state", "starting")
                      for f in dataclasses.fields(cls)})

    @property
    def finished(self) -> bool:
        return self.state not in ("starting", "running", "pausing", "paused", "canceling")


class MigrationJob:
    """A migration running as a workflow on an engine (``plan.run(on=client, task_queue=…)``): ``progress()``,
    ``pause()``, ``resume()``, ``cancel()``, ``wait()`` (a progress bar), ``report()``. Blocking twins under
    ``.sync``. Watching it from another notebook: ``MigrationJob.attach(plan, client, job_id)``."""

    def __init__(self, plan: MigrationPlan | None, client: Client, job_id: str, task_queue: str, total: int,
                 *, attached: bool = False):
        self.plan = plan
        self.client = client
        self.job_id = job_id
        self.task_queue = task_queue
        self.total = total
        self.attached = attached
        """True when the job was already running and this object only watches it."""
        self.handle: WorkflowHandle = client.handle(job_id)
        self.sync = SyncProxy(self)

    @classmethod
    def attach(cls, plan: MigrationPlan | None, client: Client, job_id: str,
               task_queue: str = DEFAULT_JOB_TASK_QUEUE) -> MigrationJob:
        """Watch a job started elsewhere."""
        return cls(plan, client, job_id, task_queue, 0, attached=True)

    def __repr__(self) -> str:
        what = f"{self.plan.strategy} {self.plan.source.engine}->{self.plan.target.engine} " if self.plan else ""
        return (f"<wfkit.MigrationJob {what}id={self.job_id!r} on {self.client.engine}@{self.client.address} "
                f"task_queue={self.task_queue!r}>")

    async def progress(self) -> JobProgress:
        """The job's counts, asked through its ``progress`` query (a closed job: its result)."""
        return await on_loop(self._progress())

    async def _progress(self) -> JobProgress:
        try:
            return JobProgress.of(await self.handle.query("progress", timeout=10))
        except QueryFailed:
            ex = await self.handle.describe()
            if ex.status == "running":
                return JobProgress.of({"state": "starting", "total": self.total})
            if ex.status == "completed":
                return JobProgress.of(await self.handle.result())
            return JobProgress.of({"state": ex.status, "total": self.total})

    async def pause(self) -> None:
        """Start no more batches (those under way finish) until ``resume()``."""
        await self.handle.signal("pause")

    async def resume(self) -> None:
        await self.handle.signal("resume")

    async def cancel(self) -> None:
        """Start no more batches; the job ends (``canceled``) once those under way finish. Running the same
        migration again later migrates what is left."""
        await self.handle.signal("cancel")

    async def wait(self, *, progress: bool = True, timeout: float | None = None,
                   interval: float = 1.0) -> JobProgress:
        """Watch the job until it ends (a ``tqdm`` progress bar through its query); its final progress.
        Interrupting the wait stops watching, never the job.

        Raises:
            WorkflowFailed: the job failed, or was terminated.
            TimeoutError: ``timeout`` seconds passed first (the job goes on).
        """
        return await on_loop(self._wait(progress, timeout, interval))

    async def _wait(self, progress: bool, timeout: float | None, interval: float) -> JobProgress:
        import time

        bar = None
        if progress:
            from tqdm.auto import tqdm

            what = f"{self.plan.strategy} {self.plan.source.engine}→{self.plan.target.engine} " if self.plan else ""
            bar = tqdm(total=self.total or None, desc=f"{what}job on {self.client.engine}", unit="wf")
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                p = await self._progress()
                if bar is not None:
                    if p.total and bar.total != p.total:
                        bar.total = p.total
                    bar.update(p.done + (await self._under_way() if p.in_flight else 0) - bar.n)
                    bar.set_postfix({"state": p.state, "ok": p.successful, "failed": p.failed,
                                     "skipped": p.skipped}, refresh=True)
                if p.finished:
                    if p.state not in ("completed", "canceled"):
                        await self.handle.result()  # raises WorkflowFailed with the cause
                    return p
                if deadline is not None and time.monotonic() > deadline:
                    raise wf_timeout(timeout)
                await asyncio.sleep(interval)
        finally:
            if bar is not None:
                bar.close()

    async def _under_way(self) -> int:
        """Workflows the batches under way have finished (their last heartbeats say), for the progress bar."""
        try:
            ex = await self.handle.describe()
        except WfkitError:
            return 0
        return sum(len(a.heartbeat_details.get("rows") or {}) for a in ex.pending_activities
                   if isinstance(a.heartbeat_details, dict))

    async def rows(self) -> list[dict[str, Any]]:
        """One row per workflow of the batches finished so far, read from the histories of every run of the job
        (the checkpoint: the latest run's input names the earlier runs)."""
        frames = [(await self.handle.history()).to_dataframe()]
        started = frames[0].loc[frames[0]["event_type"] == "WorkflowExecutionStarted", "payload"]
        args = started.iloc[0] if len(started) else None
        options = args[2] if isinstance(args, list) and len(args) == 3 and isinstance(args[2], dict) else {}
        for run_id in reversed((options.get("carried") or {}).get("runs") or []):
            frames.insert(0, (await self.client.handle(self.job_id, run_id).history()).to_dataframe())
        out: list[dict[str, Any]] = []
        for frame in frames:
            for payload in frame.loc[frame["event_type"] == "ActivityTaskCompleted", "payload"]:
                value = payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
                if isinstance(value, dict):
                    out.extend(_rows_of(value))
        return out

    async def report(self) -> MigrationReport:
        """A ``MigrationReport`` of the batches finished so far (the job's history holds every row)."""
        from wfkit.migrate._report import MigrationReport

        if self.plan is None:
            raise WfkitError("report() needs the job's plan: MigrationJob.attach(plan, client, job_id)")
        rows = await self.rows()
        for r in rows:
            for k in ("started_at", "finished_at"):
                if isinstance(r.get(k), str):
                    r[k] = datetime.fromisoformat(r[k])
        ex = await self.handle.describe()
        end = ex.close_time or datetime.now(UTC)
        elapsed = (end - ex.start_time).total_seconds() if ex.start_time else 0.0
        return MigrationReport(self.plan, rows, dry_run=False, elapsed=elapsed, checkpoint=None)


def wf_timeout(timeout: float | None) -> Exception:
    from wfkit._errors import TimeoutError as WfkitTimeout

    return WfkitTimeout(f"the migration job did not finish within {timeout:g} s (it goes on)", kind="wait")


async def start_job(plan: MigrationPlan, on: Client, *, task_queue: str, batch_size: int, parallel: int,
                    timeout: float | None, heartbeat_timeout: float, job_id: str | None,
                    batches_per_run: int = DEFAULT_BATCHES_PER_RUN) -> MigrationJob:
    """Start the plan as a job on ``on`` (or watch its job if one runs already)."""
    if plan.strategy not in JOB_STRATEGIES:
        raise WfkitError(f"plan.run(on=…) runs {' and '.join(JOB_STRATEGIES)} migrations; {plan.strategy} runs "
                         "in-process (plan.run() without on=)")
    if parallel < 1:
        raise WfkitError(f"parallel must be >= 1, got {parallel}")
    if batches_per_run < 1:
        raise WfkitError(f"batches_per_run must be >= 1, got {batches_per_run}")
    if heartbeat_timeout <= 0:
        raise WfkitError(f"heartbeat_timeout must be > 0 seconds, got {heartbeat_timeout}")
    for role, c in (("source", plan.source), ("target", plan.target)):
        if c._config.dev:
            raise WfkitError(f"the plan's {role} is an embedded server ({c.engine}+dev://), which worker processes "
                             "cannot reach by URL: connect to a server they can reach")
    flight = plan.status().in_flight
    if flight:  # the in-process run's journal knows steps a job would not see (a source terminated, say)
        raise WfkitError(f"{len(flight)} workflow(s) are in flight from an earlier in-process run of this migration "
                         f"(journal {plan.status().checkpoint}): finish them with plan.run() first")
    rows = [[getattr(it, f) for f in _ITEM_FIELDS] for it in plan.items]
    size = PLAN_PART_SIZE
    chunks = [pack_items(rows[i:i + size]) for i in range(0, len(rows), size)] or [pack_items([])]
    for i, packed in enumerate(chunks):
        if len(packed) > _MAX_PACKED:
            raise WfkitError(f"{size:,} of the plan's workflows (from the {i * size + 1:,}th) pack into "
                             f"{len(packed):,} bytes, more than one input may hold ({_MAX_PACKED:,}): their IDs are "
                             "very long; split the migration by query (StartTime ranges, say)")
    spec = {**job_spec(plan, timeout=timeout, heartbeat_timeout=heartbeat_timeout), "on": on.url}
    jid = job_id or default_job_id(plan)
    options: dict[str, Any] = {"batch_size": batch_size, "parallel": parallel, "batches_per_run": batches_per_run}
    parts: list[str] = []
    if len(chunks) > 1:  # a large plan: each part held in the input of a workflow of its own, read when its turn comes
        token = uuid.uuid4().hex[:12]
        for k, packed in enumerate(chunks):
            pid = f"{jid}.plan-{token}-{k}"
            await on.start(PLAN_PART_WORKFLOW, packed, id=pid, task_queue=f"{task_queue}.plan",
                           execution_timeout=timedelta(days=60))
            parts.append(pid)
        options["parts"] = [[pid, len(rows[k * size:(k + 1) * size])] for k, pid in enumerate(parts)]
    try:
        await on.start(JOB_WORKFLOW, spec, chunks[0] if not parts else "", options, id=jid,
                       task_queue=task_queue, id_reuse_policy="allow_duplicate",
                       memo={"wfkit.migration_job": {k: spec[k] for k in ("strategy", "source", "target", "query")}})
    except WorkflowAlreadyStarted:
        for pid in parts:  # the job running already has its own
            await on.handle(pid).terminate("wfkit: the migration job runs already")
        return MigrationJob(plan, on, jid, task_queue, len(rows), attached=True)
    return MigrationJob(plan, on, jid, task_queue, len(rows))
