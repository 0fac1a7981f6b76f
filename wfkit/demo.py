"""``wfkit demo`` / ``make demo``: the tour on embedded servers, written to a report.

For each engine it starts an embedded server, runs the order saga (success, compensation, cancellation, invalid
order) plus a batch of orders, and writes to the output folder: ``report.html`` (executions, history frames,
activity tables, per-engine comparison), ``timeline-<engine>.png`` and each history as wfkit JSON. Then it runs
the tour notebooks headless and keeps the executed copies in ``notebooks/``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from .examples.orders import ACTIVITIES, OUT_OF_STOCK, WORKFLOWS, Item, Order, OrderWorkflow


async def _tour(engine: str, out: Path, batch: int) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wfkit.history._history import histories_frame

    from . import connect
    from ._errors import QueryFailed, WorkflowFailed

    t0 = time.perf_counter()
    client = await connect(f"{engine}+dev://")
    started = time.perf_counter() - t0
    tq = f"demo-{engine}"
    results: dict[str, Any] = {}
    async with client:
        async with client.worker(task_queue=tq, workflows=WORKFLOWS, activities=ACTIVITIES):
            cases = {
                "order-ok": Order("ok", "ada", [Item("book", 2)], 30.0),
                "order-compensated": Order("comp", "bob", [Item(OUT_OF_STOCK)], 10.0),
                "order-cancelled": Order("cancel", "cy", [Item("pen")], 5.0, review_seconds=30),
                "order-invalid": Order("invalid", "dee", [], 5.0),
            }
            handles = {wid: await client.start(OrderWorkflow, o, id=wid, task_queue=tq) for wid, o in cases.items()}
            while True:
                try:
                    if await handles["order-cancelled"].query("status") == "in review":
                        break
                except QueryFailed:  # not answering yet: its first task has not run
                    pass
                await asyncio.sleep(0.2)
            await handles["order-cancelled"].signal("cancel_order", "changed my mind")
            for wid, h in handles.items():
                try:
                    results[wid] = (await h.result(timeout=60)).status
                except WorkflowFailed as e:
                    results[wid] = f"failed: {type(getattr(e.cause, 'cause', None)).__name__ if e.cause else ''}"
            batch_handles = [await client.start(OrderWorkflow, Order(f"b{i}", "eve", [Item("x", i + 1)], 1.0 + i),
                                                id=f"batch-{i}", task_queue=tq) for i in range(batch)]
            for h in batch_handles:
                await h.result(timeout=60)
        histories = {wid: await h.history() for wid, h in handles.items()}
        batch_hist = await client.fetch_histories([(h.workflow_id, None) for h in batch_handles], progress=False)
    for wid, hist in histories.items():
        (out / f"{engine}-{wid}.json").write_text(hist.to_json(format="wfkit"))
    ax = histories["order-compensated"].plot_timeline()
    ax.set_title(f"order-compensated on {engine}")
    png = out / f"timeline-{engine}.png"
    fig = ax.get_figure(root=True)
    assert fig is not None
    fig.savefig(png, dpi=110, bbox_inches="tight")
    plt.close(fig)
    from . import analytics

    frame = histories_frame(list(histories.values()) + list(batch_hist))
    return {
        "engine": engine, "startup_s": started, "total_s": time.perf_counter() - t0, "results": results,
        "timeline": png.name,
        "events": histories["order-ok"].to_dataframe()[["event_id", "event_type", "category", "activity_type",
                                                         "attempt"]],
        "activities": histories["order-compensated"].activities(),
        "latency": analytics.latency(frame),
    }


def _run_notebooks(out: Path) -> list[dict[str, Any]]:
    """Execute the tour notebooks headless (nbclient) and keep the executed copies next to the report."""
    import nbclient
    import nbformat

    folder = next((d for d in (Path(__file__).resolve().parents[1] / "notebooks", Path.cwd() / "notebooks")
                   if d.is_dir()), None)
    if folder is None:
        return []
    done = []
    (out / "notebooks").mkdir(exist_ok=True)
    for path in sorted(folder.glob("*.ipynb")):
        t0 = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        error = None
        try:
            nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                    resources={"metadata": {"path": str(out / "notebooks")}}).execute()
        except Exception as exc:  # noqa: BLE001 - the report says which notebook failed and why
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        nbformat.write(nb, out / "notebooks" / path.name)
        done.append({"name": path.name, "seconds": time.perf_counter() - t0, "error": error})
        print(f"[notebook] {path.name}: {'ok' if error is None else error} ({done[-1]['seconds']:.0f} s)",
              flush=True)
    return done


def main(output: str = "demo-output", engines: str = "temporal,cadence", batch: int = 10,
         notebooks: bool = True) -> int:
    import logging

    from wfkit.notebook.html import render

    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)  # the saga's failures are expected here
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    tours = []
    for engine in [e.strip() for e in engines.split(",") if e.strip()]:
        print(f"[{engine}] starting an embedded server and running the tour...", flush=True)
        tour = asyncio.run(_tour(engine, out, batch))
        print(f"[{engine}] server up in {tour['startup_s']:.1f} s, tour done in {tour['total_s']:.1f} s: "
              f"{tour['results']}", flush=True)
        tours.append(tour)
    same = len({tuple(sorted(t["results"].items())) for t in tours}) == 1
    ran = _run_notebooks(out) if notebooks else []
    html = render("demo_report.html.j2", tours=tours, same=same, notebooks=ran)
    report = out / "report.html"
    report.write_text(html)
    print(f"same results on every engine: {same}")
    print(f"report: {report.resolve()}")
    return 0 if same and not any(n["error"] for n in ran) else 1
