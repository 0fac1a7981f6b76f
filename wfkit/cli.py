"""The ``wfkit`` command line: ``wfkit devserver ENGINE``, ``wfkit export``, ``wfkit demo``, ``wfkit migrate``,
``wfkit replay``, ``wfkit worker migrate``, and operating (``wfkit why | stack | result | task-queue | reset |
batch | namespaces``). Engine names are those of the installed engine plugins."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._engines import available
from ._errors import WfkitError
from .codecs._options import add_codec_arguments, codec_options
from .codecs._server import DEFAULT_MAX_REQUEST_BYTES


def _devserver(args: argparse.Namespace) -> int:
    from . import devserver

    if args.build:
        print(f"building the {args.engine} server if it is not cached yet (minutes the first time)...", flush=True)
    server = devserver.start(args.engine, port=args.port, db=args.db, build=args.build, namespace=args.namespace)
    print(f"{args.engine} server running: {server.url}", flush=True)
    for name, port in sorted(getattr(server, "ports", {}).items()):
        if name.startswith("frontend"):
            print(f"  {name}: 127.0.0.1:{port}", flush=True)
    print(f"connect with: wfkit.connect({server.url!r})   (Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            if not server.alive():
                print(f"the server exited; last lines of its log:\n{server.log_tail()}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0


def _export(args: argparse.Namespace) -> int:
    from ._client import connect_sync

    if args.format == "parquet" or args.query is not None:
        return _export_many(args)
    if args.workflow_id is None:
        raise WfkitError("export: give a WORKFLOW_ID, or --query (with --format parquet) for many histories")
    with connect_sync(args.url, **codec_options(args)) as client:
        hist = client.sync.handle(args.workflow_id, args.run_id).sync.history()
    text = hist.to_json(format=args.format)
    if args.output in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        with open(args.output, "w") as f:
            f.write(text)
        print(f"wrote {len(hist)} events to {args.output}")
    return 0


def _export_many(args: argparse.Namespace) -> int:
    from ._client import connect_sync

    if args.format != "parquet":
        raise WfkitError(f"export --query writes a Parquet dataset: give --format parquet (not {args.format!r})")
    if args.workflow_id is not None:
        raise WfkitError("export: give a WORKFLOW_ID or --query, not both")
    if args.output in (None, "-"):
        raise WfkitError("export --format parquet: give the dataset's directory with -o DIR")
    partition_by = [k for k in (args.partition_by or "").split(",") if k]
    with connect_sync(args.url, **codec_options(args)) as client:
        result = client.sync.export_histories(args.query or None, args.output, partition_by=partition_by or None,
                                              limit=args.limit, concurrency=args.concurrency,
                                              progress=sys.stderr.isatty(), include_open=args.include_open)
    print(f"wrote {result.written} histories ({result.events} events, {result.files} files) to {result.path}; "
          f"{result.skipped} were there already, {result.matched} matched"
          + (f"; {result.open_skipped} still open, not written (rerun once they close, or --include-open)"
             if result.open_skipped else "")
          + (f"; {result.provisional} written while open" if result.provisional else "")
          + (f"; {result.replaced} replaced" if result.replaced else ""))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import main as demo_main

    return demo_main(output=args.output, engines=args.engines, notebooks=not args.no_notebooks)


def _codec_server(args: argparse.Namespace) -> int:
    from .codecs._server import run_forever

    return run_forever(key_file=args.key_file, host=args.host, port=args.port, cors_origins=args.cors_origin,
                       token_env=args.auth_token_env, max_request_bytes=args.max_request_bytes)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wfkit", description="Temporal and Cadence from Jupyter and the shell.")
    sub = p.add_subparsers(dest="command", required=True)

    engines = available()
    d = sub.add_parser("devserver", help="run an engine's embedded server in the foreground")
    d.add_argument("engine", choices=engines)
    d.add_argument("--port", type=int, default=None, help="frontend gRPC port (default: a free port)")
    d.add_argument("--db", default=None, help="where the server keeps its state (a file or directory)")
    d.add_argument("--namespace", default="default", help="namespace/domain to create (default: default)")
    d.add_argument("--build", action="store_true", help="build the server first if the engine builds its own")
    d.set_defaults(func=_devserver)

    e = sub.add_parser("export", help="write a workflow's history as JSON, or many histories as a Parquet dataset")
    e.add_argument("url", help="e.g. temporal://localhost:7233?namespace=default")
    e.add_argument("workflow_id", nargs="?", default=None, help="the workflow whose history to write as JSON")
    e.add_argument("--query", default=None,
                   help="every execution this list query matches ('' for all), into a Parquet dataset "
                        "(with --format parquet -o DIR; a rerun writes only the runs not there yet)")
    e.add_argument("--partition-by", default=None,
                   help="comma-separated folders of the dataset: workflow_type, date, namespace, engine")
    e.add_argument("--limit", type=int, default=None, help="at most this many executions (default: all)")
    e.add_argument("--concurrency", type=int, default=16, help="histories fetched at a time (default 16)")
    e.add_argument("--include-open", action="store_true",
                   help="also write runs still open, provisionally (*.open.parquet; a rerun replaces them); "
                        "by default only closed runs are written")
    e.add_argument("--run-id", default=None)
    e.add_argument("--format", default="wfkit", choices=[*engines, "wfkit", "parquet"],
                   help="an engine's own JSON, wfkit's portable JSON (default), or parquet (with --query)")
    e.add_argument("-o", "--output", default=None, help="file to write (default: stdout); the dataset's directory "
                                                        "for parquet")
    add_codec_arguments(e)
    e.set_defaults(func=_export)

    m = sub.add_parser("demo", help="run the tour on embedded servers and write a report")
    m.add_argument("--output", default="demo-output", help="folder for the report")
    m.add_argument("--engines", default=",".join(engines), help="comma-separated engines to use")
    m.add_argument("--no-notebooks", action="store_true", help="skip executing the tour notebooks")
    m.set_defaults(func=_demo)

    c = sub.add_parser("codec-server", help="serve an AES-GCM payload codec over the codec server protocol (Web UI, "
                                             "CLI, wfkit's codec_server=)")
    c.add_argument("--key-file", required=True,
                   help='JSON: {"encrypt_with": "k1", "keys": {"k1": "<base64 key>"}} (never printed)')
    c.add_argument("--host", default="127.0.0.1",
                   help="the address to bind (default 127.0.0.1; another one without --auth-token-env is warned "
                        "about: anyone who reaches it can decrypt)")
    c.add_argument("--auth-token-env", default=None, metavar="VAR",
                   help="require 'Authorization: Bearer <value of the environment variable VAR>' on every request")
    c.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES,
                   help=f"the largest request body accepted (default {DEFAULT_MAX_REQUEST_BYTES})")
    c.add_argument("--port", type=int, default=8081)
    c.add_argument("--cors-origin", action="append", default=None,
                   help="a browser origin allowed to call it (repeatable; default: the local Web UI's)")
    c.set_defaults(func=_codec_server)

    from wfkit.migrate._cli import add_migrate_parser, add_replay_parser, add_worker_parser

    add_migrate_parser(sub)
    add_replay_parser(sub)
    add_worker_parser(sub)

    from ._operate_cli import add_operate_parsers

    add_operate_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WfkitError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
