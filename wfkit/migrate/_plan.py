"""``plan()`` and ``MigrationPlan``: what a migration would do to each workflow, and the run that does it (the
strategy decides what happens to each workflow; the plan journals, bounds, times and reports)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from wfkit._client import Client
from wfkit._definitions import WorkflowDefn, workflow_defn
from wfkit._errors import ConnectionFailed, WfkitError
from wfkit._loop import SyncProxy, on_loop
from wfkit._router import Router
from wfkit.migrate._checkpoint import DEFAULT_CHECKPOINT, Checkpoint, default_checkpoint_path, open_checkpoint
from wfkit.migrate._report import MigrationReport, Row, new_row, table_cells
from wfkit.migrate._status import MigrationStatus, read_status
from wfkit.migrate._strategies import PREVIEW_COLUMNS, STRATEGY_CLASSES, Item, Strategy

if TYPE_CHECKING:
    from wfkit.migrate._job import MigrationJob

DEFAULT_JOB_TASK_QUEUE = "wfkit-migrations"
"""The task queue of a migration job (``plan.run(on=…)``) when none is given."""

STRATEGIES = tuple(STRATEGY_CLASSES)
"""The strategy names ``plan()`` takes."""


async def plan(source: Client, target: Client, query: str | None = None, strategy: str = "restart",
               allow_reexecution: bool = False, workflows: Sequence[type] | None = None,
               task_queue: str | None = None, archive_dir: str | os.PathLike[str] | None = None, *,
               concurrency: int = 16) -> MigrationPlan:
    """Look at the source's workflows matching ``query`` and decide what ``strategy`` would do to each.

    Args:
        source, target: clients (any engines, either direction).
        query: which workflows (SPEC's list-query subset), e.g. ``"WorkflowType='OrderWorkflow'"``; restart and
            drain take the running ones among them, archive the closed ones.
        strategy: ``"restart"``, ``"drain"`` or ``"archive"`` (see the module docs).
        allow_reexecution: restart: let a workflow without ``@wfkit.migration_state`` restart from its original
            input, which runs its completed activities again (the preview's ``reexecutes`` names them).
        workflows: the ``@wfkit.workflow`` classes, to tell which have a migration state without asking the
            source's workers (types not given are asked through the ``__wfkit_migration_state`` query).
        task_queue: restart: the task queue on the target (default: each workflow's own).
        archive_dir: archive: where the files go (default ``wfkit-archive-<source engine>-<time>``).
        concurrency: how many source/target calls the planning makes at once.

    Returns:
        A ``MigrationPlan``: ``plan.preview`` (a DataFrame: workflow_id, status, action, reexecutes, reason, …)
        and ``await plan.run(...)``.
    """
    if strategy not in STRATEGY_CLASSES:
        raise WfkitError(f"strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if source is target:
        raise WfkitError("source and target are the same client")
    if concurrency < 1:
        raise WfkitError(f"concurrency must be >= 1, got {concurrency}")
    defns: dict[str, WorkflowDefn] = {}
    for w in workflows or ():
        d = workflow_defn(w)
        defns[d.name] = d
    p = MigrationPlan(source, target, query=query, strategy=strategy, allow_reexecution=allow_reexecution,
                      definitions=defns, task_queue=task_queue, archive_dir=archive_dir, concurrency=concurrency)
    await on_loop(p._build())
    p.status()  # what an earlier run left in flight shows in the plan's repr
    return p


class MigrationPlan:
    """What a migration would do to each workflow (``preview``) and ``run()`` to do it. Made by ``plan()``."""

    def __init__(self, source: Client, target: Client, *, query: str | None, strategy: str,
                 allow_reexecution: bool, definitions: dict[str, WorkflowDefn], task_queue: str | None,
                 archive_dir: str | os.PathLike[str] | None, concurrency: int):
        self.source = source
        self.target = target
        self.query = query
        self.strategy = strategy
        self.allow_reexecution = allow_reexecution
        self.definitions = definitions
        self.task_queue = task_queue
        self.archive_dir = Path(archive_dir) if archive_dir is not None else None
        self.concurrency = concurrency
        self.created = datetime.now(UTC)
        self.items: list[Item] = []
        self._hooks: dict[str, Callable[[str], Any]] = {}  # step -> fn(workflow_id): fault injection in tests
        self._strategy: Strategy = STRATEGY_CLASSES[strategy](self)
        self.router: Router | None = self._strategy.router()
        """drain: routes new starts to the target and finds old workflows on the source."""
        self._status: MigrationStatus | None = None
        self.sync = SyncProxy(self)

    async def _hook(self, step: str, workflow_id: str) -> None:
        fn = self._hooks.get(step)
        if fn is not None:
            result = fn(workflow_id)
            if asyncio.iscoroutine(result):
                await result

    async def _build(self) -> None:
        self.items = await self._strategy.build()

    @property
    def manifest(self) -> dict[str, Any] | None:
        """archive: the ``manifest.json`` the latest run wrote."""
        return self._strategy.manifest

    def _actions(self) -> list[tuple[str, int]]:
        """(action, how many workflows), by action."""
        counts: dict[str, int] = {}
        for it in self.items:
            counts[it.action] = counts.get(it.action, 0) + 1
        return sorted(counts.items())

    def __repr__(self) -> str:
        what = ", ".join(f"{n} {a}" for a, n in self._actions()) or "nothing to do"
        flight = len(self._status.in_flight) if self._status is not None else 0
        left = f"; {flight} in flight from an earlier run (see .status())" if flight else ""
        return (f"<wfkit.MigrationPlan {self.strategy} {self.source.engine}@{self.source.address} -> "
                f"{self.target.engine}@{self.target.address}: {len(self.items)} workflows ({what}){left}>")

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import DISPLAY_LIMIT, render

        cols = list(PREVIEW_COLUMNS[:5])
        rows = table_cells([it.preview_row() for it in self.items[:DISPLAY_LIMIT]], cols)
        status_html = self._status._repr_html_() if self._status is not None and self._status.in_flight else ""
        return render("migration_plan.html.j2", p=self, actions=self._actions(), cols=cols, rows=rows,
                      total=len(self.items), shown=len(rows), status_html=status_html)

    @property
    def preview(self) -> Any:
        """One row per workflow: ``workflow_id, status`` (on the source), ``action`` (restart,
        restart_from_input, resume, archive, wait, skip, blocked), ``reexecutes`` (activity types that would
        run again), ``reason``, and ``workflow_type, run_id, task_queue``."""
        import pandas as pd

        return pd.DataFrame([it.preview_row() for it in self.items], columns=list(PREVIEW_COLUMNS))

    @overload
    async def run(self, batch_size: int = 50, checkpoint: str | os.PathLike[str] | None = DEFAULT_CHECKPOINT,
                  dry_run: bool = False, progress: bool = True, *, timeout: float | None = 120.0,
                  on: None = None) -> MigrationReport: ...

    @overload
    async def run(self, batch_size: int = 50, checkpoint: str | os.PathLike[str] | None = DEFAULT_CHECKPOINT,
                  dry_run: bool = False, progress: bool = True, *, timeout: float | None = 120.0,
                  on: Client, task_queue: str = DEFAULT_JOB_TASK_QUEUE, parallel: int = 4,
                  heartbeat_timeout: float = 10.0, job_id: str | None = None,
                  batches_per_run: int = 100) -> MigrationJob: ...

    async def run(self, batch_size: int = 50, checkpoint: str | os.PathLike[str] | None = DEFAULT_CHECKPOINT,
                  dry_run: bool = False, progress: bool = True, *, timeout: float | None = 120.0,
                  on: Client | None = None, task_queue: str = DEFAULT_JOB_TASK_QUEUE, parallel: int = 4,
                  heartbeat_timeout: float = 10.0, job_id: str | None = None,
                  batches_per_run: int = 100) -> MigrationReport | MigrationJob:
        """Carry the plan out (or, with ``dry_run``, check each step that only reads, and change nothing).

        With ``on=client`` the migration runs as a durable job on that client's engine instead of in this
        process: it is started as a workflow there (``task_queue``), its batches are activities run by any number
        of worker processes (``wfkit worker migrate --on URL --task-queue Q``, or
        ``wfkit.migrate.worker(client, task_queue).start()``), and a ``MigrationJob`` is returned at once:
        ``await job.wait()`` shows its progress bar, ``job.pause()``, ``job.resume()``, ``job.cancel()`` signal
        it, ``job.report()`` reads every row from its history. The job's history is its checkpoint (``checkpoint``
        is not used); starting the same migration while its job runs watches that job. The workers connect to
        the source and target by URL (``Client.url``: no secrets travel), with their own credentials.

        Args:
            batch_size: how many workflows are migrated at once.
            checkpoint: the JSONL journal that makes the run resumable (None: no journal — not crash-safe).
                Run the same plan again with the same file to finish an interrupted migration. The default,
                ``"auto"``, is this migration's own file in wfkit's state directory (``$WFKIT_STATE_DIR``, else
                ``~/.local/state/wfkit/migrations/``), named after its strategy, source, target and query; the
                report's ``checkpoint`` says where. A file written for another migration is refused.
            dry_run: ask the source for each state (restart) or read each history (archive), write nothing.
            progress: show a ``tqdm`` progress bar.
            timeout: seconds one workflow's migration may take (a server that does not answer, say); past it
                the workflow is reported failed and the run goes on — running the plan again resumes it from the
                checkpoint. None: wait as long as it takes.

            on: run as a job on this client's engine (see above); restart migrations only.
            task_queue: with ``on``: the job's task queue (its workers poll it).
            parallel: with ``on``: batches under way at once, over all workers.
            heartbeat_timeout: with ``on``: seconds after which the batch of a worker that stopped answering (a
                killed process) is retried on another worker, from its last heartbeat.
            job_id: with ``on``: the job's workflow ID (default: one per strategy, source, target and query).
            batches_per_run: with ``on``: batches one run of the job starts before it continues as new, carrying
                its counts and the workflows left, so that its history stays bounded (a plan of more than 20,000
                workflows is held in parts on the job's engine, read one at a time).

        Returns:
            A ``MigrationReport``: ``stats`` (total, successful, failed, skipped, pending) and ``frame``; with
            ``on``, a ``MigrationJob``.
        """
        if batch_size < 1:
            raise WfkitError(f"batch_size must be >= 1, got {batch_size}")
        if timeout is not None and timeout <= 0:
            raise WfkitError(f"timeout must be > 0 seconds or None, got {timeout}")
        if on is not None:
            if dry_run:
                raise WfkitError("dry_run runs in-process: plan.run(dry_run=True) without on=")
            if checkpoint != DEFAULT_CHECKPOINT:
                raise WfkitError("a job's history is its checkpoint: give no checkpoint with on=")
            from wfkit.migrate._job import start_job

            return await on_loop(start_job(self, on, task_queue=task_queue, batch_size=batch_size,
                                           parallel=parallel, timeout=timeout, heartbeat_timeout=heartbeat_timeout,
                                           job_id=job_id, batches_per_run=batches_per_run))
        return await on_loop(self._run(batch_size, checkpoint, dry_run, progress, timeout))

    def _header(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "source": self.source.url, "target": self.target.url,
                "query": self.query}

    def status(self, checkpoint: str | os.PathLike[str] = DEFAULT_CHECKPOINT) -> MigrationStatus:
        """What this migration's journal says, read without contacting either server: ``.in_flight`` lists the
        workflows started on the target but not yet terminated on the source (after a crash they run on both
        engines until ``run()`` is called again), ``.steps`` counts the workflows by their latest step."""
        path = default_checkpoint_path(self._header()) if checkpoint == DEFAULT_CHECKPOINT else checkpoint
        self._status = read_status(path)
        return self._status

    async def _run(self, batch_size: int, checkpoint: str | os.PathLike[str] | None, dry_run: bool,
                   progress: bool, timeout: float | None) -> MigrationReport:
        ck = open_checkpoint(None if dry_run else checkpoint, self._header())
        started = time.monotonic()
        try:
            down = await self._down()
            if down is not None:
                raise ConnectionFailed(f"{down}: nothing was migrated; run the plan again once it answers")
            items = await self._strategy.prepare(list(self.items), ck, dry_run)
            rows = await self._run_items(items, ck, batch_size, dry_run, progress, timeout)
            self._strategy.finish(rows, dry_run)
        finally:
            ck.close()
        archive_dir = self._strategy.archive_dir
        return MigrationReport(self, rows, dry_run=dry_run, elapsed=time.monotonic() - started,
                               checkpoint=ck.location, archive_dir=str(archive_dir) if archive_dir else None,
                               manifest=None if dry_run else self._strategy.manifest)

    async def _down(self) -> str | None:
        """Which server does not answer a cheap call within a few seconds (None: both answer)."""

        async def probe(role: str, client: Client) -> str | None:
            try:
                await asyncio.wait_for(client.list(limit=1), _PROBE_TIMEOUT)
            except TimeoutError:
                return f"the {role} ({client.engine} at {client.address}) does not answer within {_PROBE_TIMEOUT:g} s"
            except Exception as exc:  # noqa: BLE001 - whatever it says, the server cannot serve the migration
                return f"the {role} ({client.engine} at {client.address}) does not answer: {type(exc).__name__}: {exc}"
            return None

        found = await asyncio.gather(probe("source", self.source), probe("target", self.target))
        down = [d for d in found if d is not None]
        return "; ".join(down) if down else None

    async def _run_items(self, items: list[Item], ck: Checkpoint, batch_size: int, dry_run: bool,
                         progress: bool, timeout: float | None) -> list[Row]:
        """``run_one`` for each item, ``batch_size`` at once: one row each, a failure (or a timeout) included.

        When the source or the target stops answering, the run stops early with one ``ConnectionFailed``
        (the workflows under way stop as a crash would stop them; the checkpoint resumes them), instead of each
        remaining workflow waiting out its ``timeout``."""
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc=f"{self.strategy} {self.source.engine}→{self.target.engine}",
                       unit="wf")
        counts = {"successful": 0, "failed": 0, "skipped": 0}
        halted: list[str] = []
        tasks: list[asyncio.Future[Row | None]] = []
        last_done = [time.monotonic()]
        checking = asyncio.Lock()

        async def check_servers() -> None:
            async with checking:
                if halted:
                    return
                down = await self._down()
                if down is not None and not halted:
                    halted.append(down)
                    me = asyncio.current_task()
                    for t in tasks:
                        if t is not me and not t.done():
                            t.cancel()

        async def one(it: Item) -> Row:
            row = new_row(it)
            try:
                await asyncio.wait_for(self._strategy.run_one(it, ck, dry_run, row), timeout)
            except Exception as exc:  # noqa: BLE001 - one workflow's failure is its row, not the run's end
                if not isinstance(exc, WfkitError) or isinstance(exc, ConnectionFailed):
                    await check_servers()  # a timeout or a transport error: is a server gone?
                    if halted:
                        raise asyncio.CancelledError from None
                _failed(row, exc, timeout)
                if not dry_run:
                    ck.write(it.workflow_id, "failed", error=row["error"],
                             **({"source_run_id": it.run_id} if it.run_id else {}))
            row["finished_at"] = datetime.now(UTC)
            last_done[0] = time.monotonic()
            counts[row["status"]] = counts.get(row["status"], 0) + 1
            if bar is not None:
                bar.update()
                bar.set_postfix(counts, refresh=False)
            return row

        sem = asyncio.Semaphore(batch_size)

        async def bounded(it: Item) -> Row | None:
            async with sem:
                return None if halted else await one(it)

        async def watch() -> None:  # nothing finished for a while: ask the servers
            while True:
                await asyncio.sleep(_WATCH_INTERVAL)
                if time.monotonic() - last_done[0] >= _WATCH_INTERVAL:
                    await check_servers()
                    if halted:
                        return

        tasks.extend(asyncio.ensure_future(bounded(it)) for it in items)
        watcher = asyncio.ensure_future(watch())
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            watcher.cancel()
            if bar is not None:
                bar.close()
        if halted:
            done = sum(counts.values())
            where = f" from its checkpoint {ck.location}" if ck.location else ""
            raise ConnectionFailed(
                f"{halted[0]}: the migration stopped after {done} of {len(items)} workflows "
                f"({', '.join(f'{n} {k}' for k, n in counts.items())}); run the plan again once it answers: it "
                f"resumes{where}")
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return [r for r in results if isinstance(r, dict)]


_PROBE_TIMEOUT = 5.0
"""Seconds a server has to answer a one-row listing before the migration calls it down."""
_WATCH_INTERVAL = 10.0
"""With no workflow finished for this long, the run asks both servers whether they still answer."""


async def run_item(plan: MigrationPlan, item: Item, ck: Checkpoint, timeout: float | None) -> Row:
    """One workflow's migration (a batch of a job runs these): its row, a failure included. A server that
    stops answering raises ``ConnectionFailed`` (the batch is retried later) instead of failing the row."""
    row = new_row(item)
    try:
        await asyncio.wait_for(plan._strategy.run_one(item, ck, False, row), timeout)
    except Exception as exc:  # noqa: BLE001 - one workflow's failure is its row, not the batch's end
        if not isinstance(exc, WfkitError) or isinstance(exc, ConnectionFailed):
            down = await plan._down()
            if down is not None:
                raise ConnectionFailed(f"{down}: the batch stops here and is retried") from exc
        _failed(row, exc, timeout)
    return row


def _failed(row: Row, exc: Exception, timeout: float | None) -> None:
    row["status"] = "failed"
    if isinstance(exc, TimeoutError) and not isinstance(exc, WfkitError):
        row["outcome"] = "timed out"
        row["error"] = (f"TimeoutError: not done within {timeout:g} s (a server not answering?); run the plan "
                        "again to resume it")
    else:
        row["outcome"] = row["outcome"] or "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
