"""matplotlib drawings of histories (matplotlib and pandas are imported when a drawing is made)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import matplotlib.axes

    from wfkit.history import History

__all__ = ["MAX_ROWS", "OUTCOME_COLORS", "STATUS_COLORS", "plot_timeline", "plot_workflows", "timeline_rows",
           "workflow_rows"]

#: Bar colour of an activity, timer or child workflow by its status.
STATUS_COLORS = {"completed": "tab:green", "failed": "tab:red", "timed_out": "tab:orange", "canceled": "tab:gray",
                 "started": "tab:blue", "scheduled": "tab:blue", "fired": "tab:purple", "terminated": "tab:red"}


#: A timeline draws at most this many rows: beyond, activities are aggregated per activity type (and beyond
#: that, the busiest types are kept and the rest drawn as one "others" row).
MAX_ROWS = 40
#: Inches per row, and the cap on a figure's height.
ROW_HEIGHT, MAX_HEIGHT = 0.3, 9.0

#: The outcome of a workflow by its closing event (canonical event types); no closing event: running.
_OUTCOMES = (("ContinuedAsNew", "continued_as_new"), ("Completed", "completed"), ("Failed", "failed"),
             ("TimedOut", "timed_out"), ("Canceled", "canceled"), ("Terminated", "terminated"))
OUTCOME_COLORS = {"completed": "tab:green", "failed": "tab:red", "timed_out": "tab:orange", "canceled": "tab:gray",
                  "terminated": "tab:brown", "continued_as_new": "tab:cyan", "running": "tab:blue"}

_ROW_COLUMNS = ["label", "start", "end", "status", "note", "wait"]


def timeline_rows(history: History, max_rows: int = MAX_ROWS) -> Any:
    """The rows a timeline draws, as a frame (label, start, end, status, note, wait; seconds since the run
    started): one per activity, timer and child workflow; with more than ``max_rows``, one per activity type
    (its span, count, failures), and past that the busiest ``max_rows - 1`` types plus one "others" row."""
    import pandas as pd

    from wfkit.history._history import _children, _isna, activities_frame

    df = history.to_dataframe()
    if not len(df):
        return pd.DataFrame(columns=_ROW_COLUMNS)
    t0 = df["time"].iloc[0]
    tend = df["time"].iloc[-1]

    def sec(t: Any) -> float:
        return float((t - t0).total_seconds())

    rows: list[tuple[str, float, float, str, str, float | None, str]] = []  # ..., group (for aggregation)
    for r in activities_frame(df, per_run=False).itertuples(index=False):
        start = r.started_time if not _isna(r.started_time) else r.scheduled_time
        end = r.closed_time if not _isna(r.closed_time) else tend
        notes = []
        if not _isna(r.attempts) and r.attempts > 1:
            notes.append(f"×{int(r.attempts)} attempts")
        if not _isna(r.last_failure):
            lf = str(r.last_failure)
            notes.append(lf if len(lf) <= 40 else lf[:37] + "...")
        rows.append((f"{r.activity_type} #{r.activity_id}", sec(start), sec(end), str(r.status), ", ".join(notes),
                     sec(r.scheduled_time), str(r.activity_type)))
    for r in history.timers().itertuples(index=False):
        end = r.closed_time if not _isna(r.closed_time) else tend
        rows.append((f"timer {r.timer_id}", sec(r.started_time), sec(end), str(r.status), "", None, "timers"))
    for label, start, end, status in _children(df, history._store):
        rows.append((label, sec(start), sec(end if end is not None else tend), status, "", None, "child workflows"))
    frame = pd.DataFrame(rows, columns=[*_ROW_COLUMNS, "group"])
    if len(frame) > max_rows:
        frame = _aggregate(frame, max_rows)
    return frame[_ROW_COLUMNS].reset_index(drop=True)


def _aggregate(frame: Any, max_rows: int) -> Any:
    import pandas as pd

    by_count = frame["group"].value_counts()
    keep = list(by_count.index[: max_rows - 1]) if len(by_count) > max_rows else list(by_count.index)
    frame = frame.assign(group=frame["group"].where(frame["group"].isin(keep), "others"))
    out = []
    for group, g in frame.groupby("group", sort=False):
        failed = int((g["status"] != "completed").sum() - (g["status"].isin(["started", "scheduled", "fired"])).sum())
        worst = next((s for s in ("failed", "timed_out", "canceled", "terminated") if (g["status"] == s).any()),
                     "completed" if (g["status"].isin(["completed", "fired"])).all() else "started")
        note = f"×{len(g)}" + (f", {failed} not completed" if failed else "")
        out.append((f"{group} ({len(g)})", g["start"].min(), g["end"].max(), worst, note, None, group))
    return pd.DataFrame(out, columns=[*_ROW_COLUMNS, "group"]).sort_values("start", kind="stable")


def _figure(rows: int, width: float = 10) -> Any:
    # through pyplot, so that a notebook's inline backend shows it at the end of the cell
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, min(1.2 + ROW_HEIGHT * max(rows, 3), MAX_HEIGHT)), layout="constrained")


def plot_timeline(history: History, ax: matplotlib.axes.Axes | None = None, *,
                  max_rows: int = MAX_ROWS) -> matplotlib.axes.Axes:
    """A Gantt chart of a history's activities, timers and child workflows, in seconds since the run started.

    Each activity shows its wait (scheduled -> started, light) and run (started -> closed, coloured by status);
    its attempt count and last failure are written next to it. A history with more than ``max_rows`` of them is
    drawn one row per activity type (see :func:`timeline_rows`); the figure's height is capped.

    Args:
        history: one run's :class:`wfkit.History`.
        ax: draw into these Axes (default: a new figure sized to the rows, at most ``MAX_HEIGHT`` inches).
        max_rows: rows drawn before aggregating.

    Returns:
        The Axes.
    """
    bars = timeline_rows(history, max_rows)
    if ax is None:
        ax = _figure(len(bars)).subplots()
    if not len(bars):
        ax.set_title("empty history" if not len(history) else "no activities, timers or child workflows")
        return ax
    for y, b in enumerate(bars.itertuples(index=False)):
        if b.wait is not None and b.wait == b.wait and b.wait < b.start:
            ax.barh(y, b.start - b.wait, left=b.wait, color="lightgray", height=0.6)
        ax.barh(y, max(b.end - b.start, 1e-3), left=b.start, color=STATUS_COLORS.get(b.status, "tab:blue"),
                height=0.6)
        if b.note:
            ax.text(b.end, y, "  " + b.note, va="center", fontsize=8)
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels(list(bars["label"]))
    ax.set_ylim(len(bars) - 0.5, -0.5)  # first row on top, no blank band
    ax.set_xlabel("seconds since workflow start")
    ax.set_title(f"{history.workflow_type or 'workflow'} {history.workflow_id or ''}".strip())
    return ax


def workflow_rows(data: Any) -> Any:
    """One row per workflow run (workflow_id, run_id, start, end, outcome) from a frame of many histories
    (:func:`wfkit.history.histories_frame`), a list of :class:`wfkit.History`, or executions
    (:class:`wfkit.Executions` or its frame)."""
    import pandas as pd

    from wfkit.history import History, histories_frame

    if isinstance(data, (list, tuple)) and data and all(isinstance(h, History) for h in data):
        data = histories_frame(data)
    if hasattr(data, "to_dataframe"):
        data = data.to_dataframe()
    if "event_type" in data.columns:  # histories: the first and last event of each run
        g = data.sort_values("time", kind="stable").groupby(["workflow_id", "run_id"], sort=False, observed=True)
        last = g["event_type"].last().astype(str)
        out = pd.DataFrame({"start": g["time"].min(), "end": g["time"].max(), "outcome": last.map(_outcome)})
        return out.reset_index()
    if {"start_time", "close_time", "status"} <= set(data.columns):  # executions
        now = pd.Timestamp.now(tz="UTC")
        return pd.DataFrame({"workflow_id": data["workflow_id"], "run_id": data["run_id"],
                             "start": data["start_time"], "end": data["close_time"].fillna(now),
                             "outcome": data["status"].astype(str)}).reset_index(drop=True)
    raise ValueError("plot_workflows needs a frame of histories (event_type, time) or of executions "
                     f"(start_time, close_time, status); got columns {list(data.columns)}")


def _outcome(event_type: str) -> str:
    if event_type.startswith("WorkflowExecution"):
        for needle, outcome in _OUTCOMES:
            if event_type.endswith(needle):
                return outcome
    return "running"


def plot_workflows(data: Any, ax: matplotlib.axes.Axes | None = None, *, max_rows: int = 200
                   ) -> matplotlib.axes.Axes:
    """Many workflows at once: one row per run from its start to its close, coloured by outcome, on a common
    clock (see :func:`workflow_rows` for what ``data`` may be). With more than ``max_rows`` runs, the latest
    ``max_rows`` are drawn and the title says so; the figure's height is capped.

    Returns:
        The Axes.
    """
    from matplotlib.patches import Patch

    rows = workflow_rows(data).sort_values("start", kind="stable")
    total = len(rows)
    rows = rows.tail(max_rows).reset_index(drop=True)
    if ax is None:
        ax = _figure(min(len(rows), 30)).subplots()
    if not len(rows):
        ax.set_title("no workflows")
        return ax
    t0 = rows["start"].min()
    start = (rows["start"] - t0).dt.total_seconds()
    length = ((rows["end"] - rows["start"]).dt.total_seconds()).clip(lower=1e-3)
    colors = [OUTCOME_COLORS.get(o, "tab:blue") for o in rows["outcome"]]
    ax.barh(range(len(rows)), length, left=start, color=colors, height=0.8)
    if len(rows) <= 30:
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(list(rows["workflow_id"]), fontsize=8)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(rows)} runs (by start time)")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(f"seconds since {t0:%Y-%m-%d %H:%M:%S}")
    counts = rows["outcome"].value_counts()
    ax.legend(handles=[Patch(color=OUTCOME_COLORS.get(o, "tab:blue"), label=f"{o} ({n})") for o, n in counts.items()],
              loc="lower right", fontsize=8)
    ax.set_title(f"{total} workflows" + (f" (latest {len(rows)} drawn)" if total > len(rows) else ""))
    return ax
