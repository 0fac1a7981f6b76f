"""``%wf list | count | start | describe | signal | query | cancel | terminate``: executions, through the current
connection's client."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from wfkit.notebook.commands._args import Context, handle_parser, parse, parser, value


def list_(ctx: Context, args: list[Any]) -> Any:
    p = parser("list", "List executions matching a visibility query.")
    p.add_argument("query", nargs="*")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--timeline", action="store_true", help="draw them: one row per workflow, coloured by outcome")
    ns = parse(p, args)
    executions = ctx.client.sync.list(" ".join(map(str, ns.query)) or None, limit=ns.limit or ctx.default_limit)
    if ns.timeline:
        from wfkit.notebook.plotting import plot_workflows

        plot_workflows(executions)  # shown by the notebook's backend, not echoed
        return None
    return executions


def count(ctx: Context, args: list[Any]) -> Any:
    p = parser("count", "Count executions matching a visibility query.")
    p.add_argument("query", nargs="*")
    ns = parse(p, args)
    return ctx.client.sync.count(" ".join(map(str, ns.query)) or None)


def start(ctx: Context, args: list[Any]) -> Any:
    p = parser("start", "Start a workflow by type name (or {{WorkflowClass}}).")
    p.add_argument("workflow")
    p.add_argument("--id", default=None)
    p.add_argument("--task-queue", default=None)
    p.add_argument("--input", action="append", default=[], help="an argument (JSON or {{var}}); repeatable")
    p.add_argument("--execution-timeout", type=float, default=None)
    ns = parse(p, args)
    tq = ns.task_queue or ctx.default_task_queue
    if not tq:
        raise UsageError("%wf start needs --task-queue (or %config WfMagic.default_task_queue = '...')")
    return ctx.client.sync.start(value(ns.workflow), *[value(v) for v in ns.input], id=ns.id, task_queue=tq,
                                 execution_timeout=ns.execution_timeout)


def describe(ctx: Context, args: list[Any]) -> Any:
    ns = parse(handle_parser("describe", "Describe a workflow execution."), args)
    return ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.describe()


def signal(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("signal", "Send a signal; each further argument is JSON or {{var}}.")
    p.add_argument("name")
    p.add_argument("args", nargs="*")
    ns = parse(p, args)
    ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.signal(ns.name, *[value(a) for a in ns.args])
    return None


def query(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("query", "Ask a query; each further argument is JSON or {{var}}.")
    p.add_argument("name")
    p.add_argument("args", nargs="*")
    p.add_argument("--timeout", type=float, default=10)
    ns = parse(p, args)
    return ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.query(ns.name, *[value(a) for a in ns.args],
                                                                        timeout=ns.timeout)


def cancel(ctx: Context, args: list[Any]) -> Any:
    ns = parse(handle_parser("cancel", "Request cancellation of a workflow."), args)
    ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.cancel()
    return None


def terminate(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("terminate", "Terminate a workflow at once.")
    p.add_argument("--reason", default=None)
    ns = parse(p, args)
    ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.terminate(reason=ns.reason)
    return None
