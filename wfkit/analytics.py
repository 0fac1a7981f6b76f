"""Analytics over many workflow runs: latency percentiles, retries, failure mix, slowest activities.

Every function takes the frame of :func:`wfkit.histories_frame` (or ``client.histories(...)``, or one
``History.to_dataframe()``): the canonical event columns, one row per event of every run. They work the same
for Temporal and Cadence runs, mixed in one frame. Each also takes the path of a Parquet dataset written by
``client.export_histories``: DuckDB then reads only the rows and columns the helper needs (never the payloads,
the attributes of start events only), and :func:`sql` runs any DuckDB SQL over the dataset's ``events``.

Example::

    df = wfkit.histories_frame(histories)
    wfkit.analytics.latency(df)            # p50/p90/p95/p99 per workflow type and activity type
    wfkit.analytics.retries(df)            # retried activities per activity type
    wfkit.analytics.failures(df)           # what failed, how often
    wfkit.analytics.slowest(df, n=10)      # the slowest activities, with their run
    wfkit.analytics.latency("histories/")  # the same over an exported Parquet dataset
    wfkit.analytics.sql("histories/", "SELECT event_type, count(*) FROM events GROUP BY ALL").df()
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from wfkit.history._history import _CLOSE_STATUS, activities_frame

__all__ = ["activities", "failures", "latency", "retries", "slowest", "sql", "workflows"]

#: A history frame, or the path of a Parquet dataset of one (``client.export_histories``).
Frames: TypeAlias = "pd.DataFrame | str | os.PathLike[str]"

_PERCENTILES = (0.5, 0.9, 0.95, 0.99)
_RUN = ["workflow_id", "run_id"]


def _run_keys(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[_RUN].astype(object).fillna("")


def _dataset_glob(path: str | os.PathLike[str]) -> str:
    from wfkit._errors import WfkitError

    root = os.fspath(path)
    if not os.path.exists(root):
        raise WfkitError(f"no Parquet dataset at {root!r}")
    glob = root if os.path.isfile(root) else os.path.join(root, "**", "*.parquet")
    return glob.replace("'", "''")


def _has_files(path: str | os.PathLike[str]) -> bool:
    root = os.fspath(path)
    if os.path.isfile(root):
        return True
    return any(name.endswith(".parquet") and not name.startswith((".", "_"))
               for _, _, names in os.walk(root) for name in names)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as e:  # pragma: no cover - the analytics extra installs it
        from wfkit._errors import WfkitError

        raise WfkitError("analytics over a Parquet dataset needs DuckDB: pip install 'wfkit[analytics]'") from e
    return duckdb.connect()


def sql(dataset: str | os.PathLike[str], query: str) -> Any:
    """Run DuckDB SQL over a Parquet dataset of history rows (``client.export_histories``), seen as the view
    ``events`` (the canonical columns, plus the partition keys); returns the DuckDB relation (``.df()``,
    ``.fetchall()``, ``.arrow()``). Nothing is loaded but what the query reads."""
    glob = _dataset_glob(dataset)
    if not _has_files(dataset):
        from wfkit._errors import WfkitError

        raise WfkitError(f"{os.fspath(dataset)!r} holds no Parquet file yet (an export that matched nothing?)")
    con = _duckdb()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}', "
                "hive_partitioning = true, union_by_name = true)")
    return con.sql(query)


def _needed_events(dataset: str | os.PathLike[str]) -> pd.DataFrame:
    """The rows and columns of a dataset the helpers use: activity events and the runs' start, close and failure
    events, without payloads, with only the workflow type of the start events' attributes; the frame's
    ``attrs["events_per_run"]`` holds every run's event count."""
    from wfkit.history._history import FRAME_COLUMNS
    from wfkit.history._parquet import table_to_frame

    wanted = sorted({"WorkflowExecutionStarted", *_CLOSE_STATUS, *_FAILURE_EVENTS})
    cols = ", ".join(c for c in FRAME_COLUMNS if c not in ("payload", "attributes"))
    glob = _dataset_glob(dataset)
    if not _has_files(dataset):
        from wfkit.history._history import histories_frame

        empty = histories_frame([])
        empty.attrs["events_per_run"] = pd.DataFrame({"workflow_id": [], "run_id": [], "events": []})
        return empty
    con = _duckdb()
    types = ", ".join(f"'{t}'" for t in wanted)
    table = con.sql(
        f"SELECT {cols}, CASE WHEN event_type = 'WorkflowExecutionStarted' THEN json_object('workflowType', "
        "json_object('name', json_extract_string(attributes, '$.workflowType.name'))) END::VARCHAR AS attributes "
        f"FROM read_parquet('{glob}', union_by_name = true) "
        f"WHERE category = 'activity' OR event_type IN ({types})")
    table = table.to_arrow_table() if hasattr(table, "to_arrow_table") else table.fetch_arrow_table()
    frame = table_to_frame(table)
    counts = con.sql(f"SELECT workflow_id, run_id, count(*) AS events FROM read_parquet('{glob}', "
                     "union_by_name = true) GROUP BY ALL").df()
    frame.attrs["events_per_run"] = counts
    return frame


def _events(frame: Frames) -> pd.DataFrame:
    return _needed_events(frame) if isinstance(frame, (str, os.PathLike)) else frame


def workflows(frame: Frames) -> pd.DataFrame:
    """One row per run: ``workflow_id, run_id, workflow_type, task_queue, status, start_time, close_time,
    duration, events``."""
    frame = _events(frame)
    keys = _run_keys(frame)
    counted = frame.attrs.get("events_per_run")
    if counted is not None:
        events = pd.DataFrame({c: counted[c].astype(object).fillna("") for c in _RUN})
        events["events"] = counted["events"].astype("int64").to_numpy()
    else:
        events = keys.groupby(_RUN, sort=False).size().rename("events").reset_index()
    started = frame[frame["event_type"] == "WorkflowExecutionStarted"]
    start = pd.DataFrame({
        "workflow_id": keys.loc[started.index, "workflow_id"].to_numpy(),
        "run_id": keys.loc[started.index, "run_id"].to_numpy(),
        "workflow_type": [_workflow_type(a) for a in started["attributes"].array],
        "task_queue": started["task_queue"].to_numpy(),
        "start_time": started["time"].to_numpy(),
    }).drop_duplicates(_RUN)
    closed = frame[frame["event_type"].astype(str).isin(list(_CLOSE_STATUS))]
    close = pd.DataFrame({
        "workflow_id": keys.loc[closed.index, "workflow_id"].to_numpy(),
        "run_id": keys.loc[closed.index, "run_id"].to_numpy(),
        "status": [_CLOSE_STATUS[str(t)] for t in closed["event_type"]],
        "close_time": closed["time"].to_numpy(),
    }).drop_duplicates(_RUN, keep="last")
    out = events.merge(start, on=_RUN, how="left").merge(close, on=_RUN, how="left")
    out["status"] = out["status"].fillna("running")
    for c in ("start_time", "close_time"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
    out["duration"] = (out["close_time"] - out["start_time"]).astype("timedelta64[ns]")
    for c in _RUN:
        out[c] = out[c].replace("", np.nan).astype("str")
    out["workflow_type"] = out["workflow_type"].astype("str")
    out["task_queue"] = out["task_queue"].astype("str")
    return out[["workflow_id", "run_id", "workflow_type", "task_queue", "status", "start_time", "close_time",
                "duration", "events"]]


def _workflow_type(attrs: Any) -> str | None:
    try:
        wt = attrs.get("workflowType")
        name = wt.get("name") if isinstance(wt, dict) else None
        return name if isinstance(name, str) else None
    except AttributeError:
        return None


def activities(frame: Frames) -> pd.DataFrame:
    """One row per activity of every run (see :meth:`wfkit.History.activities`), with ``workflow_id``,
    ``run_id`` and ``workflow_type`` first."""
    frame = _events(frame)
    acts = activities_frame(frame, per_run=True)
    wf = workflows(frame)[_RUN + ["workflow_type"]]
    out = acts.merge(wf, on=_RUN, how="left")
    cols = _RUN + ["workflow_type"] + [c for c in acts.columns if c not in _RUN]
    return out[cols]


def _describe(groups: pd.core.groupby.SeriesGroupBy, percentiles: Sequence[float]) -> pd.DataFrame:
    parts = {"count": groups.count(), "mean": groups.mean()}
    for p in percentiles:
        parts[f"p{round(p * 100):g}"] = groups.quantile(p)
    parts["max"] = groups.max()
    return pd.DataFrame(parts)


def latency(frame: Frames, *, percentiles: Sequence[float] = _PERCENTILES) -> pd.DataFrame:
    """Latency percentiles per workflow type and per activity type.

    Returns:
        One row per ``(kind, type, metric)`` — kind ``workflow`` (metric ``duration``, closed runs) or
        ``activity`` (metrics ``schedule_to_start``, ``run_time``, ``total``) — with ``count, mean, p50,
        p90, p95, p99, max`` as timedeltas.
    """
    frame = _events(frame)
    rows = []
    wf = workflows(frame)
    wf = wf[wf["duration"].notna()]
    if len(wf):
        d = _describe(wf.groupby(wf["workflow_type"].fillna("?"), sort=True)["duration"], percentiles)
        d.insert(0, "metric", "duration")
        d.insert(0, "kind", "workflow")
        rows.append(d.rename_axis("type").reset_index())
    acts = activities_frame(frame, per_run=True)
    for metric in ("schedule_to_start", "run_time", "total"):
        a = acts[acts[metric].notna()]
        if not len(a):
            continue
        d = _describe(a.groupby(a["activity_type"].fillna("?"), sort=True)[metric], percentiles)
        d.insert(0, "metric", metric)
        d.insert(0, "kind", "activity")
        rows.append(d.rename_axis("type").reset_index())
    cols = ["kind", "type", "metric", "count", "mean"] + [f"p{round(p * 100):g}" for p in percentiles] + ["max"]
    if not rows:
        out = pd.DataFrame({c: pd.Series(dtype="timedelta64[ns]") for c in cols})
        out = out.astype({"kind": "str", "type": "str", "metric": "str", "count": "int64"})
        return out
    out = pd.concat(rows, ignore_index=True)
    out = out[["kind", "type", "metric"] + [c for c in out.columns if c not in ("kind", "type", "metric")]]
    return out.sort_values(["kind", "type", "metric"], kind="stable").reset_index(drop=True)


def retries(frame: Frames) -> pd.DataFrame:
    """Retries per activity type: ``activities, retried`` (ran more than once), ``extra_attempts``
    (attempts beyond the first), ``max_attempts, retry_rate`` (retried / activities), ``failed`` (closed as
    failed or timed out); sorted by ``extra_attempts``."""
    acts = activities_frame(_events(frame), per_run=True)
    attempts = acts["attempts"].astype("Float64").fillna(1)
    g = pd.DataFrame({
        "activity_type": acts["activity_type"].fillna("?"),
        "retried": (attempts > 1).astype(int),
        "extra": (attempts - 1).clip(lower=0).astype(int),
        "attempts": attempts.astype(int),
        "failed": acts["status"].isin(["failed", "timed_out"]).astype(int),
    }).groupby("activity_type", sort=True)
    out = pd.DataFrame({
        "activities": g.size(),
        "retried": g["retried"].sum(),
        "extra_attempts": g["extra"].sum(),
        "max_attempts": g["attempts"].max(),
        "failed": g["failed"].sum(),
    })
    out["retry_rate"] = out["retried"] / out["activities"]
    out = out[["activities", "retried", "extra_attempts", "max_attempts", "retry_rate", "failed"]]
    return out.sort_values(["extra_attempts", "retried"], ascending=False, kind="stable").reset_index()


_FAILURE_EVENTS = {
    "WorkflowExecutionFailed", "WorkflowExecutionTimedOut", "WorkflowExecutionTerminated", "WorkflowTaskFailed",
    "WorkflowTaskTimedOut", "ActivityTaskFailed", "ActivityTaskTimedOut", "ChildWorkflowExecutionFailed",
    "ChildWorkflowExecutionTimedOut", "StartChildWorkflowExecutionFailed", "SignalExternalWorkflowExecutionFailed",
    "RequestCancelExternalWorkflowExecutionFailed", "NexusOperationFailed", "NexusOperationTimedOut",
}


def failures(frame: Frames) -> pd.DataFrame:
    """The failure mix: one row per ``(event_type, type, failure)`` with ``count`` (events), ``runs``
    (distinct runs) and ``first``/``last`` time; ``type`` is the activity type for activity events, else the
    workflow type. Retried attempts that failed before the final one are counted too, under
    ``ActivityTaskStarted`` (their ``failure`` is the previous attempt's)."""
    frame = _events(frame)
    et = frame["event_type"].astype(str)
    mask = et.isin(list(_FAILURE_EVENTS)) | ((et == "ActivityTaskStarted") & frame["failure"].notna())
    f = frame[mask]
    cols = ["event_type", "type", "failure", "count", "runs", "first", "last"]
    if not len(f):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            cols, ["str", "str", "str", "int64", "int64", "datetime64[ns, UTC]", "datetime64[ns, UTC]"], strict=False)})
    keys = _run_keys(f)
    wf = workflows(frame)[_RUN + ["workflow_type"]]
    wf = wf.assign(**{c: wf[c].astype(object).fillna("") for c in _RUN})
    wtype = keys.merge(wf, on=_RUN, how="left")["workflow_type"].to_numpy()
    is_act = f["category"].astype(str).to_numpy() == "activity"
    d = pd.DataFrame({
        "event_type": et[mask].to_numpy(),
        "type": np.where(is_act, f["activity_type"].astype(object).to_numpy(), wtype),
        "failure": f["failure"].astype(object).fillna("").to_numpy(),
        "run": (keys["workflow_id"] + "\x00" + keys["run_id"]).to_numpy(),
        "time": f["time"].to_numpy(),
    })
    d["type"] = d["type"].fillna("?")
    g = d.groupby(["event_type", "type", "failure"], sort=True)
    out = pd.DataFrame({"count": g.size(), "runs": g["run"].nunique(), "first": g["time"].min(),
                        "last": g["time"].max()}).reset_index()
    out["failure"] = out["failure"].replace("", np.nan)
    for c in ("event_type", "type", "failure"):
        out[c] = out[c].astype("str")
    out["first"] = pd.to_datetime(out["first"], utc=True)
    out["last"] = pd.to_datetime(out["last"], utc=True)
    return out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)[cols]


def slowest(frame: Frames, n: int = 10, *, by: str = "total") -> pd.DataFrame:
    """The ``n`` slowest activities across all runs, by ``total`` (scheduled -> closed), ``run_time`` or
    ``schedule_to_start``, with their run, attempts, status and last failure."""
    if by not in ("total", "run_time", "schedule_to_start"):
        raise ValueError("by must be 'total', 'run_time' or 'schedule_to_start'")
    acts = activities(frame)
    acts = acts[acts[by].notna()]
    return acts.sort_values(by, ascending=False, kind="stable").head(n).reset_index(drop=True)
