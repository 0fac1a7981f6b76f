"""``readiness()``: what stands between workflows and a migration, per workflow type, read from their
histories."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from wfkit._definitions import WorkflowDefn, workflow_defn
from wfkit.migrate._history_args import completed_activity_types, input_decodable

READINESS_COLUMNS = ("workflow_type", "workflows", "open", "closed", "signals", "timers", "versions",
                     "child_workflows", "continue_as_new", "search_attributes", "side_effects", "reexecutes",
                     "migration_state", "blockers", "notes", "ready")

_SYSTEM_SEARCH_ATTRIBUTES = {"CadenceChangeVersion", "TemporalChangeVersion", "BuildIds"}
_VERSION_MARKERS = {"Version", "core_patch"}
_SIDE_EFFECT_MARKERS = {"SideEffect", "MutableSideEffect", "core_local_activity", "LocalActivity"}


async def readiness(histories: Any, *, query: str | None = None, workflows: Sequence[type] | None = None,
                    concurrency: int = 16, progress: bool = False) -> Any:
    """What stands between these workflows and a migration, per workflow type.

    Args:
        histories: ``wfkit.History`` objects — or a client (or Router), whose executions matching ``query``
            are fetched.
        workflows: the ``@wfkit.workflow`` classes (to tell which have a ``@wfkit.migration_state``).

    Returns:
        A DataFrame, one row per workflow type: ``workflows, open, closed`` counts; how many workflows use
        ``signals, timers, versions, child_workflows, continue_as_new, search_attributes, side_effects``;
        ``reexecutes`` (activity types open workflows completed, which a restart from input runs again);
        ``migration_state`` (True/False, None when unknown); ``blockers`` and ``notes`` (lists of text);
        ``ready`` (no blockers).
    """
    defns = {workflow_defn(w).name: workflow_defn(w) for w in workflows or ()}
    if hasattr(histories, "fetch_histories") or hasattr(histories, "clients"):
        hs = await _fetch_all(histories, query, concurrency, progress)
    else:
        from wfkit.history._history import History

        hs = [histories] if isinstance(histories, History) else list(histories)
    return await asyncio.to_thread(_readiness, hs, defns)


async def _fetch_all(client: Any, query: str | None, concurrency: int, progress: bool) -> list[Any]:
    clients = list(client.clients.values()) if hasattr(client, "clients") else [client]
    out: list[Any] = []
    for c in clients:
        execs = await c.list(query, limit=None)
        out += await c.fetch_histories(((e.workflow_id, e.run_id) for e in execs), concurrency=concurrency,
                                       progress=progress)
    return out


def _continued(df: Any) -> bool:
    if not len(df) or str(df["event_type"].iloc[0]) != "WorkflowExecutionStarted":
        return False
    a = df["attributes"].iloc[0]
    return isinstance(a, dict) and bool(a.get("continuedExecutionRunId"))


def _history_features(h: Any) -> dict[str, Any]:
    df = h.to_dataframe()
    et = df["event_type"].astype(str)
    markers: set[str] = set()
    custom_sa: set[str] = set()
    for i in df.index[et == "MarkerRecorded"]:
        a = df.at[i, "attributes"]
        if isinstance(a, dict) and isinstance(a.get("markerName"), str):
            markers.add(a["markerName"])
    for i in df.index[(et == "UpsertWorkflowSearchAttributes") | (et == "WorkflowExecutionStarted")]:
        a = df.at[i, "attributes"]
        sa = a.get("searchAttributes") if isinstance(a, dict) else None
        fields = sa.get("indexedFields") if isinstance(sa, dict) else None
        if isinstance(fields, dict):
            custom_sa |= {k for k in fields if k not in _SYSTEM_SEARCH_ATTRIBUTES}
    closed = bool(len(df)) and et.iloc[-1] in ("WorkflowExecutionCompleted", "WorkflowExecutionFailed",
                                               "WorkflowExecutionTimedOut", "WorkflowExecutionCanceled",
                                               "WorkflowExecutionTerminated", "WorkflowExecutionContinuedAsNew")
    children_started = int((et == "StartChildWorkflowExecutionInitiated").sum())
    children_closed = int(et.isin(["ChildWorkflowExecutionCompleted", "ChildWorkflowExecutionFailed",
                                   "ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionTimedOut",
                                   "ChildWorkflowExecutionTerminated",
                                   "StartChildWorkflowExecutionFailed"]).sum())
    return {
        "workflow_type": h.workflow_type or "<unknown>", "open": not closed,
        "signals": bool((et == "WorkflowExecutionSignaled").any()), "timers": bool((et == "TimerStarted").any()),
        "versions": bool(markers & _VERSION_MARKERS),
        "child_workflows": children_started > 0, "open_children": children_started > children_closed,
        "continue_as_new": bool((et == "WorkflowExecutionContinuedAsNew").any()) or _continued(df),
        "search_attributes": sorted(custom_sa), "side_effects": bool(markers & _SIDE_EFFECT_MARKERS),
        "reexecutes": completed_activity_types(h) if not closed else [], "decodable": input_decodable(h),
    }


def _readiness(hs: list[Any], defns: dict[str, WorkflowDefn]) -> Any:
    import pandas as pd

    per: dict[str, list[dict[str, Any]]] = {}
    for h in hs:
        f = _history_features(h)
        per.setdefault(f["workflow_type"], []).append(f)
    rows = []
    for wtype, fs in sorted(per.items()):
        state = (defns[wtype].migration_state is not None) if wtype in defns else None
        rows.append(_type_row(wtype, fs, state))
    df = pd.DataFrame(rows, columns=list(READINESS_COLUMNS))
    for c in ("workflows", "open", "closed", "signals", "timers", "versions", "child_workflows", "continue_as_new",
              "search_attributes", "side_effects"):
        df[c] = df[c].astype("int64")
    df["migration_state"] = df["migration_state"].astype("boolean")
    df["ready"] = df["ready"].astype(bool)
    return df


def _type_row(wtype: str, fs: list[dict[str, Any]], state: bool | None) -> dict[str, Any]:
    """One workflow type's row, from the features of its histories (``state``: whether the type has a
    ``@wfkit.migration_state``, None when unknown)."""
    open_fs = [f for f in fs if f["open"]]
    reexec: list[str] = []
    for f in open_fs if not state else ():  # a restart from the migration state re-runs nothing itself
        reexec += [a for a in f["reexecutes"] if a not in reexec]
    blockers = _blockers(fs, open_fs, state, reexec)
    return {
        "workflow_type": wtype, "workflows": len(fs), "open": len(open_fs), "closed": len(fs) - len(open_fs),
        "signals": sum(f["signals"] for f in fs), "timers": sum(f["timers"] for f in fs),
        "versions": sum(f["versions"] for f in fs), "child_workflows": sum(f["child_workflows"] for f in fs),
        "continue_as_new": sum(f["continue_as_new"] for f in fs),
        "search_attributes": sum(bool(f["search_attributes"]) for f in fs),
        "side_effects": sum(f["side_effects"] for f in fs), "reexecutes": reexec, "migration_state": state,
        "blockers": blockers, "notes": _notes(fs, open_fs, state), "ready": not blockers,
    }


def _blockers(fs: list[dict[str, Any]], open_fs: list[dict[str, Any]], state: bool | None,
              reexec: list[str]) -> list[str]:
    """What a migration of these workflows cannot do without help."""
    blockers = []
    if open_fs and state is False:
        blockers.append(f"{len(open_fs)} open without @wfkit.migration_state: a restart from the input runs "
                        f"{', '.join(reexec) or 'their activities'} again (needs allow_reexecution=True)")
    kids = sum(f["open_children"] for f in open_fs)
    if kids:
        blockers.append(f"{kids} open with running child workflows: a restart does not move children")
    undecodable = sum(not f["decodable"] for f in fs)
    if undecodable:
        blockers.append(f"{undecodable} with inputs wfkit cannot decode (encrypted or a custom codec: connect the "
                        "source with its codec, codec= or codec_server=)")
    return blockers


def _notes(fs: list[dict[str, Any]], open_fs: list[dict[str, Any]], state: bool | None) -> list[str]:
    """What a migration of these workflows does differently from leaving them be."""
    notes = []
    if open_fs and state is None:
        notes.append("pass workflows=[...] to check for @wfkit.migration_state (else restart asks the workers)")
    sas = sorted({a for f in fs for a in f["search_attributes"]})
    if sas:
        notes.append(f"custom search attributes ({', '.join(sas)}) are not carried over; register them on the "
                     "target")
    if any(f["timers"] for f in open_fs):
        notes.append("timers of restarted workflows start again from zero on the target")
    if any(f["versions"] for f in fs):
        notes.append("get_version markers: restarted workflows take the newest version; cross-engine replay "
                     "maps the markers")
    if any(f["side_effects"] for f in fs):
        notes.append("side effects are recorded differently by each engine: cross-engine replay of these "
                     "histories is not possible")
    if any(f["continue_as_new"] for f in fs):
        notes.append("continue-as-new: the latest run is migrated; earlier runs stay on the source")
    return notes
