"""matplotlib drawings of histories (matplotlib and pandas are imported when a drawing is made)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import matplotlib.axes

    from wfkit.history import History

__all__ = ["STATUS_COLORS", "plot_timeline"]

#: Bar colour of an activity, timer or child workflow by its status.
STATUS_COLORS = {"completed": "tab:green", "failed": "tab:red", "timed_out": "tab:orange", "canceled": "tab:gray",
                 "started": "tab:blue", "scheduled": "tab:blue", "fired": "tab:purple", "terminated": "tab:red"}


def plot_timeline(history: History, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """A Gantt chart of a history's activities, timers and child workflows, in seconds since the run started.

    Each activity shows its wait (scheduled -> started, light) and run (started -> closed, coloured by status);
    its attempt count and last failure are written next to it.

    Args:
        history: one run's :class:`wfkit.History`.
        ax: draw into these Axes (default: a new figure sized to the history).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    from wfkit.history._history import _children, _isna, activities_frame

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 1 + 0.35 * max(len(history) // 3, 3)))
    df = history.to_dataframe()
    if not len(df):
        ax.set_title("empty history")
        return ax
    t0 = df["time"].iloc[0]
    tend = df["time"].iloc[-1]

    def sec(t: Any) -> float:
        return (t - t0).total_seconds()

    bars: list[tuple[str, float, float, str, str, float | None]] = []  # label, start, end, status, note, wait
    for r in activities_frame(df, per_run=False).itertuples(index=False):
        start = r.started_time if not _isna(r.started_time) else r.scheduled_time
        end = r.closed_time if not _isna(r.closed_time) else tend
        notes = []
        if not _isna(r.attempts) and r.attempts > 1:
            notes.append(f"×{int(r.attempts)} attempts")
        if not _isna(r.last_failure):
            lf = str(r.last_failure)
            notes.append(lf if len(lf) <= 40 else lf[:37] + "...")
        bars.append((f"{r.activity_type} #{r.activity_id}", sec(start), sec(end), str(r.status),
                     ", ".join(notes), sec(r.scheduled_time)))
    for r in history.timers().itertuples(index=False):
        end = r.closed_time if not _isna(r.closed_time) else tend
        bars.append((f"timer {r.timer_id}", sec(r.started_time), sec(end), str(r.status), "", None))
    for label, start, end, status in _children(df, history._store):
        bars.append((label, sec(start), sec(end if end is not None else tend), status, "", None))
    for y, (_label, start, end, status, note, wait) in enumerate(bars):
        if wait is not None and wait < start:
            ax.barh(y, start - wait, left=wait, color="lightgray", height=0.6)
        ax.barh(y, max(end - start, 1e-3), left=start, color=STATUS_COLORS.get(status, "tab:blue"), height=0.6)
        if note:
            ax.text(end, y, "  " + note, va="center", fontsize=8)
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b[0] for b in bars])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since workflow start")
    ax.set_title(f"{history.workflow_type or 'workflow'} {history.workflow_id or ''}".strip())
    return ax
