"""``%wf result | why | stack | task-queue | reset | batch | namespaces | schedules``: operating running workflows,
through the current connection's client (each a thin shell over ``WorkflowHandle``/``Client`` methods)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from wfkit.notebook.commands._args import Context, handle_parser, parse, parser, value


def result(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("result", "Wait for a workflow's result (following continue-as-new).")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait (default: as long as it takes)")
    ns = parse(p, args)
    return ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.result(timeout=ns.timeout)


def why(ctx: Context, args: list[Any]) -> Any:
    ns = parse(handle_parser("why", "Why a workflow is stuck, with the evidence. Findings: no worker on its task "
                                    "queue, a failing workflow task, a retrying activity, a timer, a signal or a "
                                    "child it waits on."), args)
    return ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.diagnose()


class _Text(str):
    """A string the notebook shows as lines, not as a quoted repr."""

    def __repr__(self) -> str:
        return str(self)


def stack(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("stack", "Where the workflow's code waits now (a worker running it answers).")
    p.add_argument("--timeout", type=float, default=10)
    ns = parse(p, args)
    return _Text(ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.stack(timeout=ns.timeout))


def task_queue(ctx: Context, args: list[Any]) -> Any:
    p = parser("task-queue", "Who polls a task queue (Cadence: task list) and its backlog.")
    p.add_argument("name")
    ns = parse(p, args)
    return ctx.client.sync.task_queue(str(ns.name))


def _reset_to(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def reset(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("reset", "Reset a workflow (preview without --yes). To its last or first completed workflow "
                               "task, or an event ID; the preview lists the events discarded and signals reapplied.")
    p.add_argument("--to", default="last", help="last, first or an event ID (default: last)")
    p.add_argument("--reason", default=None)
    p.add_argument("--yes", action="store_true", help="do it (without: the preview only)")
    ns = parse(p, args)
    plan = ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.reset_preview(_reset_to(str(ns.to)))
    if not ns.yes:
        return plan
    from wfkit._loop import run_sync

    return run_sync(plan.reset(reason=ns.reason))


def batch(ctx: Context, args: list[Any]) -> Any:
    p = parser("batch", "Signal, cancel, terminate or reset the running workflows a query matches (preview without "
                        "--yes). With --yes: the results frame; the same batch again never acts twice.")
    p.add_argument("action", choices=["signal", "cancel", "terminate", "reset"])
    p.add_argument("query", help="a list query (quote it)")
    p.add_argument("--signal", default=None, help="the signal's name (action signal)")
    p.add_argument("--arg", action="append", default=[], help="a signal argument (JSON or {{var}}); repeatable")
    p.add_argument("--reason", default=None)
    p.add_argument("--to", default="last", help="reset to: last, first or an event ID")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--journal", default="auto", help="the batch's journal file ('none': keep none)")
    p.add_argument("--yes", action="store_true", help="do it (without: the preview only)")
    ns = parse(p, args)
    journal = None if str(ns.journal).lower() == "none" else str(ns.journal)
    plan = ctx.client.sync.batch(ns.action, str(ns.query), signal=ns.signal,
                                 args=[value(a) for a in ns.arg], reason=ns.reason, reset_to=_reset_to(str(ns.to)),
                                 limit=ns.limit or ctx.default_limit, journal=journal, concurrency=ns.concurrency)
    if not ns.yes:
        return plan
    from wfkit._loop import run_sync

    return run_sync(plan.run(confirm=True, concurrency=ns.concurrency))


def namespaces(ctx: Context, args: list[Any]) -> Any:
    p = parser("namespaces", "The server's namespaces (Cadence: domains), or one described.")
    p.add_argument("name", nargs="?", default=None)
    ns = parse(p, args)
    if ns.name:
        return ctx.client.sync.describe_namespace(str(ns.name))
    return ctx.client.sync.namespaces().to_dataframe()



def schedules(ctx: Context, args: list[Any]) -> Any:
    p = parser("schedules", "The namespace's schedules (Temporal), one described, or one paused, unpaused, "
                            "triggered or deleted.")
    p.add_argument("schedule_id", nargs="?", default=None)
    group = p.add_mutually_exclusive_group()
    for action in ("pause", "unpause", "trigger", "delete"):
        group.add_argument(f"--{action}", action="store_true")
    p.add_argument("--note", default=None, help="recorded with --pause/--unpause")
    ns = parse(p, args)
    client = ctx.client.sync
    acting = next((a for a in ("pause", "unpause", "trigger", "delete") if getattr(ns, a)), None)
    if ns.schedule_id is None:
        if acting:
            raise UsageError(f"%wf schedules --{acting} needs a schedule ID")
        return client.schedules().to_dataframe()
    sid = str(ns.schedule_id)
    if acting in ("pause", "unpause"):
        getattr(client, f"{acting}_schedule")(sid, note=ns.note)
    elif acting is not None:
        getattr(client, f"{acting}_schedule")(sid)
    if acting == "delete":
        return None
    return client.describe_schedule(sid)
