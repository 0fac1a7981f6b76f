"""Tab completion of ``%wf`` lines: subcommands, connection names, served workflow types, recent workflow IDs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wfkit.notebook.commands import COMMANDS
from wfkit.notebook.connections import Connections

#: ``target <<`` / ``target= <<`` before a subcommand: assign the result (and, with ``=``, show it).
ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=?)\s*<<\s*(.*)$", re.DOTALL)


def completions(line: str, connections: Connections) -> list[str]:
    """Candidates for the word being typed at the end of ``line`` (a ``%wf`` line)."""
    body = line.split("wf", 1)[1] if "wf" in line else line
    m = ASSIGN.match(body)
    if m:
        body = m.group(3)
    words = body.split()
    typing_new = body.endswith(" ") or not words
    prefix = "" if typing_new else words[-1]
    done = words if typing_new else words[:-1]
    pool = list(COMMANDS) if not done else _pool(done, connections)
    return [p for p in pool if p.startswith(prefix)]


def _pool(done: list[str], connections: Connections) -> list[str]:
    command = COMMANDS.get(done[0])
    kind = command.completes if command is not None else None
    if kind == "connection":
        return connections.names()
    if kind == "workflow_type" and len(done) == 1:
        from wfkit._definitions import _served

        return sorted(_served)
    if kind == "workflow_id":
        return [wid for name in connections.names() for wid in connections.get(name).recent_workflow_ids]
    return []


def matcher(connections: Connections) -> Callable[[Any], Any]:
    """An IPython context matcher completing ``%wf`` lines from ``connections``."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher()
    def wf_matcher(context: Any) -> Any:
        line = context.line_with_cursor
        if not line.lstrip().startswith(("%wf", "%%wf")):
            return {"completions": [], "suppress": False}
        return {"completions": [SimpleCompletion(text=c, type="wf") for c in completions(line, connections)],
                "suppress": True}

    return wf_matcher
