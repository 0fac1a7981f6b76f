"""``wfkit why | stack | task-queue | result | reset | batch | namespaces``: operating from the shell, thin shells over
the Python API (each connects to the URL it is given, does one thing and prints plain text)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_operate_parsers"]


def _client(args: argparse.Namespace) -> Any:
    from ._client import connect_sync

    return connect_sync(args.url)


def _json_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reset_to(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def _frame_text(df: Any) -> str:
    import pandas as pd

    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 120):
        return str(df.to_string(index=False))


def _why(args: argparse.Namespace) -> int:
    with _client(args) as client:
        d = client.sync.handle(args.workflow_id, args.run_id).sync.diagnose()
    print(d)
    return 0


def _stack(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(client.sync.handle(args.workflow_id, args.run_id).sync.stack(timeout=args.timeout))
    return 0


def _task_queue(args: argparse.Namespace) -> int:
    with _client(args) as client:
        tq = client.sync.task_queue(args.name)
    print(repr(tq))
    if tq.pollers:
        print(_frame_text(tq.to_dataframe()))
    return 0


def _result(args: argparse.Namespace) -> int:
    with _client(args) as client:
        value = client.sync.handle(args.workflow_id, args.run_id).sync.result(timeout=args.timeout)
    from ._converter import to_json_value

    print(json.dumps(to_json_value(value), default=str))
    return 0


def _reset(args: argparse.Namespace) -> int:
    from ._loop import run_sync

    with _client(args) as client:
        plan = client.sync.handle(args.workflow_id, args.run_id).sync.reset_preview(_reset_to(args.to))
        print(repr(plan))
        if len(plan.reapplied_signals):
            print("signals reapplied:")
            print(_frame_text(plan.reapplied_signals[["event_id", "signal_name", "payload"]]))
        if not args.yes:
            print("nothing done: add --yes to reset")
            return 0
        new = run_sync(plan.reset(reason=args.reason))
    print(f"reset: new run {new.run_id}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from ._loop import run_sync

    journal = None if args.journal.lower() == "none" else args.journal
    with _client(args) as client:
        plan = client.sync.batch(args.action, args.query, signal=args.signal, args=[_json_arg(a) for a in args.arg],
                                 reason=args.reason, reset_to=_reset_to(args.to), limit=args.limit,
                                 journal=journal, concurrency=args.concurrency)
        print(_frame_text(plan.preview) if len(plan.preview) else "no running workflow matches")
        if not args.yes:
            print(f"nothing done: add --yes to {args.action} these {len(plan.preview)} workflows")
            return 0
        results = run_sync(plan.run(confirm=True, concurrency=args.concurrency, progress=False))
    print(_frame_text(results))
    return 1 if (results["outcome"] == "failed").any() else 0


def _namespaces(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(_frame_text(client.sync.namespaces().to_dataframe()))
    return 0


def add_operate_parsers(sub: Any) -> None:
    """Add the operating subcommands to ``wfkit``'s subparsers."""

    def handle(name: str, help: str, func: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help)
        p.add_argument("url", help="e.g. temporal://localhost:7233?namespace=default")
        p.add_argument("workflow_id")
        p.add_argument("--run-id", default=None)
        p.set_defaults(func=func)
        return p

    handle("why", "why a workflow is stuck: findings with their evidence", _why)
    p = handle("stack", "where a workflow's code waits now", _stack)
    p.add_argument("--timeout", type=float, default=10)
    p = handle("result", "wait for a workflow's result (JSON)", _result)
    p.add_argument("--timeout", type=float, default=None)
    p = handle("reset", "reset a workflow (a preview unless --yes)", _reset)
    p.add_argument("--to", default="last", help="last, first or an event ID (default: last)")
    p.add_argument("--reason", default=None)
    p.add_argument("--yes", action="store_true", help="do it")

    t = sub.add_parser("task-queue", help="who polls a task queue, and its backlog")
    t.add_argument("url")
    t.add_argument("name")
    t.set_defaults(func=_task_queue)

    b = sub.add_parser("batch", help="signal, cancel, terminate or reset every running workflow a query matches "
                                     "(a preview unless --yes)")
    b.add_argument("url")
    b.add_argument("action", choices=["signal", "cancel", "terminate", "reset"])
    b.add_argument("query")
    b.add_argument("--signal", default=None)
    b.add_argument("--arg", action="append", default=[], help="a signal argument (JSON); repeatable")
    b.add_argument("--reason", default=None)
    b.add_argument("--to", default="last", help="reset to: last, first or an event ID")
    b.add_argument("--limit", type=int, default=1000)
    b.add_argument("--concurrency", type=int, default=8)
    b.add_argument("--journal", default="auto", help="the batch's journal ('none': keep none)")
    b.add_argument("--yes", action="store_true", help="do it")
    b.set_defaults(func=_batch)

    n = sub.add_parser("namespaces", help="the server's namespaces (Cadence: domains)")
    n.add_argument("url")
    n.set_defaults(func=_namespaces)
