"""``wfkit migrate`` and ``wfkit replay`` on the command line (thin shells over ``wfkit.migrate`` and
``wfkit.replay``).

::

    wfkit migrate --from cadence://localhost:7833?domain=orders --to temporal://localhost:7233 \\
        --query "WorkflowType='OrderWorkflow'" --strategy restart --workflows myapp.workflows --dry-run
    wfkit migrate ... --yes                     # run it (asks first on a terminal without --yes)
    wfkit replay --from cadence://... --query "WorkflowType='OrderWorkflow'" --workflows myapp.workflows
    wfkit replay history1.json history2.json --workflows myapp.workflows:OrderWorkflow --engine cadence
    wfkit migrate ... --on temporal://localhost:7233 --task-queue migrations --yes   # as a durable job there
    wfkit worker migrate --on temporal://localhost:7233 --task-queue migrations      # one of its workers
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from wfkit._errors import WfkitError
from wfkit._replay import DEFAULT_ENGINE
from wfkit.migrate._checkpoint import DEFAULT_CHECKPOINT
from wfkit.migrate._plan import DEFAULT_JOB_TASK_QUEUE, STRATEGIES

__all__ = ["add_migrate_parser", "add_replay_parser", "add_worker_parser", "load_workflows", "migrate_main",
           "replay_main", "worker_main"]


def warn_key_on_command_line(option: str, url: str | None) -> None:
    """Warn (``warnings``, naming the option, never the key) when a URL given on the command line carries
    ``api_key``: a command line is visible to every user of the machine (``ps``, ``/proc/<pid>/cmdline``) and
    stays in the shell's history. The key belongs in ``<ENGINE>_API_KEY`` or ``WFKIT_API_KEY``."""
    import warnings
    from urllib.parse import parse_qsl, urlsplit

    if not url:
        return
    try:
        parts = urlsplit(url)
        keys = {k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    except ValueError:
        return
    if "api_key" in keys:
        engine = parts.scheme.split("+", 1)[0].upper() or "<ENGINE>"
        warnings.warn(f"{option}: the URL carries api_key, which every user of this machine can read in the process "
                      f"list (ps, /proc/<pid>/cmdline) and your shell keeps in its history: set {engine}_API_KEY "
                      "(or WFKIT_API_KEY) in the environment instead", UserWarning, stacklevel=2)


def _is_wfkit_workflow(c: type) -> bool:
    return getattr(getattr(c, "__wfkit_workflow__", None), "cls", None) is c


def load_workflows(specs: list[str] | None, *, also: Callable[[type], bool] | None = None,
                   what: str = "@wfkit.workflow") -> list[type]:
    """``module`` (every ``@wfkit.workflow`` class in it, and every class ``also`` accepts) or ``module:Class``
    -> the classes. Modules are imported from the current directory too (as ``python -m`` would)."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    accept = (lambda c: _is_wfkit_workflow(c) or also(c)) if also is not None else _is_wfkit_workflow
    out: list[type] = []
    for spec in specs or []:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            module_name, _, attr = part.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise WfkitError(f"--workflows {part}: cannot import {module_name} ({exc})") from None
            if attr:
                cls = getattr(module, attr, None)
                if not isinstance(cls, type) or not accept(cls):
                    raise WfkitError(f"--workflows {part}: {module_name} has no {what} class {attr}")
                out.append(cls)
            else:
                found = [c for _, c in inspect.getmembers(module, inspect.isclass)
                         if _is_wfkit_workflow(c) or (c.__module__ == module.__name__ and accept(c))]
                if not found:
                    raise WfkitError(f"--workflows {part}: no {what} class in {module_name}")
                out += found
    return out


def add_migrate_parser(sub: Any) -> argparse.ArgumentParser:
    m = sub.add_parser("migrate", help="move workflows from one engine to another (wfkit.migrate)",
                       description="Plan a migration, show what it would do, and run it (resumable from its "
                                   "checkpoint: run the same command again after an interruption).")
    m.add_argument("--from", dest="source", required=True, metavar="URL", help="source engine URL")
    m.add_argument("--to", dest="target", required=True, metavar="URL", help="target engine URL")
    m.add_argument("--query", default=None, help="which workflows, e.g. \"WorkflowType='OrderWorkflow'\"")
    m.add_argument("--strategy", choices=STRATEGIES, default="restart")
    m.add_argument("--allow-reexecution", action="store_true",
                   help="restart workflows without @wfkit.migration_state from their input (re-runs activities)")
    m.add_argument("--workflows", action="append", metavar="MODULE[:CLASS]",
                   help="the workflow classes (to know which have a migration state); repeatable")
    m.add_argument("--task-queue", default=None, help="task queue on the target (default: each workflow's own)")
    m.add_argument("--archive-dir", default=None, help="archive: where the files go")
    m.add_argument("--batch-size", type=int, default=50, help="workflows migrated at once (default 50)")
    m.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                   help="JSONL journal (default: this migration's own file under ~/.local/state/wfkit/migrations, "
                        "or $WFKIT_STATE_DIR/migrations)")
    m.add_argument("--plan-only", action="store_true", help="show the plan and stop")
    m.add_argument("--status", action="store_true",
                   help="read this migration's checkpoint and list the workflows in flight (started on the target, "
                        "not yet terminated on the source); contacts no server")
    m.add_argument("--dry-run", action="store_true", help="check every read-only step, change nothing")
    m.add_argument("--yes", "-y", action="store_true", help="run without asking")
    m.add_argument("--report", default=None, metavar="FILE.csv", help="write the per-workflow report")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("--on", default=None, metavar="URL",
                   help="run the migration as a durable job on this engine (restart only): its batches are run by "
                        "`wfkit worker migrate --on URL --task-queue Q` processes; this command starts and watches it")
    m.add_argument("--job-task-queue", default=None, metavar="Q",
                   help=f"with --on: the job's task queue (default {DEFAULT_JOB_TASK_QUEUE})")
    m.add_argument("--parallel", type=int, default=4, help="with --on: batches under way at once (default 4)")
    m.add_argument("--detach", action="store_true", help="with --on: start the job and return (do not watch it)")
    m.set_defaults(func=migrate_main)
    return m


def add_worker_parser(sub: Any) -> argparse.ArgumentParser:
    w = sub.add_parser("worker", help="run a worker of wfkit's own jobs (`wfkit worker migrate`)",
                       description="Workers of the jobs wfkit runs on an engine.")
    kinds = w.add_subparsers(dest="kind", required=True)
    m = kinds.add_parser("migrate", help="serve migration jobs (plan.run(on=...), wfkit migrate --on)",
                         description="Serve migration jobs: run their batches (any number of these processes, on "
                                     "any machines that reach the engines). Runs until Ctrl-C or SIGTERM.")
    m.add_argument("--on", required=True, metavar="URL", help="the engine the jobs run on")
    m.add_argument("--task-queue", default=None, help=f"the jobs' task queue (default {DEFAULT_JOB_TASK_QUEUE})")
    m.add_argument("--max-concurrent-batches", type=int, default=4, help="batches run at once (default 4)")
    m.add_argument("--source", "--target", dest="connections", action="append", default=[], metavar="URL",
                   help="how to reach a job's source or target when its URL is not enough (TLS options; API keys "
                        "belong in <ENGINE>_API_KEY or WFKIT_API_KEY, not on the command line): used where engine, "
                        "address and namespace match; repeatable")
    m.set_defaults(func=worker_main)
    return m


def worker_main(args: argparse.Namespace) -> int:
    """``wfkit worker migrate``: serve migration jobs until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from wfkit._client import connect_sync
    from wfkit.migrate._job import worker

    warn_key_on_command_line("--on", args.on)
    for url in args.connections:
        warn_key_on_command_line("--source/--target", url)
    queue = args.task_queue or DEFAULT_JOB_TASK_QUEUE
    client = connect_sync(args.on)
    try:
        w = worker(client, queue, max_concurrent_batches=args.max_concurrent_batches,
                   connections=args.connections).start()
        print(f"serving migration jobs on {client.url}, task queue {queue!r} (Ctrl-C stops)", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        w.stop()
    finally:
        client.sync.close()
    print("stopped", flush=True)
    return 0


def add_replay_parser(sub: Any) -> argparse.ArgumentParser:
    r = sub.add_parser("replay", help="replay histories against the current workflow code (wfkit.replay)",
                       description="Replay histories (files in any JSON dialect wfkit reads, or fetched from a "
                                   "server) with an engine's replayer; exit status 1 when any diverges.")
    r.add_argument("files", nargs="*", help="history JSON files")
    r.add_argument("--from", dest="source", metavar="URL", help="fetch the histories from this server")
    r.add_argument("--query", default=None, help="with --from: which workflows")
    r.add_argument("--limit", type=int, default=1000, help="with --from: at most this many (default 1000)")
    r.add_argument("--workflows", action="append", required=True, metavar="MODULE[:CLASS]",
                   help="the workflow classes to replay against (@wfkit.workflow classes, or the engine SDK's own, "
                        "e.g. temporalio @workflow.defn); imported from the current directory too; repeatable")
    r.add_argument("--workflow-id", default=None,
                   help="the workflow ID of history files that carry none (the Cadence CLI's exports)")
    r.add_argument("--engine", default=DEFAULT_ENGINE,
                   help=f"whose replayer: an installed engine plugin (default {DEFAULT_ENGINE})")
    r.add_argument("--output", default=None, metavar="FILE.csv", help="write the results")
    r.set_defaults(func=replay_main)
    return r


def _print_frame(df: Any, columns: list[str], limit: int = 50) -> None:
    import pandas as pd

    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(df[columns].head(limit).to_string(index=False) if len(df) else "(none)")
    if len(df) > limit:
        print(f"... {len(df) - limit} more")


def status_main(args: argparse.Namespace) -> int:
    """``wfkit migrate --status``: what the journal says, without connecting."""
    from wfkit._config import parse_url
    from wfkit._engines import namespace_term
    from wfkit.migrate._checkpoint import default_checkpoint_path
    from wfkit.migrate._status import STATUS_COLUMNS, read_status

    if args.checkpoint == DEFAULT_CHECKPOINT:
        urls = []
        for url in (args.source, args.target):
            cfg = parse_url(url)
            if cfg.dev:
                print("--status with an embedded server's URL: give --checkpoint FILE (its address changes on each "
                      "start)", file=sys.stderr)
                return 2
            urls.append(f"{cfg.engine}://{cfg.address}?{namespace_term(cfg.engine)}={cfg.namespace}")
        path = default_checkpoint_path({"strategy": args.strategy, "source": urls[0], "target": urls[1],
                                        "query": args.query})
    else:
        path = args.checkpoint
    status = read_status(path)
    print(repr(status))
    if status.in_flight:
        _print_frame(status.to_dataframe(), list(STATUS_COLUMNS))
        print("run the same migration again to finish them")
    return 0


def migrate_main(args: argparse.Namespace) -> int:
    from wfkit import migrate
    from wfkit._client import connect_sync

    for option, url in (("--from", args.source), ("--to", args.target), ("--on", args.on)):
        warn_key_on_command_line(option, url)
    if args.status:
        return status_main(args)

    workflows = load_workflows(args.workflows)
    source = connect_sync(args.source)
    try:
        target = connect_sync(args.target)
        try:
            plan = migrate.sync.plan(source, target, query=args.query, strategy=args.strategy,
                                     allow_reexecution=args.allow_reexecution, workflows=workflows or None,
                                     task_queue=args.task_queue, archive_dir=args.archive_dir)
            print(repr(plan))
            _print_frame(plan.preview, ["workflow_id", "status", "action", "reexecutes", "reason"])
            if args.plan_only:
                return 0
            if not args.dry_run and not args.yes:
                if not sys.stdin.isatty():
                    print("not running without --yes (no terminal to ask)", file=sys.stderr)
                    return 2
                answer = input(f"{args.strategy} {len(plan.preview)} workflows from {source.engine} to "
                               f"{target.engine}? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    print("nothing done")
                    return 0
            if args.on:
                return _run_job(args, plan)
            report = plan.sync.run(batch_size=args.batch_size, checkpoint=args.checkpoint, dry_run=args.dry_run,
                                   progress=not args.no_progress)
            print(repr(report))
            shown = report.frame[report.frame["status"] != "successful"] if len(report.frame) > 50 else report.frame
            _print_frame(shown, ["workflow_id", "status", "outcome", "error"])
            if report.remaining:
                print(f"{len(report.remaining)} still open on the source: run again later")
            if report.archive_dir:
                print(f"archive: {report.archive_dir}")
            if args.report:
                report.frame.to_csv(args.report, index=False)
                print(f"report written to {args.report}")
            return 1 if report.stats.failed else 0
        finally:
            target.sync.close()
    finally:
        source.sync.close()


def _run_job(args: argparse.Namespace, plan: Any) -> int:
    """``wfkit migrate --on URL``: start the migration as a job there and watch it (Ctrl-C stops watching)."""
    from wfkit._client import connect_sync
    from wfkit._loop import WaitInterrupted

    if args.dry_run:
        raise WfkitError("--dry-run runs in-process: leave out --on")
    queue = args.job_task_queue or DEFAULT_JOB_TASK_QUEUE
    on = connect_sync(args.on)
    try:
        job = plan.sync.run(batch_size=args.batch_size, on=on, task_queue=queue, parallel=args.parallel)
        print(("watching the job already running: " if job.attached else "started ") + repr(job), flush=True)
        if args.detach:
            print(f"its workers: wfkit worker migrate --on {on.url} --task-queue {queue}")
            return 0
        try:
            p = job.sync.wait(progress=not args.no_progress)
        except (KeyboardInterrupt, WaitInterrupted):
            print(f"stopped watching; the job {job.job_id} goes on", file=sys.stderr)
            return 130
        print(f"job {p.state}: {p.total} total, {p.successful} successful, {p.failed} failed, {p.skipped} skipped"
              + (f", {p.not_started} not started" if p.not_started else ""))
        if args.report:
            job.sync.report().frame.to_csv(args.report, index=False)
            print(f"report written to {args.report}")
        return 1 if p.failed or p.state != "completed" else 0
    finally:
        on.sync.close()


def replay_main(args: argparse.Namespace) -> int:
    from wfkit._client import connect_sync
    from wfkit._engines import get_engine
    from wfkit._loop import run_sync
    from wfkit._replay import replay
    from wfkit.history import History

    plugin = get_engine(args.engine)
    workflows = load_workflows(args.workflows, also=lambda c: plugin.native_workflow_name(c) is not None,
                               what=f"@wfkit.workflow or {args.engine} SDK workflow")
    histories: list[Any] = [History.from_json(f, workflow_id=args.workflow_id) for f in args.files]
    if args.source:
        warn_key_on_command_line("--from", args.source)
        client = connect_sync(args.source)
        try:
            execs = client.sync.list(args.query, limit=args.limit)
            histories += client.sync.fetch_histories([(e.workflow_id, e.run_id) for e in execs])
        finally:
            client.sync.close()
    if not histories:
        raise WfkitError("nothing to replay: give history files or --from with --query")
    df = run_sync(replay(histories, workflows=workflows, engine=args.engine))
    _print_frame(df, ["workflow_id", "workflow_type", "source_engine", "ok", "error"], limit=200)
    bad = int((~df["ok"]).sum())
    print(f"{len(df) - bad} of {len(df)} replayed without divergence on {args.engine}")
    if args.output:
        df.to_csv(args.output, index=False)
    return 1 if bad else 0
