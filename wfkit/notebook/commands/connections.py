"""``%wf connect | connections | use | close | panel``: the named connections (:mod:`wfkit.notebook.connections`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from wfkit.codecs._options import add_codec_arguments, codec_options
from wfkit.notebook.commands._args import Context, parse, parser

_COLUMNS = ["name", "current", "engine", "address", "namespace"]


def connect(ctx: Context, args: list[Any]) -> Any:
    p = parser("connect", "Connect to an engine and make it the current connection.")
    p.add_argument("url", nargs="?", default=None)
    p.add_argument("--as", dest="alias", default=None)
    p.add_argument("--api-key", default=None)
    p.add_argument("--profile", default=None,
                   help="a profile of the engine's own client configuration (Temporal: temporal.toml, as its CLI "
                        "reads it); without a URL, the engine that has profiles")
    add_codec_arguments(p)
    ns = parse(p, args)
    options: dict[str, Any] = codec_options(ns)
    if ns.profile:
        options["profile"] = ns.profile
    return ctx.connections.connect(ns.url, name=ns.alias, api_key=ns.api_key, **options)


def connections(ctx: Context, args: list[Any]) -> Any:
    parse(parser("connections", "The named connections, as a frame."), args)
    import pandas as pd

    return pd.DataFrame([dataclasses.asdict(i) for i in ctx.connections.list()], columns=_COLUMNS)


def use(ctx: Context, args: list[Any]) -> Any:
    p = parser("use", "Make a named connection the current one.")
    p.add_argument("name")
    return ctx.connections.use(parse(p, args).name)


def close(ctx: Context, args: list[Any]) -> Any:
    p = parser("close", "Close a connection (default: the current one).")
    p.add_argument("name", nargs="?", default=None)
    ctx.connections.close(parse(p, args).name)
    return None


def panel(ctx: Context, args: list[Any]) -> Any:
    parse(parser("panel", "The connection panel and workflow browser, on the same connections."), args)
    from wfkit.notebook.widgets import Panel

    return Panel(ctx.connections)
