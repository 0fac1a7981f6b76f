"""``%wf worker``: a background worker on the current connection (:meth:`Connections.start_worker`)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from wfkit.notebook.commands._args import Context, parse, parser


def worker(ctx: Context, args: list[Any]) -> Any:
    p = parser("worker", "Start a background worker on the current connection; --list, --stop. It polls on "
                         "wfkit's loop thread while other cells run.")
    p.add_argument("--task-queue", default=None, help="the task queue to poll (default: "
                                                      "%%config WfMagic.default_task_queue)")
    p.add_argument("--workflows", nargs="+", default=[], help="workflow classes: names of notebook variables "
                                                             "or {{[A, B]}}")
    p.add_argument("--activities", nargs="+", default=[], help="activity functions: names or {{[f, g]}}")
    p.add_argument("--list", action="store_true", help="the running workers started this way")
    p.add_argument("--stop", action="store_true", help="stop the workers started this way")
    ns = parse(p, args)
    conns = ctx.connections
    if ns.stop:
        ctx.client  # noqa: B018 - says how to connect when nothing is
        print(f"stopped {conns.stop_workers()} worker(s)")
        return None
    if ns.list:
        ctx.client  # noqa: B018
        return conns.workers()
    tq = ns.task_queue or ctx.default_task_queue
    if not tq:
        raise UsageError("%wf worker needs --task-queue (or %config WfMagic.default_task_queue = '...')")
    workflows, activities = ctx.objects(ns.workflows), ctx.objects(ns.activities)
    if not workflows and not activities:
        raise UsageError("%wf worker needs --workflows and/or --activities")
    ctx.client  # noqa: B018
    return conns.start_worker(task_queue=tq, workflows=workflows, activities=activities)
