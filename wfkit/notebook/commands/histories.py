"""``%wf history | diff | replay``: event histories, through the current connection's client."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from wfkit.notebook.commands._args import Context, as_list, handle_parser, parse, parser


def history(ctx: Context, args: list[Any]) -> Any:
    p = handle_parser("history", "A workflow's event history (History, or a view of it).")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--activities", action="store_true")
    view.add_argument("--timeline", action="store_true",
                      help="a Gantt chart (per activity type past 40 rows; h.plot_timeline() gives the Axes)")
    view.add_argument("--json", action="store_true")
    view.add_argument("--frame", action="store_true")
    ns = parse(p, args)
    hist = ctx.client.sync.handle(ns.workflow_id, ns.run_id).sync.history()
    if ns.activities:
        return hist.activities()
    if ns.timeline:
        hist.plot_timeline()  # shown by the notebook's backend; None keeps the cell from echoing "<Axes: …>"
        return None
    if ns.json:
        print(hist.to_json(format="wfkit"))
        return None
    if ns.frame:
        return hist.to_dataframe()
    return hist


def diff(ctx: Context, args: list[Any]) -> Any:
    from wfkit.history import diff as diff_histories

    p = parser("diff", "Events that differ between two workflows' histories.")
    p.add_argument("a")
    p.add_argument("b")
    ns = parse(p, args)
    client = ctx.client
    return diff_histories(client.sync.handle(ns.a).sync.history(), client.sync.handle(ns.b).sync.history())


def replay(ctx: Context, args: list[Any]) -> Any:
    from wfkit import available_engines
    from wfkit import replay as replay_histories
    from wfkit._loop import run_sync

    p = parser("replay", "Replay workflows' histories against workflow code: a frame workflow_id, ok, error.")
    p.add_argument("workflow_ids", nargs="*")
    p.add_argument("--query", default=None, help="replay the workflows this query lists")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--workflows", required=True, help="{{[WorkflowClass, ...]}} to replay against")
    p.add_argument("--engine", default=None, choices=available_engines(),
                   help="whose replayer to use (default: the current connection's engine)")
    ns = parse(p, args)
    client = ctx.client
    ids = [(w, None) for w in ns.workflow_ids]
    if ns.query:
        ids += [(e.workflow_id, e.run_id) for e in client.sync.list(ns.query, limit=ns.limit)]
    if not ids:
        raise UsageError("%wf replay needs workflow IDs or --query")
    histories = client.sync.fetch_histories(ids, progress=False)
    workflows = as_list(ns.workflows) or []
    return run_sync(replay_histories(histories, workflows=workflows, engine=ns.engine or client.engine))
