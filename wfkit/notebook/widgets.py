"""ipywidgets for notebooks: a connection panel, a workflow browser, a live monitor (``%wf panel``).

Each widget is a thin shell over the Python API. The connection panel and ``Panel`` keep their clients in a
:class:`~wfkit.notebook.connections.Connections` registry (by default the one ``%wf`` and plain Python use).
Every callback runs inside the widget's ``Output`` area, so an error shows up in the widget as one line (never
swallowed, never a silent no-op).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W

from wfkit.notebook import connections as _connections
from wfkit.notebook.connections import Connections

__all__ = ["BatchPanel", "ConnectionPanel", "LiveMonitor", "Panel", "WorkflowBrowser"]

DEFAULT_URL = "temporal+dev://"
"""What the connection panel offers before anything is typed, when nothing is connected yet."""


def _guarded(out: W.Output, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown in the widget, by type and message
            out.append_stdout(f"{type(exc).__name__}: {exc}\n")
            return None

    return run


class ConnectionPanel(W.VBox):
    """URL (+ optional name and API key) → Connect. The new client is added to ``connections`` (the default
    registry unless given) under the name typed, and made current; ``on_connect(client)`` is then called. It opens
    on the current connection (its URL, without secrets, and its status) when there is one."""

    def __init__(self, on_connect: Callable[[Any], None] | None = None, url: str | None = None,
                 connections: Connections | None = None):
        self.connections = connections if connections is not None else _connections.default
        current = self.connections.current
        if url is None:
            url = current.url if current is not None else DEFAULT_URL
        self.url = W.Text(value=url, description="URL", layout=W.Layout(width="60%"))
        self.alias = W.Text(value="", description="name", placeholder="(optional)")
        self.api_key = W.Password(value="", description="API key")
        self.button = W.Button(description="Connect", button_style="primary")
        self.status = W.HTML("")
        self.out = W.Output()
        self.client: Any = None
        self._on_connect = on_connect
        self.button.on_click(_guarded(self.out, lambda _b: self.connect()))
        super().__init__([W.HBox([self.url, self.alias]), self.api_key, self.button, self.status, self.out])
        if current is not None:  # `client` stays the one this panel connects; the status says where we are
            self._show_status(current)

    def _show_status(self, client: Any) -> None:
        from html import escape

        self.status.value = (f"connected: {escape(client.engine)} at <code>{escape(client.address)}"
                             f"</code>, namespace <code>{escape(client.namespace)}</code>")

    def connect(self) -> Any:

        self.out.outputs = ()
        self.status.value = "connecting…"
        try:
            self.client = self.connections.connect(self.url.value.strip(), name=self.alias.value.strip() or None,
                                                   api_key=self.api_key.value or None)
        except Exception:
            self.status.value = "<b>not connected</b>"
            raise
        self._show_status(self.client)
        if self._on_connect is not None:
            self._on_connect(self.client)
        return self.client


#: The columns of the browser's executions grid.
BROWSER_COLUMNS = ("workflow_id", "workflow_type", "status", "start_time", "close_time", "history_length",
                   "task_queue")


class WorkflowBrowser(W.VBox):
    """Query → a grid of executions (sortable, a filter per column, virtual scrolling) → click a row → its
    diagnosis and pending activities (when it runs), its events (a compact grid, failures in red) and its
    timeline."""

    def __init__(self, client: Any, query: str = "", limit: int = 200):
        self.client = client
        self.query = W.Text(value=query, description="query", placeholder="WorkflowType='OrderWorkflow'",
                            layout=W.Layout(width="70%"))
        self.limit = W.BoundedIntText(value=limit, min=1, max=100_000, description="limit")
        self.search_button = W.Button(description="Search", button_style="primary")
        import pandas as pd

        from wfkit.notebook.views import grid

        self.table = grid(pd.DataFrame(columns=list(BROWSER_COLUMNS)))
        self.events: Any = None
        self.summary = W.HTML("")
        self.detail = W.Output()
        self.errors = W.Output()
        self.executions: Any = None
        self.search_button.on_click(_guarded(self.errors, lambda _b: self.search()))
        self.table.observe(_guarded(self.errors, self._on_pick), names="selected_rows")
        super().__init__([W.HBox([self.query, self.limit, self.search_button]), self.summary, self.table,
                          self.errors, self.detail])

    def search(self) -> Any:
        self.errors.outputs = ()
        self.executions = self.client.sync.list(self.query.value.strip() or None, limit=self.limit.value)
        from wfkit.notebook.views import update_grid

        frame = self.executions.to_dataframe()[list(BROWSER_COLUMNS)]
        for col in ("start_time", "close_time"):  # to the second, as people read them
            frame[col] = frame[col].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object).where(frame[col].notna(), "")
        update_grid(self.table, frame)
        more = " (more on the server: raise the limit)" if self.executions.truncated else ""
        self.summary.value = f"{len(self.executions)} executions{more}"
        return self.executions

    def select(self, index: int) -> None:
        """Pick the row ``index`` of the last search (as a click on it does)."""
        self.table.selected_rows = [index]

    def _on_pick(self, change: dict[str, Any]) -> None:
        picked = change.get("new") or []
        if not picked or self.executions is None:
            return
        e = self.executions[picked[0]]
        handle = self.client.sync.handle(e.workflow_id, e.run_id)
        hist = handle.sync.history()
        import matplotlib.pyplot as plt

        self.detail.outputs = ()
        self.detail.append_display_data(e)
        if e.is_open:  # why it is where it is, and what it waits on
            diagnosis = handle.sync.diagnose()
            self.detail.append_display_data(diagnosis)
            if diagnosis.execution is not None and diagnosis.execution.pending_activities:
                self.detail.append_display_data(diagnosis.execution.pending_activities_frame())
        from wfkit.notebook.views import compact_events, grid

        self.events = grid(compact_events(hist), highlight="failure", height="260px")
        self.detail.append_display_data(self.events)
        ax = hist.plot_timeline()
        self.detail.append_display_data(ax.figure)
        plt.close(ax.figure)


class LiveMonitor(W.VBox):
    """Status of chosen workflows, refreshed every ``interval`` seconds in the background."""

    def __init__(self, client: Any, workflow_ids: Sequence[str], interval: float = 2.0):
        self.client = client
        self.workflow_ids = list(workflow_ids)
        self.interval = interval
        self.table = W.HTML("")
        self.errors = W.Output()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stop_button = W.Button(description="Stop")
        self.stop_button.on_click(lambda _b: self.stop())
        super().__init__([self.table, self.stop_button, self.errors])
        self.refresh()

    def refresh(self) -> list[Any]:
        from wfkit.notebook.html import render

        rows = []
        for wid in self.workflow_ids:
            try:
                rows.append(self.client.sync.handle(wid).sync.describe())
            except Exception as exc:  # noqa: BLE001 - shown in the widget; the other rows still refresh
                self.errors.append_stdout(f"{wid}: {type(exc).__name__}: {exc}\n")
        self.table.value = render("executions.html.j2", rows=rows, total=len(rows), shown=len(rows), query=None,
                                  truncated=False)
        return rows

    def start(self) -> LiveMonitor:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="wfkit-monitor", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        self._thread = None


class Panel(W.Tab):
    """``%wf panel``: connection panel and workflow browser in tabs, on a connections registry (default: the one
    ``%wf`` and plain Python share). The browser opens on the registry's current connection."""

    def __init__(self, connections: Connections | None = None):
        self.connections = connections if connections is not None else _connections.default
        self.connection = ConnectionPanel(on_connect=self._show_browser, connections=self.connections)
        self.browser_box = W.VBox([W.HTML("connect first")])
        super().__init__(children=[self.connection, self.browser_box])
        self.set_title(0, "connection")
        self.set_title(1, "workflows")
        if self.connections.current is not None:
            self._show_browser(self.connections.current)

    def _show_browser(self, client: Any) -> None:
        self.browser = WorkflowBrowser(client)
        self.browser_box.children = [self.browser]


class BatchPanel(W.VBox):
    """A batch operation with a confirmation button: action and list query → Preview (nothing done: what each
    workflow would get) → Confirm (does it; the results frame). A thin shell over ``client.batch``."""

    def __init__(self, client: Any, query: str = "", action: str = "signal"):
        self.client = client
        self.action = W.Dropdown(options=["signal", "cancel", "terminate", "reset"], value=action,
                                 description="action")
        self.query = W.Text(value=query, description="query", placeholder="WorkflowType='OrderWorkflow'",
                            layout=W.Layout(width="70%"))
        self.signal = W.Text(description="signal", placeholder="signal name (action signal)")
        self.args = W.Text(description="args", placeholder='JSON list of signal arguments, e.g. ["zoom"]')
        self.reason = W.Text(description="reason")
        self.reset_to = W.Text(value="last", description="reset to")
        self.preview_button = W.Button(description="Preview", button_style="info")
        self.confirm_button = W.Button(description="Confirm", button_style="danger", disabled=True)
        self.status = W.HTML("")
        self.out = W.Output()
        self.errors = W.Output()
        self.plan: Any = None
        self.results: Any = None
        self.preview_button.on_click(_guarded(self.errors, lambda _b: self.preview()))
        self.confirm_button.on_click(_guarded(self.errors, lambda _b: self.confirm()))
        for w in (self.action, self.query, self.signal, self.args, self.reason, self.reset_to):
            w.observe(lambda _c: self._invalidate(), names="value")
        super().__init__([W.HBox([self.action, self.query]), W.HBox([self.signal, self.args]),
                          W.HBox([self.reason, self.reset_to]), W.HBox([self.preview_button, self.confirm_button]),
                          self.status, self.errors, self.out])

    def _invalidate(self) -> None:
        """Any change after a preview needs a new preview before Confirm."""
        self.plan = None
        self.confirm_button.disabled = True

    def preview(self) -> Any:
        import json

        self.errors.outputs = ()
        args = json.loads(self.args.value) if self.args.value.strip() else []
        if not isinstance(args, list):
            args = [args]
        to = self.reset_to.value.strip() or "last"
        self.plan = self.client.sync.batch(
            self.action.value, self.query.value.strip(), signal=self.signal.value.strip() or None, args=args,
            reason=self.reason.value.strip() or None, reset_to=int(to) if to.isdigit() else to)
        self.out.outputs = ()
        self.out.append_display_data(self.plan.preview)
        n = len(self.plan.preview)
        self.status.value = f"{n} workflows would get {self.action.value}: nothing done yet"
        self.confirm_button.disabled = n == 0
        return self.plan

    def confirm(self) -> Any:
        if self.plan is None:
            raise RuntimeError("preview first: Confirm acts on what the preview showed")
        from wfkit._loop import run_sync

        plan, self.plan = self.plan, None
        self.confirm_button.disabled = True
        self.results = run_sync(plan.run(confirm=True, progress=False))
        self.out.outputs = ()
        self.out.append_display_data(self.results)
        counts = self.results["outcome"].value_counts().to_dict()
        self.status.value = "done: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        return self.results
