"""``%wf`` / ``%%wf``: one IPython magic with subcommands, routed through :data:`wfkit.notebook.commands.COMMANDS`.

    %wf connect temporal://localhost:7233 --as prod     %wf connections      %wf use prod
    %wf list "WorkflowType='OrderWorkflow'" --limit 100  %wf count "..."
    %wf start OrderWorkflow --id order-1 --task-queue orders --input {{order}}
    %wf describe order-1   %wf history order-1 [--activities|--timeline|--json]   %wf diff a b
    %wf signal order-1 cancel_order '"late"'   %wf query order-1 status   %wf cancel order-1   %wf terminate order-1
    %wf worker --task-queue orders --workflows OrderWorkflow --activities charge   (a background worker)
    %wf df << list "..."      (assign to df, no display; `df= <<` assigns and displays)
    %%wf df <<                (cell form: the body is one subcommand)

``{{name}}`` passes the Python object itself as that argument's value. Errors print one line unless
``%config WfMagic.short_errors = False``. ``%wf?`` and ``%wf help`` list the subcommands, ``%wf SUB --help`` (or
``%wf help SUB``) shows one subcommand's usage.

The magic keeps no state of its own: connections live in a :class:`~wfkit.notebook.connections.Connections`
registry (the process's default one unless given), settings are traitlets.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from traitlets import Bool, Int, Unicode, observe, validate

from wfkit._errors import WfkitError
from wfkit.notebook import connections as _connections
from wfkit.notebook.commands import COMMANDS, Context, ShowHelp, overview, tokens, usage
from wfkit.notebook.completion import ASSIGN, completions, matcher
from wfkit.notebook.connections import Connections, NotConnected, UnknownConnection

__all__ = ["SUBCOMMANDS", "WfMagic", "load_ipython_extension"]

SUBCOMMANDS = tuple(COMMANDS)

# Subcommands whose results `target << …` assigns as a DataFrame (with %config WfMagic.autopandas).
_AUTOPANDAS = ("list", "history")

# A wrong connection name or no connection is a mistake in the command line: shown as a UsageError.
_USAGE = (UsageError, NotConnected, UnknownConnection)
# A command line that may carry a secret (an API key typed inline, even under a mistyped flag) never gets a
# traceback: IPython's would print the cell's source line, and with it the secret.
_SECRETISH = re.compile(r"api.?key|tls.?key|token|secret|passw|authori", re.IGNORECASE)


def _overview(fn: Any) -> Any:
    # `%wf?` shows the magic function's docstring: the subcommands, one line each, and examples.
    fn.__doc__ = overview()
    return fn


@magics_class
class WfMagic(Magics):
    """The ``%wf`` magic. Settings: ``%config WfMagic.<name> = value``."""

    short_errors = Bool(True, help="Print errors as one line (TypeName: message) instead of a traceback.").tag(
        config=True)
    display_limit = Int(50, help="Rows shown for lists and histories (a footer says when rows are cut).").tag(
        config=True)
    default_limit = Int(1000, help="Executions fetched by `%wf list` without --limit.").tag(config=True)
    default_task_queue = Unicode("", help="Task queue used by `%wf start` and `%wf worker` without --task-queue."
                                 ).tag(config=True)
    autopandas = Bool(True, help="`target << list|history …` assigns pandas DataFrames (False: the wfkit objects,"
                                 " Executions and History).").tag(config=True)

    @validate("display_limit", "default_limit")
    def _positive(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ValueError(f"{proposal['trait'].name} must be >= 1")
        return proposal["value"]

    @observe("display_limit")
    def _display_limit_changed(self, change: Any) -> None:
        from wfkit.notebook import html

        html.DISPLAY_LIMIT = change["new"]

    def __init__(self, shell: Any = None, connections: Connections | None = None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        #: The registry the subcommands read and write (shared with the widgets and plain Python).
        self.connections = connections if connections is not None else _connections.default

    @property
    def current(self) -> str | None:
        """The current connection's name."""
        return self.connections.current_name

    @property
    def client(self) -> Any:
        """The current connection's client."""
        return self._context().client

    # --- entry points ----------------------------------------------------------------------------------
    @no_var_expand
    @line_magic("wf")
    @_overview
    def wf_line(self, line: str) -> Any:
        return self._run(line)

    @no_var_expand
    @cell_magic("wf")
    @_overview
    def wf_cell(self, line: str, cell: str) -> Any:
        return self._run(f"{line} {cell}")

    def _run(self, text: str) -> Any:
        target, show = None, True
        m = ASSIGN.match(text)
        if m:
            target, show, text = m.group(1), bool(m.group(2)), m.group(3)
        try:
            words = tokens(text, self._lookup)
            result = self._route(words)
        except ShowHelp as shown:
            name = shown.parser.prog.split()[-1]
            print(usage(name) if name in COMMANDS else shown.parser.format_help())
            return None
        except (WfkitError, UsageError, ValueError) as exc:
            if not self.short_errors and _SECRETISH.search(text):
                raise UsageError(f"{type(exc).__name__}: {exc} (no traceback: the command line may hold a secret, "
                                 "which a traceback would show)") from None
            if not self.short_errors:
                raise
            label = "UsageError" if isinstance(exc, _USAGE) else type(exc).__name__
            print(f"{label}: {exc}", file=sys.stderr)
            return None
        if target is not None:
            if self.autopandas and words and words[0] in _AUTOPANDAS and hasattr(result, "to_dataframe"):
                frame = result.to_dataframe()
                # what the wfkit object knew beyond its rows (a listing cut by --limit, its query) stays on the frame
                frame.attrs.update({k: getattr(result, k) for k in ("query", "truncated") if hasattr(result, k)})
                result = frame
            self._user_ns[target] = result
            return result if show else None
        return result

    def _route(self, words: list[Any]) -> Any:
        if not words or words[0] in ("-h", "--help"):
            if words:
                print(overview())
                return None
            raise UsageError(f"%wf needs a subcommand: {', '.join(SUBCOMMANDS)} (%wf help: what each does)")
        name, args = words[0], words[1:]
        if not isinstance(name, str) or name not in COMMANDS:
            close = difflib.get_close_matches(name, SUBCOMMANDS, n=1) if isinstance(name, str) else []
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"unknown subcommand {name!r}{hint}; known: {', '.join(SUBCOMMANDS)}")
        return COMMANDS[name].run(self._context(), args)

    @property
    def _user_ns(self) -> dict[str, Any]:
        if self.shell is None:
            raise UsageError("%wf runs in an IPython shell")
        return self.shell.user_ns

    def _context(self) -> Context:
        return Context(connections=self.connections, default_limit=self.default_limit,
                       default_task_queue=self.default_task_queue,
                       namespace=self.shell.user_ns if self.shell is not None else {})

    def _lookup(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        if head not in self._user_ns:
            raise UsageError(f"{{{{{dotted}}}}}: no variable {head!r} in this notebook")
        value = self._user_ns[head]
        for part in rest:
            value = getattr(value, part)
        return value

    def completions(self, line: str) -> list[str]:
        """Candidates for the word being typed at the end of ``line`` (a ``%wf`` line)."""
        return completions(line, self.connections, self.shell.user_ns if self.shell is not None else None)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext wfkit``: register ``%wf``/``%%wf``, its settings and its tab completion."""
    magic = WfMagic(shell=ipython)
    ipython.register_magics(magic)
    ipython.configurables.append(magic)
    completer = getattr(ipython, "Completer", None)
    if completer is not None:
        completer.custom_matchers.append(matcher(magic.connections, ipython.user_ns))
