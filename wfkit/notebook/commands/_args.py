"""The ``%wf`` command line: splitting it (with ``{{name}}`` objects), one argparse parser per subcommand, and the
context every subcommand receives."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from wfkit import available_engines
from wfkit.notebook.connections import Connections, NotConnected

if TYPE_CHECKING:
    from wfkit._client import Client

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


@dataclass
class Context:
    """What a subcommand works with: the connections and the magic's settings."""

    connections: Connections
    default_limit: int = 1000
    default_task_queue: str = ""
    namespace: dict[str, Any] = field(default_factory=dict)
    """The notebook's variables (bare names such as ``--workflows OrderWorkflow`` are looked up here)."""

    def objects(self, values: Any) -> list[Any]:
        """Arguments that name Python objects: ``{{obj}}``/``{{[a, b]}}`` as given, a bare name (or several,
        comma-separated) looked up in :attr:`namespace`."""
        out: list[Any] = []
        for v in values if isinstance(values, (list, tuple)) else [values]:
            if not isinstance(v, str):
                out.extend(v if isinstance(v, (list, tuple)) else [v])
                continue
            for name in filter(None, (n.strip() for n in v.split(","))):
                if name not in self.namespace:
                    raise UsageError(f"no variable {name!r} in this notebook (pass {{{{obj}}}} or define it first)")
                out.append(self.namespace[name])
        return out

    @property
    def client(self) -> Client:
        """The current connection (a UsageError saying how to connect when there is none)."""
        try:
            return self.connections.get()
        except NotConnected:
            example = " or ".join(f"{e}://host:port" for e in available_engines()) or "<engine>://host:port"
            raise UsageError(f"not connected: %wf connect {example} first") from None


class Obj:
    """A ``{{name}}`` placeholder: the Python object itself, passed as one argument."""

    def __init__(self, value: Any):
        self.value = value


def tokens(text: str, lookup: Callable[[str], Any]) -> list[Any]:
    """Split a command line like a shell; a whole-word ``{{name}}`` becomes an :class:`Obj` holding
    ``lookup(name)``, one inside a longer word its text."""
    names: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        key = f"\x00{len(names)}\x00"
        names[key] = m.group(1)
        return key

    replaced = _VAR.sub(sub, text)
    try:
        raw = shlex.split(replaced, comments=True)  # an unquoted `# …` ends the line, as in a shell
    except ValueError as exc:
        raise UsageError(f"cannot split the command line: {exc}") from None
    # Only the placeholders left after splitting are looked up (one in a comment is not).
    objects = {key: lookup(name) for key, name in names.items() if any(key in tok for tok in raw)}
    out: list[Any] = []
    for tok in raw:
        if tok in objects:
            out.append(Obj(objects[tok]))
        else:
            for key, value in objects.items():
                tok = tok.replace(key, str(value))
            out.append(tok)
    return out


class ShowHelp(Exception):  # noqa: N818 - a signal, not an error
    """Raised by ``-h``/``--help`` in a subcommand's arguments: carries the parser, whose usage the magic prints."""

    def __init__(self, parser: MagicArgumentParser):
        super().__init__(parser.prog)
        self.parser = parser


class _HelpAction(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str = "help", **kwargs: Any):
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        raise ShowHelp(parser)


def parser(name: str, description: str) -> MagicArgumentParser:
    """The argparse parser of ``%wf <name>`` (errors raise UsageError; ``-h``/``--help`` raise :class:`ShowHelp`)."""
    p = MagicArgumentParser(prog=f"%wf {name}", description=description, add_help=False,
                            formatter_class=argparse.HelpFormatter)
    p.add_argument("-h", "--help", action=_HelpAction, help="show this help")
    return p


def handle_parser(name: str, description: str) -> MagicArgumentParser:
    """A parser for subcommands on one workflow: ``workflow_id [--run-id]``."""
    p = parser(name, description)
    p.add_argument("workflow_id")
    p.add_argument("--run-id", default=None)
    return p


def parse(p: MagicArgumentParser, args: list[Any]) -> argparse.Namespace:
    """Parse ``args`` (strings and :class:`Obj`), the objects coming back as themselves."""
    texts = [a if isinstance(a, str) else f"\x01{i}" for i, a in enumerate(args)]
    try:
        ns = p.parse_args(texts)
    except UsageError as exc:
        text = str(exc)
        if "unrecognized arguments:" in text:
            # only the flags are named: a value after a mistyped flag (--apikey KEY) may be a secret
            flags = [t.split("=", 1)[0] for t in texts if t.startswith("-")]
            shown = " ".join(f for f in flags if f not in p._option_string_actions) or "(values not shown)"
            raise UsageError(f"{p.prog}: unrecognized arguments: {shown} (values are not shown)") from None
        raise

    def back(v: Any) -> Any:
        return args[int(v[1:])].value if isinstance(v, str) and v.startswith("\x01") else v

    for key, val in vars(ns).items():
        setattr(ns, key, [back(v) for v in val] if isinstance(val, list) else back(val))
    return ns


def value(text: Any) -> Any:
    """A command-line value: an object passed with ``{{name}}``, else JSON, else the text itself."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def as_list(v: Any) -> list[Any] | None:
    """``{{[A, B]}}`` or ``{{A}}`` as a list (None stays None)."""
    if v is None:
        return None
    return list(v) if isinstance(v, (list, tuple)) else [v]
