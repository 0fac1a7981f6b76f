"""The ``%wf`` subcommands: one plain function per subcommand, ``fn(ctx, args) -> result``, over the Python API.

:data:`COMMANDS` is the routing table the magic reads (its order is the order ``%wf`` lists them in). To add a
subcommand, write its function in the module of its topic and add one row here; completion reads the row too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from IPython.core.error import UsageError

from wfkit.notebook.commands import connections, executions, histories, migrate, operate, workers
from wfkit.notebook.commands._args import Context, Obj, ShowHelp, parse, parser, tokens

if TYPE_CHECKING:
    from IPython.core.magic_arguments import MagicArgumentParser

__all__ = ["COMMANDS", "Command", "Context", "Obj", "ShowHelp", "overview", "parser_of", "tokens"]


@dataclass(frozen=True)
class Command:
    """One row of the routing table."""

    run: Callable[[Context, list[Any]], Any]
    """The subcommand: parses its arguments, calls the Python API, returns the cell's result."""
    completes: Literal["connection", "workflow_type", "workflow_id"] | None = None
    """What tab completion offers for its arguments: connection names, served workflow types (first argument
    only) or recently seen workflow IDs."""
    example: str = ""
    """One example line (without ``%wf``), shown by ``%wf help`` and the docs."""


def help_(ctx: Context, args: list[Any]) -> Any:
    p = parser("help", "The subcommands, or one subcommand's usage.")
    p.add_argument("subcommand", nargs="?", default=None)
    ns = parse(p, args)
    if ns.subcommand is None:
        print(overview())
        return None
    if ns.subcommand not in COMMANDS:
        raise UsageError(f"unknown subcommand {ns.subcommand!r}; known: {', '.join(COMMANDS)}")
    print(usage(ns.subcommand))
    return None


COMMANDS: dict[str, Command] = {
    "connect": Command(connections.connect, example="connect temporal+dev:// --as local"),
    "connections": Command(connections.connections, example="connections"),
    "use": Command(connections.use, "connection", example="use local"),
    "worker": Command(workers.worker, example="worker --task-queue orders --workflows OrderWorkflow "
                                              "--activities charge"),
    "list": Command(executions.list_, example="df << list \"WorkflowType='OrderWorkflow'\" --limit 100"),
    "count": Command(executions.count, example="count \"ExecutionStatus='Running'\""),
    "start": Command(executions.start, "workflow_type",
                     example="start OrderWorkflow --id order-1 --task-queue orders --input {{order}}"),
    "describe": Command(executions.describe, "workflow_id", example="describe order-1"),
    "history": Command(histories.history, "workflow_id", example="history order-1 --timeline"),
    "diff": Command(histories.diff, "workflow_id", example="diff order-1 order-2"),
    "signal": Command(executions.signal, "workflow_id", example="signal order-1 cancel_order '\"late\"'"),
    "query": Command(executions.query, "workflow_id", example="query order-1 status"),
    "cancel": Command(executions.cancel, "workflow_id", example="cancel order-1"),
    "terminate": Command(executions.terminate, "workflow_id", example="terminate order-1 --reason stuck"),
    "result": Command(operate.result, "workflow_id", example="result order-1 --timeout 30"),
    "why": Command(operate.why, "workflow_id", example="why order-1"),
    "stack": Command(operate.stack, "workflow_id", example="stack order-1"),
    "task-queue": Command(operate.task_queue, example="task-queue orders"),
    "reset": Command(operate.reset, "workflow_id", example="reset order-1 --to first --yes"),
    "batch": Command(operate.batch, example="batch signal \"WorkflowType='OrderWorkflow'\" --signal retry --yes"),
    "namespaces": Command(operate.namespaces, example="namespaces"),
    "schedules": Command(operate.schedules, example="schedules nightly-report --pause --note 'maintenance'"),
    "replay": Command(histories.replay, example="replay --query \"WorkflowType='OrderWorkflow'\" "
                                                "--workflows {{[OrderWorkflow]}}"),
    "migrate": Command(migrate.migrate, example="migrate --from cadence --to temporal --plan-only"),
    "panel": Command(connections.panel, example="panel"),
    "close": Command(connections.close, "connection", example="close local"),
    "help": Command(help_, example="help start"),
}


@functools.cache
def parser_of(name: str) -> MagicArgumentParser:
    """The argparse parser of ``%wf <name>``: the one the subcommand itself builds (asked for with ``--help``)."""
    from wfkit.notebook.connections import Connections

    try:
        COMMANDS[name].run(Context(connections=Connections()), ["--help"])
    except ShowHelp as shown:
        return shown.parser
    raise AssertionError(f"%wf {name} does not parse its arguments first")  # pragma: no cover


def summary(name: str) -> str:
    """The first sentence of ``%wf <name>``'s description."""
    text = parser_of(name).description or ""
    return text.split(". ")[0].rstrip(".")


def usage(name: str) -> str:
    """``%wf <name> --help``: its usage, arguments and an example."""
    example = COMMANDS[name].example
    return parser_of(name).format_help() + (f"\nexample:\n  %wf {example}\n" if example else "")


def overview() -> str:
    """The subcommands, one line each, and how to read more (``%wf?``, ``%wf help``)."""
    width = max(map(len, COMMANDS))
    lines = ["%wf SUBCOMMAND [ARGS]   (%%wf: the cell body continues the line)", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {summary(name)}" for name in COMMANDS]
    lines += ["", "  target << SUBCOMMAND …   assigns the result to `target` (pandas DataFrames for list/history"
              " unless %config WfMagic.autopandas = False); `target= <<` also shows it",
              "  {{name}}                  passes the notebook variable itself as one argument",
              "", "examples:", "  %wf connect temporal+dev:// --as local",
              "  %wf worker --task-queue orders --workflows OrderWorkflow --activities charge",
              "  %wf start OrderWorkflow --id order-1 --task-queue orders --input {{order}}",
              "", "%wf help SUBCOMMAND or %wf SUBCOMMAND --help: one subcommand's arguments."]
    return "\n".join(lines)
