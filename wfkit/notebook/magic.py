"""``%wf`` / ``%%wf``: one IPython magic with subcommands, each a thin shell over the Python API.

    %wf connect temporal://localhost:7233 --as prod     %wf connections      %wf use prod
    %wf list "WorkflowType='OrderWorkflow'" --limit 100  %wf count "..."
    %wf start OrderWorkflow --id order-1 --task-queue orders --input {{order}}
    %wf describe order-1   %wf history order-1 [--activities|--timeline|--json]   %wf diff a b
    %wf signal order-1 cancel_order '"late"'   %wf query order-1 status   %wf cancel order-1   %wf terminate order-1
    %wf df << list "..."      (assign to df, no display; `df= <<` assigns and displays)
    %%wf df <<                (cell form: the body is one subcommand)

``{{name}}`` passes the Python object itself as that argument's value. Errors print one line unless
``%config WfMagic.short_errors = False``.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Bool, Int, Unicode, validate

from wfkit._errors import WfkitError

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=?)\s*<<\s*(.*)$", re.DOTALL)
_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")

SUBCOMMANDS = ("connect", "connections", "use", "list", "count", "start", "describe", "history", "diff", "signal",
               "query", "cancel", "terminate", "replay", "migrate", "panel", "close")


class _Obj:
    """A ``{{name}}`` placeholder standing for a Python object until the arguments are parsed."""

    def __init__(self, value: Any):
        self.value = value


def _parser(name: str, description: str) -> MagicArgumentParser:
    return MagicArgumentParser(prog=f"%wf {name}", description=description, add_help=False)


def _value(text: Any) -> Any:
    """A command-line value: an object passed with {{name}}, else JSON, else the text itself."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


@magics_class
class WfMagic(Magics):
    """The ``%wf`` magic. Settings: ``%config WfMagic.<name> = value``."""

    short_errors = Bool(True, help="Print errors as one line (TypeName: message) instead of a traceback.").tag(
        config=True)
    display_limit = Int(50, help="Rows shown for lists and histories (a footer says when rows are cut).").tag(
        config=True)
    default_limit = Int(1000, help="Executions fetched by `%wf list` without --limit.").tag(config=True)
    default_task_queue = Unicode("", help="Task queue used by `%wf start` without --task-queue.").tag(config=True)

    @validate("display_limit", "default_limit")
    def _positive(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ValueError(f"{proposal['trait'].name} must be >= 1")
        return proposal["value"]

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        self.connections: dict[str, Any] = {}
        self.current: str | None = None
        self._commands: dict[str, Callable[[list[Any]], Any]] = {
            name: getattr(self, f"_cmd_{name}") for name in SUBCOMMANDS}

    # --- entry points ----------------------------------------------------------------------------------
    @no_var_expand
    @line_magic("wf")
    def wf_line(self, line: str) -> Any:
        return self._run(line)

    @no_var_expand
    @cell_magic("wf")
    def wf_cell(self, line: str, cell: str) -> Any:
        return self._run(f"{line} {cell}")

    def _run(self, text: str) -> Any:
        target, show = None, True
        m = _ASSIGN.match(text)
        if m:
            target, show, text = m.group(1), bool(m.group(2)), m.group(3)
        try:
            tokens = self._tokens(text)
            if not tokens:
                raise UsageError(f"%wf needs a subcommand: {', '.join(SUBCOMMANDS)}")
            name, args = tokens[0], tokens[1:]
            if not isinstance(name, str) or name not in self._commands:
                close = difflib.get_close_matches(name, SUBCOMMANDS, n=1) if isinstance(name, str) else []
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise UsageError(f"unknown subcommand {name!r}{hint}; known: {', '.join(SUBCOMMANDS)}")
            result = self._commands[name](args)
        except (WfkitError, UsageError, ValueError) as exc:
            if not self.short_errors:
                raise
            label = "UsageError" if isinstance(exc, UsageError) else type(exc).__name__
            print(f"{label}: {exc}", file=sys.stderr)
            return None
        if target is not None:
            self.shell.user_ns[target] = result
            return result if show else None
        return result

    def _tokens(self, text: str) -> list[Any]:
        objects: dict[str, Any] = {}

        def sub(m: re.Match[str]) -> str:
            key = f"\x00{len(objects)}\x00"
            objects[key] = self._lookup(m.group(1))
            return key

        replaced = _VAR.sub(sub, text)
        try:
            raw = shlex.split(replaced)
        except ValueError as exc:
            raise UsageError(f"cannot split the command line: {exc}") from None
        out: list[Any] = []
        for tok in raw:
            if tok in objects:
                out.append(_Obj(objects[tok]))
            else:
                for key, value in objects.items():  # a {{name}} inside a longer word: its text
                    tok = tok.replace(key, str(value))
                out.append(tok)
        return out

    def _lookup(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        if head not in self.shell.user_ns:
            raise UsageError(f"{{{{{dotted}}}}}: no variable {head!r} in this notebook")
        value = self.shell.user_ns[head]
        for part in rest:
            value = getattr(value, part)
        return value

    def _parse(self, parser: MagicArgumentParser, args: list[Any]) -> Any:
        texts = [a if isinstance(a, str) else f"\x01{i}" for i, a in enumerate(args)]
        ns = parser.parse_args(texts)
        def back(v: Any) -> Any:  # put {{objects}} back
            return args[int(v[1:])].value if isinstance(v, str) and v.startswith("\x01") else v

        for key, val in vars(ns).items():
            setattr(ns, key, [back(v) for v in val] if isinstance(val, list) else back(val))
        return ns

    # --- connections -------------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self.current is None:
            raise UsageError("not connected: %wf connect temporal://host:7233 (or temporal+dev://) first")
        return self.connections[self.current]

    def _cmd_connect(self, args: list[Any]) -> Any:
        from wfkit._client import connect_sync

        p = _parser("connect", "Connect to an engine and make it the current connection.")
        p.add_argument("url", nargs="?", default=None)
        p.add_argument("--as", dest="alias", default=None)
        p.add_argument("--api-key", default=None)
        ns = self._parse(p, args)
        client = connect_sync(ns.url, api_key=ns.api_key)
        alias = ns.alias or f"{client.engine}{'' if client.engine not in self.connections else len(self.connections)}"
        old = self.connections.get(alias)
        if old is not None:
            old.sync.close()
        self.connections[alias] = client
        self.current = alias
        return client

    def _cmd_connections(self, args: list[Any]) -> Any:
        import pandas as pd

        rows = [{"name": n, "current": n == self.current, "engine": c.engine, "address": c.address,
                 "namespace": c.namespace} for n, c in self.connections.items()]
        return pd.DataFrame(rows, columns=["name", "current", "engine", "address", "namespace"])

    def _cmd_use(self, args: list[Any]) -> Any:
        p = _parser("use", "Make a named connection the current one.")
        p.add_argument("name")
        ns = self._parse(p, args)
        if ns.name not in self.connections:
            raise UsageError(f"no connection named {ns.name!r} (have: {', '.join(self.connections) or 'none'})")
        self.current = ns.name
        return self.connections[ns.name]

    def _cmd_close(self, args: list[Any]) -> Any:
        p = _parser("close", "Close a connection (default: the current one).")
        p.add_argument("name", nargs="?", default=None)
        ns = self._parse(p, args)
        name = ns.name or self.current
        client = self.connections.pop(name, None) if name else None
        if client is None:
            raise UsageError(f"no connection named {name!r}")
        client.sync.close()
        if self.current == name:
            self.current = next(iter(self.connections), None)
        return None

    # --- executions ----------------------------------------------------------------------------------------
    def _cmd_list(self, args: list[Any]) -> Any:
        p = _parser("list", "List executions matching a visibility query.")
        p.add_argument("query", nargs="*")
        p.add_argument("--limit", type=int, default=None)
        ns = self._parse(p, args)
        return self.client.sync.list(" ".join(map(str, ns.query)) or None, limit=ns.limit or self.default_limit)

    def _cmd_count(self, args: list[Any]) -> Any:
        p = _parser("count", "Count executions matching a visibility query.")
        p.add_argument("query", nargs="*")
        ns = self._parse(p, args)
        return self.client.sync.count(" ".join(map(str, ns.query)) or None)

    def _cmd_start(self, args: list[Any]) -> Any:
        p = _parser("start", "Start a workflow by type name (or {{WorkflowClass}}).")
        p.add_argument("workflow")
        p.add_argument("--id", default=None)
        p.add_argument("--task-queue", default=None)
        p.add_argument("--input", action="append", default=[], help="an argument (JSON or {{var}}); repeatable")
        p.add_argument("--execution-timeout", type=float, default=None)
        ns = self._parse(p, args)
        tq = ns.task_queue or self.default_task_queue
        if not tq:
            raise UsageError("%wf start needs --task-queue (or %config WfMagic.default_task_queue = '...')")
        workflow = _value(ns.workflow)
        return self.client.sync.start(workflow, *[_value(v) for v in ns.input], id=ns.id, task_queue=tq,
                                      execution_timeout=ns.execution_timeout)

    def _handle_args(self, name: str, description: str) -> MagicArgumentParser:
        p = _parser(name, description)
        p.add_argument("workflow_id")
        p.add_argument("--run-id", default=None)
        return p

    def _cmd_describe(self, args: list[Any]) -> Any:
        ns = self._parse(self._handle_args("describe", "Describe a workflow execution."), args)
        return self.client.sync.handle(ns.workflow_id, ns.run_id).sync.describe()

    def _cmd_history(self, args: list[Any]) -> Any:
        p = self._handle_args("history", "A workflow's event history (History, or a view of it).")
        view = p.add_mutually_exclusive_group()
        view.add_argument("--activities", action="store_true")
        view.add_argument("--timeline", action="store_true")
        view.add_argument("--json", action="store_true")
        view.add_argument("--frame", action="store_true")
        ns = self._parse(p, args)
        hist = self.client.sync.handle(ns.workflow_id, ns.run_id).sync.history()
        if ns.activities:
            return hist.activities()
        if ns.timeline:
            return hist.plot_timeline()
        if ns.json:
            print(hist.to_json(format="wfkit"))
            return None
        if ns.frame:
            return hist.to_dataframe()
        return hist

    def _cmd_diff(self, args: list[Any]) -> Any:
        from wfkit.history._history import diff

        p = _parser("diff", "Events that differ between two workflows' histories.")
        p.add_argument("a")
        p.add_argument("b")
        ns = self._parse(p, args)
        ha = self.client.sync.handle(ns.a).sync.history()
        hb = self.client.sync.handle(ns.b).sync.history()
        return diff(ha, hb)

    def _cmd_signal(self, args: list[Any]) -> Any:
        p = self._handle_args("signal", "Send a signal; each further argument is JSON or {{var}}.")
        p.add_argument("name")
        p.add_argument("args", nargs="*")
        ns = self._parse(p, args)
        self.client.sync.handle(ns.workflow_id, ns.run_id).sync.signal(ns.name, *[_value(a) for a in ns.args])
        return None

    def _cmd_query(self, args: list[Any]) -> Any:
        p = self._handle_args("query", "Ask a query; each further argument is JSON or {{var}}.")
        p.add_argument("name")
        p.add_argument("args", nargs="*")
        p.add_argument("--timeout", type=float, default=10)
        ns = self._parse(p, args)
        return self.client.sync.handle(ns.workflow_id, ns.run_id).sync.query(
            ns.name, *[_value(a) for a in ns.args], timeout=ns.timeout)

    def _cmd_cancel(self, args: list[Any]) -> Any:
        ns = self._parse(self._handle_args("cancel", "Request cancellation of a workflow."), args)
        self.client.sync.handle(ns.workflow_id, ns.run_id).sync.cancel()
        return None

    def _cmd_terminate(self, args: list[Any]) -> Any:
        p = self._handle_args("terminate", "Terminate a workflow at once.")
        p.add_argument("--reason", default=None)
        ns = self._parse(p, args)
        self.client.sync.handle(ns.workflow_id, ns.run_id).sync.terminate(reason=ns.reason)
        return None

    def _client_named(self, name: str) -> Any:
        """A connection by its name (or a URL, connected for the occasion and kept under that URL)."""
        if name in self.connections:
            return self.connections[name]
        if "://" in name:
            from wfkit._client import connect_sync

            self.connections[name] = connect_sync(name)
            return self.connections[name]
        raise UsageError(f"no connection named {name!r} (have: {', '.join(self.connections) or 'none'})")

    def _cmd_replay(self, args: list[Any]) -> Any:
        from wfkit._loop import run_sync
        from wfkit._replay import replay

        p = _parser("replay", "Replay workflows' histories against workflow code: a frame workflow_id, ok, error.")
        p.add_argument("workflow_ids", nargs="*")
        p.add_argument("--query", default=None, help="replay the workflows this query lists")
        p.add_argument("--limit", type=int, default=1000)
        p.add_argument("--workflows", required=True, help="{{[WorkflowClass, ...]}} to replay against")
        p.add_argument("--engine", default="temporal", choices=["temporal", "cadence"])
        ns = self._parse(p, args)
        ids = [(w, None) for w in ns.workflow_ids]
        if ns.query:
            ids += [(e.workflow_id, e.run_id) for e in self.client.sync.list(ns.query, limit=ns.limit)]
        if not ids:
            raise UsageError("%wf replay needs workflow IDs or --query")
        workflows = ns.workflows if isinstance(ns.workflows, (list, tuple)) else [ns.workflows]
        histories = self.client.sync.fetch_histories(ids, progress=False)
        return run_sync(replay(histories, workflows=workflows, engine=ns.engine))

    def _cmd_migrate(self, args: list[Any]) -> Any:
        from wfkit import migrate

        p = _parser("migrate", "Plan and run a migration between two connections (names or URLs).")
        p.add_argument("--from", dest="source", required=True)
        p.add_argument("--to", dest="target", required=True)
        p.add_argument("--query", default=None)
        p.add_argument("--strategy", default="restart", choices=["restart", "drain", "archive"])
        p.add_argument("--allow-reexecution", action="store_true")
        p.add_argument("--workflows", default=None, help="{{[WorkflowClass, ...]}}")
        p.add_argument("--archive-dir", default=None)
        p.add_argument("--checkpoint", default="migration.jsonl")
        p.add_argument("--batch-size", type=int, default=50)
        p.add_argument("--plan-only", action="store_true", help="return the plan (see its .preview)")
        p.add_argument("--dry-run", action="store_true")
        ns = self._parse(p, args)
        workflows = ns.workflows
        if workflows is not None and not isinstance(workflows, (list, tuple)):
            workflows = [workflows]
        plan = migrate.sync.plan(self._client_named(ns.source), self._client_named(ns.target), query=ns.query,
                                 strategy=ns.strategy, allow_reexecution=ns.allow_reexecution,
                                 workflows=workflows, archive_dir=ns.archive_dir)
        if ns.plan_only:
            return plan
        return plan.sync.run(batch_size=ns.batch_size, checkpoint=ns.checkpoint, dry_run=ns.dry_run)

    def _cmd_panel(self, args: list[Any]) -> Any:
        from wfkit.notebook.widgets import Panel

        return Panel(self)

    # --- completion ----------------------------------------------------------------------------------------
    def completions(self, line: str) -> list[str]:
        """Candidates for the word being typed at the end of ``line`` (a ``%wf`` line)."""
        body = line.split("wf", 1)[1] if "wf" in line else line
        m = _ASSIGN.match(body)
        if m:
            body = m.group(3)
        words = body.split()
        typing_new = body.endswith(" ") or not words
        prefix = "" if typing_new else words[-1]
        done = words if typing_new else words[:-1]
        if not done:
            pool: list[str] = list(SUBCOMMANDS)
        else:
            sub = done[0]
            if sub == "use" or sub == "close":
                pool = list(self.connections)
            elif sub == "start" and len(done) == 1:
                from wfkit._definitions import _served

                pool = sorted(_served)
            elif sub in ("describe", "history", "signal", "query", "cancel", "terminate", "diff"):
                pool = self._recent_ids()
            else:
                pool = []
        return [p for p in pool if p.startswith(prefix)]

    def _recent_ids(self) -> list[str]:
        ids: list[str] = []
        for c in self.connections.values():
            ids.extend(reversed(c._recent_ids))
        return ids


def _matcher_for(magic: WfMagic) -> Callable[[Any], Any]:
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher()
    def wf_matcher(context: Any) -> Any:
        line = context.line_with_cursor
        if not line.lstrip().startswith(("%wf", "%%wf")):
            return {"completions": [], "suppress": False}
        return {"completions": [SimpleCompletion(text=c, type="wf") for c in magic.completions(line)],
                "suppress": True}

    return wf_matcher


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext wfkit``: register ``%wf``/``%%wf``, its settings and its tab completion."""
    magic = WfMagic(shell=ipython)
    ipython.register_magics(magic)
    ipython.configurables.append(magic)
    completer = getattr(ipython, "Completer", None)
    if completer is not None:
        completer.custom_matchers.append(_matcher_for(magic))
