"""The ``%wf`` subcommands: one plain function per subcommand, ``fn(ctx, args) -> result``, over the Python API.

:data:`COMMANDS` is the routing table the magic reads (its order is the order ``%wf`` lists them in). To add a
subcommand, write its function in the module of its topic and add one row here; completion reads the row too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from wfkit.notebook.commands import connections, executions, histories, migrate
from wfkit.notebook.commands._args import Context, Obj, tokens

__all__ = ["COMMANDS", "Command", "Context", "Obj", "tokens"]


@dataclass(frozen=True)
class Command:
    """One row of the routing table."""

    run: Callable[[Context, list[Any]], Any]
    """The subcommand: parses its arguments, calls the Python API, returns the cell's result."""
    completes: Literal["connection", "workflow_type", "workflow_id"] | None = None
    """What tab completion offers for its arguments: connection names, served workflow types (first argument
    only) or recently seen workflow IDs."""


COMMANDS: dict[str, Command] = {
    "connect": Command(connections.connect),
    "connections": Command(connections.connections),
    "use": Command(connections.use, "connection"),
    "list": Command(executions.list_),
    "count": Command(executions.count),
    "start": Command(executions.start, "workflow_type"),
    "describe": Command(executions.describe, "workflow_id"),
    "history": Command(histories.history, "workflow_id"),
    "diff": Command(histories.diff, "workflow_id"),
    "signal": Command(executions.signal, "workflow_id"),
    "query": Command(executions.query, "workflow_id"),
    "cancel": Command(executions.cancel, "workflow_id"),
    "terminate": Command(executions.terminate, "workflow_id"),
    "replay": Command(histories.replay),
    "migrate": Command(migrate.migrate),
    "panel": Command(connections.panel),
    "close": Command(connections.close, "connection"),
}
