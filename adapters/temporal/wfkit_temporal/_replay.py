"""Replay on Temporal: temporalio's Replayer over wfkit histories, and what a Cadence history needs to read as one
that temporalio recorded.

A Cadence history is converted to Temporal's vocabulary by its dialect (``History.to_json(format="temporal")``);
then what the two SDKs record differently is mapped so that temporalio's Replayer sees what it would have written:

- version markers: Cadence ``Version`` markers (change ID, version v) -> temporalio ``core_patch`` markers for the
  patch ID ``"<change ID>/v<v>"`` (how wfkit maps ``get_version`` onto patches);
- activity and timer IDs: Cadence's client numbers them together from 0; temporalio numbers each from 1;
- the search-attribute upsert Cadence's client adds for version changes (``CadenceChangeVersion``) becomes
  temporalio's (``TemporalChangeVersion`` with patch IDs);
- the first completed workflow task carries the core SDK flags a current temporalio would have written.

Side effects have no equivalent (Temporal records them as local activities): such a history is not replayable.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import wfkit.engine as wfe

if TYPE_CHECKING:
    from wfkit.engine import History

_JSON_PLAIN = base64.b64encode(b"json/plain").decode()
_KEYWORD_LIST = base64.b64encode(b"KeywordList").decode()
_CORE_FLAGS = (1, 2, 3)


async def replay(histories: Sequence[History],
                 workflows: Sequence[wfe.WorkflowDefn | type]) -> list[BaseException | None]:
    """Each history through temporalio's Replayer (wfkit definitions and temporalio ``@workflow.defn`` classes);
    per history None, or what went wrong."""
    from ._worker import replay_histories

    out: list[BaseException | None] = [None] * len(histories)
    todo: list[tuple[int, str, dict[str, Any]]] = []
    for i, h in enumerate(histories):
        try:
            todo.append((i, h.workflow_id or "replay", temporal_history_doc(h)))
        except (wfe.WfkitError, ValueError) as exc:
            out[i] = wfe.WfkitError(f"cannot replay on temporal: {exc}")
    if todo:
        failures = await replay_histories([(wid, doc) for _, wid, doc in todo], list(workflows))
        for (i, _, _), failure in zip(todo, failures, strict=True):
            out[i] = None if failure is None else _readable(failure)
    return out


def native_history_json(h: History, *, indent: int | None = None) -> str:
    """``h`` as Temporal proto-JSON that temporalio's Replayer and the ``temporal`` CLI read."""
    return json.dumps(temporal_history_doc(h), indent=indent, separators=None if indent else (",", ":"))


def temporal_history_doc(h: History) -> dict[str, Any]:
    """The history as Temporal proto-JSON (``{"events": [...]}``); a history of another engine is converted and
    what its SDK records differently is mapped (see the module docstring)."""
    doc = json.loads(h.to_json(format="temporal"))
    if h.engine == "temporal":
        return doc
    return {"events": _cadence_to_temporal_events(doc["events"])}


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def _failure_text(exc: BaseException) -> str:
    """One readable line: temporalio wraps the core's failure in a Rust debug dump; keep its message."""
    text = str(exc) or type(exc).__name__
    m = _CORE_MESSAGE.search(text)
    if m:
        text = m.group(1).replace('\\"', '"')
    diverged = any(w in text for w in ("ondetermini", "diverged", "outside the supported range"))
    name = "NondeterminismError" if diverged else type(exc).__name__
    if isinstance(exc, wfe.WfkitError) and text.startswith(name):
        return text
    return f"{name}: {text}"



def _readable(exc: BaseException) -> BaseException:
    """temporalio's failure as a wfkit error with one readable line (``NondeterminismError`` when code diverged)."""
    text = _failure_text(exc)
    name, _, message = text.partition(": ")
    if name == "NondeterminismError":
        return wfe.NondeterminismError(message)
    return exc if isinstance(exc, wfe.WfkitError) else wfe.WfkitError(text)


def _payload_values(p: Any) -> list[Any]:
    """The JSON values of a Temporal proto-JSON ``Payload`` or ``Payloads`` (decoded by the Temporal dialect)."""
    v = wfe.builtin_dialect("temporal").decode_json_payload(p)
    return v if isinstance(v, list) else [v]


def _b64json(value: Any) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()



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
                raise wfe.NotConvertible(f"its {name} markers (event {ev.get('eventId')}) have no Temporal "
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
        raise wfe.NotConvertible(f"a Version marker it cannot read (change {change_id!r}, version {version!r})")
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


