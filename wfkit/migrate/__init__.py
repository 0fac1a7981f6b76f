"""Move workflows between engines (Cadence ⇄ Temporal, or between namespaces of one engine).

::

    plan = await wfkit.migrate.plan(cadence, temporal, query="WorkflowType='OrderWorkflow'", strategy="restart")
    plan.preview                      # what would happen to each workflow, and why
    report = await plan.run(batch_size=50)   # journaled in this migration's own checkpoint file
    report.stats, report.frame

Strategies:

``restart`` (open workflows)
    Each running workflow is started again on the target, with the same workflow ID, type and task queue (and
    memo and tags), from its state: what its ``@wfkit.migration_state`` method returns, asked through the query
    ``__wfkit_migration_state`` that every wfkit worker answers for such workflows. A workflow without one can
    only restart from its original input (read from the source history's first event), which runs its completed
    activities again: that needs ``allow_reexecution=True``, and the preview's ``reexecutes`` column names them.
    The copy on the target is confirmed running before the source is terminated (with a reason naming the
    target), then the signals that reached the source after the state was taken are sent to the copy, in order.
    Every step is appended to a JSONL checkpoint before the next one starts, and the copy's memo records where
    it came from, so running the same plan again (after a crash, a server restart, a kernel dying) finishes the
    job: nothing is started twice, and nothing is terminated on the source without a running copy.
``drain``
    Nothing moves: new starts go to the target through ``plan.router`` (a ``wfkit.Router`` that still finds
    old workflows on the source), and each ``run()`` reports what is still open on the source, until nothing is.
``archive`` (closed workflows)
    Each closed workflow's history is written to ``archive_dir`` twice: in the target engine's native JSON
    (``<target engine>/``) and in wfkit's portable JSON (``wfkit/``), with a ``manifest.json`` listing files,
    event counts and checksums; every file is read back and its event count checked.

As a durable job on an engine (large migrations): ``job = await plan.run(on=temporal, task_queue="migrations")``
starts the migration as a workflow there whose batches are activities, run by any number of worker processes
(``wfkit worker migrate --on URL --task-queue migrations``, or ``wfkit.migrate.worker(client, task_queue)``);
``await job.wait()`` watches it (a progress bar through its query), ``job.pause()``, ``job.resume()`` and
``job.cancel()`` signal it, ``await job.report()`` reads every row from its history (its checkpoint).

Blocking twins: ``wfkit.migrate.sync.plan(...)``, ``wfkit.migrate.sync.readiness(...)``, ``plan.sync.run(...)``.
"""

# Inside: _plan (plan(), MigrationPlan: the preview, and runs that journal, bound, time and report), _job (the run as
# a durable job on an engine: its workflow, the batch activity, worker(), MigrationJob), _strategies/
# (one class per strategy — restart, drain, archive — and the table that picks one by name), _checkpoint (the
# journal: a Checkpoint protocol and its JSONL file),
# _status (what a journal says: the workflows in flight), _report, _readiness, _history_args (what a migration reads
# from a history), _cli (``wfkit migrate`` / ``wfkit replay``).

from __future__ import annotations

from typing import Any

from wfkit._loop import run_sync
from wfkit.migrate._job import JobProgress, MigrationJob, worker
from wfkit.migrate._plan import STRATEGIES, MigrationPlan, plan
from wfkit.migrate._readiness import READINESS_COLUMNS, readiness
from wfkit.migrate._report import REPORT_COLUMNS, MigrationReport, MigrationStats
from wfkit.migrate._status import STATUS_COLUMNS, MigrationStatus, read_status
from wfkit.migrate._strategies import MIGRATION_MEMO_KEY, PREVIEW_COLUMNS

__all__ = [
    "JobProgress",
    "MIGRATION_MEMO_KEY",
    "PREVIEW_COLUMNS",
    "READINESS_COLUMNS",
    "REPORT_COLUMNS",
    "STATUS_COLUMNS",
    "STRATEGIES",
    "MigrationJob",
    "MigrationPlan",
    "MigrationReport",
    "MigrationStats",
    "MigrationStatus",
    "plan",
    "readiness",
    "read_status",
    "sync",
    "worker",
]


class _SyncModule:
    """``wfkit.migrate.sync``: ``plan`` and ``readiness`` that block (for plain scripts)."""

    def plan(self, *args: Any, **kwargs: Any) -> MigrationPlan:
        return run_sync(plan(*args, **kwargs))

    def readiness(self, *args: Any, **kwargs: Any) -> Any:
        return run_sync(readiness(*args, **kwargs))

    def __repr__(self) -> str:
        return "<sync twins of wfkit.migrate: plan, readiness>"


sync = _SyncModule()
