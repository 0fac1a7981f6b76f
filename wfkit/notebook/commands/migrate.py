"""``%wf migrate``: plan and run a migration between two connections (:mod:`wfkit.migrate`)."""

from __future__ import annotations

from typing import Any

from wfkit.notebook.commands._args import Context, as_list, parse, parser


def migrate(ctx: Context, args: list[Any]) -> Any:
    from wfkit import migrate as migration
    from wfkit.migrate._plan import DEFAULT_JOB_TASK_QUEUE

    p = parser("migrate", "Plan and run a migration between two connections (names or URLs).")
    p.add_argument("--from", dest="source", required=True)
    p.add_argument("--to", dest="target", required=True)
    p.add_argument("--query", default=None)
    p.add_argument("--strategy", default="restart", choices=list(migration.STRATEGIES))
    p.add_argument("--allow-reexecution", action="store_true")
    p.add_argument("--workflows", default=None, help="{{[WorkflowClass, ...]}}")
    p.add_argument("--archive-dir", default=None)
    p.add_argument("--checkpoint", default="auto", help="JSONL journal (default: this migration's own file)")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--plan-only", action="store_true", help="return the plan (see its .preview)")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--on", default=None, metavar="CONNECTION",
                   help="run it as a durable job on this connection's engine (restart); returns the MigrationJob "
                        "(its workers: wfkit worker migrate --on URL --task-queue Q)")
    p.add_argument("--job-task-queue", default=DEFAULT_JOB_TASK_QUEUE,
                   help="with --on: the job's task queue")
    p.add_argument("--parallel", type=int, default=4, help="with --on: batches under way at once")
    p.add_argument("--wait", action="store_true", help="with --on: watch the job to its end (a progress bar)")
    ns = parse(p, args)
    source = ctx.connections.get_or_connect(ns.source)
    target = ctx.connections.get_or_connect(ns.target)
    plan = migration.sync.plan(source, target, query=ns.query, strategy=ns.strategy,
                             allow_reexecution=ns.allow_reexecution, workflows=as_list(ns.workflows),
                             archive_dir=ns.archive_dir)
    if ns.plan_only:
        return plan
    if ns.on is not None:
        on = ctx.connections.get_or_connect(ns.on)
        job = plan.sync.run(batch_size=ns.batch_size, on=on, task_queue=ns.job_task_queue, parallel=ns.parallel)
        if ns.wait:
            job.sync.wait()
        return job
    return plan.sync.run(batch_size=ns.batch_size, checkpoint=ns.checkpoint, dry_run=ns.dry_run)
