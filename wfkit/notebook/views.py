"""Tables for people: a compact view of a history's events, and the data grid the widgets show frames in
(itables' DataTables widget: sortable columns, a filter per column, virtual scrolling, row selection).

pandas and itables are imported when a view is made.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfkit.history import History

__all__ = ["COMPACT_COLUMNS", "compact_events", "grid", "update_grid"]

COMPACT_COLUMNS = ("event_id", "offset", "event_type", "details", "failure")

# What matters per event, from the frame's columns (in this order, where set).
_DETAIL_COLUMNS = (("activity_type", "{}"), ("activity_id", "#{}"), ("timer_id", "timer {}"),
                   ("signal_name", "signal {}"), ("attempt", "attempt {}"))


def compact_events(history: History) -> Any:
    """One row per event with only what a person reads: ``event_id``, ``offset`` (seconds since the run
    started), ``event_type``, ``details`` (activity type and id, timer, signal, attempt) and ``failure``
    (its message, empty otherwise). No workflow or run ID on every row: they are the history's."""
    import pandas as pd

    df = history.to_dataframe()
    if not len(df):
        return pd.DataFrame(columns=list(COMPACT_COLUMNS))
    offset = (df["time"] - df["time"].iloc[0]).dt.total_seconds().round(3)

    def details(row: Any) -> str:
        parts = []
        for col, fmt in _DETAIL_COLUMNS:
            v = row.get(col)
            if v is not None and v == v and str(v) not in ("", "<NA>"):
                if col == "attempt" and int(v) <= 1:
                    continue
                parts.append(fmt.format(int(v) if col == "attempt" else v))
        return " ".join(parts)

    cols = [c for c, _ in _DETAIL_COLUMNS if c in df.columns]
    rows = df[cols].astype(object).to_dict("records")
    failure = df["failure"].astype(object).where(df["failure"].notna(), "") if "failure" in df.columns else ""
    return pd.DataFrame({"event_id": df["event_id"], "offset": offset, "event_type": df["event_type"].astype(str),
                         "details": [details(r) for r in rows], "failure": failure}, columns=list(COMPACT_COLUMNS))


def grid(frame: Any, *, highlight: str | None = None, height: str = "320px", **options: Any) -> Any:
    """``frame`` in itables' ``ITable`` widget: click a header to sort, type in the filter under a header to
    filter that column, scroll through any number of rows (only the visible ones are drawn), click a row to
    select it (``widget.selected_rows``). With ``highlight``, rows whose ``highlight`` column is non-empty are
    drawn in red. Cell text is HTML-escaped."""
    from itables.widget import ITable

    shown = _escaped(frame, highlight)
    opts: dict[str, Any] = dict(scrollY=height, scrollX=True, scroller=True, deferRender=True, scrollCollapse=True,
                                select={"style": "single"}, column_filters="header", maxBytes=0, showIndex=False,
                                allow_html=True, classes="display compact nowrap", layout={"topStart": None})
    opts.update(options)
    return ITable(shown, **opts)


def update_grid(widget: Any, frame: Any, *, highlight: str | None = None) -> None:
    """Show ``frame`` in a :func:`grid` widget (its options kept), with no row selected."""
    widget.update(_escaped(frame, highlight), selected_rows=[])


def _escaped(frame: Any, highlight: str | None) -> Any:
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    out = frame.copy()
    flagged = None
    if highlight is not None and highlight in out.columns:
        flagged = out[highlight].astype(str).str.len() > 0
    for col in out.columns:
        if not (is_numeric_dtype(out[col]) or is_datetime64_any_dtype(out[col]) or is_bool_dtype(out[col])):
            text = out[col].astype(object).where(out[col].notna(), "").astype(str).map(escape)
            if flagged is not None:
                text = text.where(~flagged, '<span class="wfkit-failed" style="color:#b00020;font-weight:600">'
                                  + text + "</span>")
            out[col] = text
    return out
