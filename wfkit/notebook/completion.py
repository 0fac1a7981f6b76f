"""Tab completion of ``%wf`` lines, from the routing table and each subcommand's own parser: subcommands, their
flags, option choices, connection names, workflow types and classes, workflow IDs this kernel started, listed or
described, and the query/signal names of a workflow whose type is known. No I/O: it answers from memory."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import Any

from wfkit.notebook.commands import COMMANDS, parser_of
from wfkit.notebook.connections import Connections

#: ``target <<`` / ``target= <<`` before a subcommand: assign the result (and, with ``=``, show it).
ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=?)\s*<<\s*(.*)$", re.DOTALL)

# Options whose values name connections, or notebook variables holding workflow classes / activity functions.
_CONNECTION_OPTIONS = ("--from", "--to")
_OBJECT_OPTIONS = {"--workflows": "__wfkit_workflow__", "--activities": "__wfkit_activity__"}


def completions(line: str, connections: Connections, namespace: Mapping[str, Any] | None = None) -> list[str]:
    """Candidates for the word being typed at the end of ``line`` (a ``%wf`` line); ``namespace`` is the
    notebook's variables (workflow classes and activities are offered from it)."""
    body = line.split("wf", 1)[1] if "wf" in line else line
    m = ASSIGN.match(body)
    if m:
        body = m.group(3)
    words = body.split()
    typing_new = body.endswith(" ") or not words
    prefix = "" if typing_new else words[-1]
    done = words if typing_new else words[:-1]
    pool = list(COMMANDS) if not done else _pool(done, prefix, connections, namespace or {})
    return [p for p in dict.fromkeys(pool) if p.startswith(prefix)]


def _pool(done: list[str], prefix: str, connections: Connections, namespace: Mapping[str, Any]) -> list[str]:
    name = done[0]
    if name not in COMMANDS:
        return []
    parser = parser_of(name)
    options = {s: a for a in parser._actions for s in a.option_strings}
    if prefix.startswith("-"):
        return [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    # the value of an option?
    last = options.get(done[-1]) if len(done) > 1 else None
    if last is not None and last.nargs != 0:
        if last.choices:
            return [str(c) for c in last.choices]
        if done[-1] in _CONNECTION_OPTIONS:
            return connections.names()
        if done[-1] in _OBJECT_OPTIONS:
            return _objects(namespace, _OBJECT_OPTIONS[done[-1]])
        return []
    positional = _positionals(done[1:], options)
    if name == "help" and not positional:
        return list(COMMANDS)
    kind = COMMANDS[name].completes
    if kind == "connection" and not positional:
        return connections.names()
    if kind == "workflow_type" and not positional:
        from wfkit._definitions import _served

        return sorted({*_served, *_objects(namespace, "__wfkit_workflow__")})
    if kind == "workflow_id":
        if not positional or (name == "diff" and len(positional) == 1):
            return _recent_ids(connections)
        if name in ("query", "signal") and len(positional) == 1:
            return _handlers(positional[0], "queries" if name == "query" else "signals", connections, namespace)
    return []


def _positionals(words: list[str], options: dict[str, argparse.Action]) -> list[str]:
    """The positional arguments among ``words`` (options and their values left out)."""
    out: list[str] = []
    skip = 0
    for word in words:
        if skip:
            skip -= 1
            continue
        action = options.get(word)
        if action is not None:
            skip = 0 if action.nargs == 0 else 1
        elif not word.startswith("-"):
            out.append(word)
    return out


def _recent_ids(connections: Connections) -> list[str]:
    return [wid for name in connections.names() for wid in connections.get(name).recent_workflow_ids]


def _objects(namespace: Mapping[str, Any], marker: str) -> list[str]:
    """Names of notebook variables that are workflow classes (or activities), by their ``@wfkit`` marker."""
    return sorted(k for k, v in list(namespace.items()) if not k.startswith("_") and _has(v, marker))


def _has(value: Any, marker: str) -> bool:
    try:
        return marker in getattr(value, "__dict__", {}) or hasattr(value, marker)
    except Exception:  # noqa: BLE001 - a notebook variable whose attribute access fails is not a definition
        return False


def _handlers(workflow_id: str, kind: str, connections: Connections, namespace: Mapping[str, Any]) -> list[str]:
    """Query or signal names of the workflow ``workflow_id``, when its type is known (started or listed here)
    and its definition is served by a worker here or is a class in the notebook."""
    from wfkit._definitions import _served

    wtype = next((t for n in connections.names() if (t := connections.get(n).recent_workflow_type(workflow_id))),
                 None)
    if wtype is None:
        return []
    defn = _served.get(wtype)
    if defn is None:
        defn = next((d for k in _objects(namespace, "__wfkit_workflow__")
                     if getattr(d := namespace[k].__wfkit_workflow__, "name", None) == wtype), None)
    # wfkit's own handlers (double underscore) are not the user's to call
    return sorted(n for n in getattr(defn, kind) if not n.startswith("__")) if defn is not None else []


def matcher(connections: Connections, namespace: Mapping[str, Any] | None = None) -> Callable[[Any], Any]:
    """An IPython context matcher completing ``%wf`` lines from ``connections`` (and the notebook's
    ``namespace``). It runs before IPython's own matchers and, on a ``%wf`` line, replaces them."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(priority=100)
    def wf_matcher(context: Any) -> Any:
        line = context.line_with_cursor
        if not line.lstrip().startswith(("%wf", "%%wf")):
            return {"completions": [], "suppress": False}
        found = completions(line, connections, namespace)
        # IPython lets a matcher silence the others only when it has something to offer; with nothing to
        # offer, the word typed so far is offered back (a no-op) so that Python names do not flood a %wf line.
        token = context.token or ""
        items = found or [token]
        return {"completions": [SimpleCompletion(text=c, type="wf") for c in items], "suppress": True}

    return wf_matcher
