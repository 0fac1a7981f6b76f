"""``wfkit.replay``: run recorded histories through the current workflow code, with an engine's own replayer.

On Temporal it is temporalio's ``Replayer`` (unsandboxed, like wfkit's workers) over the workflow classes the
Temporal adapter generates from wfkit definitions. On Cadence it is the adapter's replay (the cadence client's
workflow engine and nondeterminism checks), where the adapter offers one; otherwise ``UnsupportedFeature``.

A history of the other engine is converted first (``History.to_json(format=<engine>)``), and what the two
engines record differently is mapped so that the replayer sees what its own SDK would have written:

- version markers: Cadence ``Version`` markers (change ID, version v) <-> Temporal ``core_patch`` markers for
  the patch ID ``"<change ID>/v<v>"`` (SPEC's mapping of ``get_version`` onto patches);
- activity and timer IDs: Cadence's client numbers them from 0 (activities) and gives timers their started
  event's ID; temporalio numbers both from 1 in command order;
- the search-attribute upserts each SDK adds for version changes (``CadenceChangeVersion`` with
  ``"<change>-<v>"`` values, ``TemporalChangeVersion`` with patch IDs) are translated into each other;
- the Cadence client's wait-condition timers that wfkit cancels are kept (both record TimerStarted/Canceled).

What cannot be mapped gives ``ok=False`` with a reason naming it (side effects, which Temporal records as local
activity markers and Cadence as SideEffect markers, are one).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Sequence
from typing import Any

from ._definitions import WorkflowDefn, workflow_defn
from ._errors import UnsupportedFeature, WfkitError
from ._loop import on_loop

__all__ = ["REPLAY_COLUMNS", "replay", "replayable_json"]

REPLAY_COLUMNS = ("workflow_id", "run_id", "workflow_type", "source_engine", "ok", "error")


class NotConvertible(WfkitError):
    """A history that cannot be replayed on the other engine (the message says why)."""


async def replay(histories: Any, workflows: Sequence[type], engine: str = "temporal") -> Any:
    """Replay ``histories`` through the current code of ``workflows`` with ``engine``'s replayer.

    Args:
        histories: ``wfkit.History`` objects (either engine's; one, or any iterable), or JSON texts/paths that
            ``History.from_json`` reads.
        workflows: the ``@wfkit.workflow`` classes the histories were recorded by (current code).
        engine: ``"temporal"`` (temporalio's Replayer) or ``"cadence"``.

    Returns:
        A DataFrame, one row per history: ``workflow_id, run_id, workflow_type, source_engine, ok, error``
        (``error`` says what diverged, or why a history could not be replayed).

    Raises:
        UnsupportedFeature: the engine has no replayer wfkit can drive.
    """
    from wfkit.history._history import History

    if isinstance(histories, (History, str, bytes)):
        histories = [histories]
    hs = [h if isinstance(h, History) else History.from_json(h) for h in histories]
    defns = [workflow_defn(w) for w in workflows]
    if not defns:
        raise WfkitError("replay: give the workflow classes to replay against (workflows=[...])")
    if engine == "temporal":
        rows = await on_loop(_replay_temporal(hs, defns))
    elif engine == "cadence":
        rows = await _replay_cadence(hs, defns)
    else:
        raise WfkitError(f"replay: engine must be 'temporal' or 'cadence', not {engine!r}")
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(REPLAY_COLUMNS))
    df["ok"] = df["ok"].astype(bool)
    return df


def _row(h: Any, ok: bool, error: str | None) -> dict[str, Any]:
    return {"workflow_id": h.workflow_id, "run_id": h.run_id, "workflow_type": h.workflow_type,
            "source_engine": h.engine, "ok": ok, "error": error}


# --- Temporal ---------------------------------------------------------------------------------------------------

async def _replay_temporal(hs: list[Any], defns: list[WorkflowDefn]) -> list[dict[str, Any]]:
    from ._engines import get_engine

    try:
        engine = get_engine("temporal")
    except WfkitError as exc:
        raise UnsupportedFeature("temporal", "replay", str(exc)) from None
    names = {d.name for d in defns}
    rows: list[dict[str, Any] | None] = [None] * len(hs)
    todo: list[tuple[int, str, dict[str, Any]]] = []
    for i, h in enumerate(hs):
        if h.workflow_type not in names:
            rows[i] = _row(h, False, f"no workflow named {h.workflow_type!r} among {sorted(names)}")
            continue
        try:
            todo.append((i, h.workflow_id or "replay", temporal_history_doc(h)))
        except (NotConvertible, WfkitError, ValueError) as exc:
            rows[i] = _row(h, False, f"cannot replay on temporal: {exc}")
    if todo:
        failures = await engine.replay_histories([(wid, doc) for _, wid, doc in todo], defns)
        for (i, _, _), failure in zip(todo, failures):
            rows[i] = _row(hs[i], failure is None, None if failure is None else _failure_text(failure))
    return [r for r in rows if r is not None]


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def _failure_text(exc: BaseException) -> str:
    """One readable line: temporalio wraps the core's failure in a Rust debug dump; keep its message."""
    text = str(exc) or type(exc).__name__
    m = _CORE_MESSAGE.search(text)
    if m:
        text = m.group(1).replace('\\"', '"')
    diverged = any(w in text for w in ("ondetermini", "diverged", "outside the supported range"))
    name = "NondeterminismError" if diverged else type(exc).__name__
    if isinstance(exc, WfkitError) and text.startswith(name):
        return text
    return f"{name}: {text}"


def temporal_history_doc(h: Any) -> dict[str, Any]:
    """The history as Temporal proto-JSON (``{"events": [...]}``) that temporalio's Replayer accepts; a Cadence
    history is converted and its version markers, activity and timer IDs mapped."""
    doc = json.loads(h.to_json(format="temporal"))
    if h.engine == "temporal":
        return doc
    return {"events": _cadence_to_temporal_events(doc["events"])}


def replayable_json(h: Any, engine: str, *, indent: int | None = None) -> str:
    """``h`` as ``engine``'s native history JSON (Temporal proto-JSON, Cadence CLI JSON) that ``engine``'s own
    replayer accepts: ``History.to_json(format=engine)`` plus, for a history of the other engine, the
    mapping of version markers, activity and timer IDs described in this module.

    Raises:
        WfkitError: the history records something the other engine has no equivalent for (side effects).
    """
    if engine == "temporal":
        doc: Any = temporal_history_doc(h)
    elif engine == "cadence":
        doc = json.loads(h.to_json(format="cadence"))
        if h.engine == "temporal":
            doc = _temporal_to_cadence_events(doc)
    else:
        raise WfkitError(f"engine must be 'temporal' or 'cadence', not {engine!r}")
    return json.dumps(doc, indent=indent, separators=None if indent else (",", ":"))


def _b64json(value: Any) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


_JSON_PLAIN = base64.b64encode(b"json/plain").decode()
_KEYWORD_LIST = base64.b64encode(b"KeywordList").decode()
_CORE_FLAGS = (1, 2, 3)


def _payload_values(p: Any) -> list[Any]:
    from wfkit.history._payload import decode_temporal_json

    v = decode_temporal_json(p)
    return v if isinstance(v, list) else [v]


def _cadence_to_temporal_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    activity_ids: dict[str, str] = {}
    timer_ids: dict[str, str] = {}
    flagged = False
    for ev in events:
        ev = json.loads(json.dumps(ev))  # a private copy to edit
        etype = ev.get("eventType", "")
        key = next((k for k in ev if k.endswith("EventAttributes")), None)
        attrs = ev.get(key) if key else None
        if not isinstance(attrs, dict):
            out.append(ev)
            continue
        if etype == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED" and not flagged:
            # Replay it as a history the current core wrote: with its ID-and-type determinism checks (1), version
            # search attributes upserted on patches (2) and terminal commands last (3). Without these flags core
            # falls back to its lenient legacy checks.
            attrs["sdkMetadata"] = {"coreUsedFlags": list(_CORE_FLAGS)}
            flagged = True
        elif etype == "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            fields = attrs.get("searchAttributes", {}).get("indexedFields", {})
            if "CadenceChangeVersion" in fields:  # the SDKs' own record of versions, each in its own words
                values = _payload_values(fields.pop("CadenceChangeVersion"))
                values = values[0] if len(values) == 1 and isinstance(values[0], list) else values
                patches = []
                for v in values:
                    change, sep, num = str(v).rpartition("-")
                    patches.append(f"{change}/v{num}" if sep else str(v))
                fields["TemporalChangeVersion"] = {"metadata": {"encoding": _JSON_PLAIN, "type": _KEYWORD_LIST},
                                                   "data": _b64json(patches)}
        elif etype == "EVENT_TYPE_MARKER_RECORDED":
            name = attrs.get("markerName")
            if name == "Version":
                ev[key] = _version_to_patch(attrs)
            elif name in ("SideEffect", "MutableSideEffect", "LocalActivity"):
                raise NotConvertible(f"its {name} markers (event {ev.get('eventId')}) have no Temporal "
                                     "equivalent: Temporal records side effects as local activities")
        elif etype == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED" and "activityId" in attrs:
            # Cadence's client counts activities and timers together from 0; temporalio each from 1
            activity_ids[attrs["activityId"]] = str(len(activity_ids) + 1)
            attrs["activityId"] = activity_ids[attrs["activityId"]]
        elif etype == "EVENT_TYPE_TIMER_STARTED" and "timerId" in attrs:
            timer_ids[attrs["timerId"]] = str(len(timer_ids) + 1)
            attrs["timerId"] = timer_ids[attrs["timerId"]]
        elif "timerId" in attrs:
            attrs["timerId"] = timer_ids.get(attrs["timerId"], attrs["timerId"])
        elif "activityId" in attrs:
            attrs["activityId"] = activity_ids.get(attrs["activityId"], attrs["activityId"])
        out.append(ev)
    return out


def _version_to_patch(a: dict[str, Any]) -> dict[str, Any]:
    change_id = _cadence_marker_context(a)
    details = a.get("details") or {}
    data = details.get("data") if isinstance(details, dict) else None
    values = _payload_values(data) if data is not None else []
    version = values[0] if values else None
    if not isinstance(change_id, str) or not isinstance(version, int):
        raise NotConvertible(f"a Version marker it cannot read (change {change_id!r}, version {version!r})")
    patch = {"id": f"{change_id}/v{version}", "deprecated": False}
    return {**{k: v for k, v in a.items() if k not in ("details", "header", "markerName")},
            "markerName": "core_patch",
            "details": {"patch-data": {"payloads": [{"metadata": {"encoding": _JSON_PLAIN},
                                                     "data": _b64json(patch)}]}}}


def _cadence_marker_context(a: dict[str, Any]) -> Any:
    """The change ID a Cadence Version marker belongs to (kept in its marker header by the Python client)."""
    header = a.get("header") or {}
    fields = header.get("fields") if isinstance(header, dict) else None
    if isinstance(fields, dict):
        for v in fields.values():
            data = v.get("data") if isinstance(v, dict) and "data" in v else v
            for value in _payload_values(data) if isinstance(data, dict) else _decode_b64_json(data):
                if isinstance(value, dict):
                    for key in ("id", "contextId", "context_id", "changeId", "change_id"):
                        if isinstance(value.get(key), str):
                            return value[key]
                if isinstance(value, str):
                    return value
    return None


def _decode_b64_json(data: Any) -> list[Any]:
    if not isinstance(data, str):
        return []
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4))
        return [json.loads(raw)]
    except (ValueError, UnicodeDecodeError):
        return []


# --- Cadence ----------------------------------------------------------------------------------------------------

async def _replay_cadence(hs: list[Any], defns: list[WorkflowDefn]) -> list[dict[str, Any]]:
    from ._engines import get_engine

    eng = get_engine("cadence")
    fn = getattr(eng, "replay", None)
    if fn is None:
        raise UnsupportedFeature("cadence", "replay", "the installed Cadence adapter has no replayer")
    classes = [d.cls for d in defns]
    names = {d.name for d in defns}
    rows = []
    for h in hs:
        if h.workflow_type not in names:
            rows.append(_row(h, False, f"no workflow named {h.workflow_type!r} among {sorted(names)}"))
            continue
        try:
            proto = cadence_history_proto(h)
        except (NotConvertible, WfkitError, ValueError) as exc:
            rows.append(_row(h, False, f"cannot replay on cadence: {exc}"))
            continue
        try:
            # the SDK's deterministic loop runs in a thread of its own
            await asyncio.to_thread(fn, proto, classes, workflow_id=h.workflow_id or "replay")
            rows.append(_row(h, True, None))
        except Exception as exc:  # noqa: BLE001 - every failure is a row, not an abort
            rows.append(_row(h, False, _failure_text(exc)))
    return rows


def cadence_history_proto(h: Any) -> Any:
    """The history as a ``cadence.api.v1`` History; a Temporal history is converted (version markers mapped,
    activity and timer IDs renumbered as the Cadence client numbers them)."""
    if h.engine == "cadence" and h.source_format == "proto":
        return h.to_proto()
    from google.protobuf.json_format import ParseDict

    from ._engines import history_proto_class
    from wfkit.history._convert import cadence_cli_event_to_proto

    events = json.loads(h.to_json(format="cadence"))
    if h.engine == "temporal":
        events = _temporal_to_cadence_events(events)
    return ParseDict({"events": [cadence_cli_event_to_proto(e) for e in events]}, history_proto_class("cadence")(),
                     ignore_unknown_fields=True)


def _b64_json_value(text: Any) -> Any:
    return json.loads(base64.b64decode(text + "=" * (-len(text) % 4)))


def _temporal_to_cadence_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ids: dict[tuple[str, str], str] = {}
    counter = 0
    versions: dict[str, int] = {}
    last_change: tuple[str, int] | None = None
    for ev in events:
        ev = json.loads(json.dumps(ev))
        etype = ev.get("eventType")
        key = next((k for k in ev if k.endswith("EventAttributes")), None)
        a = ev.get(key, {}) if key else {}
        if etype == "MarkerRecorded":
            name = a.get("markerName")
            if name == "core_patch":
                try:
                    patch = _b64_json_value(a.get("details", ""))
                    pid = (patch.get("patch-data") or patch.get("patch_data") or {}).get("id")
                except (ValueError, AttributeError):
                    pid = None
                change, sep, v = (pid or "").rpartition("/v")
                if not sep or not v.lstrip("-").isdigit():
                    raise NotConvertible(f"patch marker {pid!r} (event {ev.get('eventId')}) was not written by "
                                          "wfkit.get_version (expected '<change id>/v<version>')")
                last_change = (change, int(v))
                ev[key] = {**{k: x for k, x in a.items() if k not in ("details", "markerName", "header")},
                           "markerName": "Version", "details": base64.b64encode(str(int(v)).encode()).decode(),
                           "header": {"fields": {"MarkerHeader": base64.b64encode(
                               json.dumps({"context_id": change}, separators=(",", ":")).encode()).decode()}}}
            elif name in ("core_local_activity", "LocalActivity"):
                raise NotConvertible(f"its local-activity markers (event {ev.get('eventId')}; wfkit.side_effect "
                                      "on Temporal) have no Cadence equivalent")
        elif etype == "UpsertWorkflowSearchAttributes":
            fields = a.get("searchAttributes", {}).get("indexedFields", {})
            if "TemporalChangeVersion" in fields and last_change is not None:
                change, v = last_change
                values = [f"{change}-{v}"] + [f"{c}-{x}" for c, x in sorted(versions.items())]
                versions[change] = v
                last_change = None
                rest = {k: x for k, x in fields.items() if k != "TemporalChangeVersion"}
                rest["CadenceChangeVersion"] = base64.b64encode(json.dumps(values).encode()).decode()
                a["searchAttributes"]["indexedFields"] = rest
        elif etype == "ActivityTaskScheduled" and "activityId" in a:
            ids[("a", a["activityId"])] = str(counter)
            a["activityId"] = str(counter)
            counter += 1
        elif etype == "TimerStarted" and "timerId" in a:
            ids[("t", a["timerId"])] = str(counter)
            a["timerId"] = str(counter)
            counter += 1
        elif "timerId" in a:
            a["timerId"] = ids.get(("t", a["timerId"]), a["timerId"])
        elif "activityId" in a:
            a["activityId"] = ids.get(("a", a["activityId"]), a["activityId"])
        out.append(ev)
    return out
