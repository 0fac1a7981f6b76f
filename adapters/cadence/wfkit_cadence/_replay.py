"""Replay on Cadence: the Cadence client's workflow engine over wfkit histories, and what a Temporal history
needs to read as one that the Cadence client recorded.

A Temporal history is converted to Cadence's vocabulary by its dialect (``History.to_json(format="cadence")``);
then temporalio's ``core_patch`` markers become Cadence ``Version`` markers (the patch ID ``"<change>/v<v>"`` was
written by ``wfkit.get_version``), activity and timer IDs are renumbered as the Cadence client numbers them
(together, from 0), and ``TemporalChangeVersion`` upserts become ``CadenceChangeVersion``. Local-activity markers
(``wfkit.side_effect`` on Temporal) have no equivalent: such a history is not replayable.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import wfkit.engine as wfe

if TYPE_CHECKING:
    from wfkit.engine import History


async def replay(histories: Sequence[History], workflows: Sequence[wfe.WorkflowDefn]) -> list[BaseException | None]:
    """Each history through the Cadence client's workflow engine; per history None, or what went wrong."""
    from . import _worker  # noqa: F401 - registers wfkit's in-workflow runtime for Cadence
    from ._workflow import replay as replay_events

    out: list[BaseException | None] = []
    for h in histories:
        try:
            proto = cadence_history_proto(h)
        except (wfe.WfkitError, ValueError) as exc:
            out.append(wfe.WfkitError(f"cannot replay on cadence: {exc}"))
            continue
        try:
            # the SDK's deterministic loop runs in a thread of its own
            await asyncio.to_thread(replay_events, list(proto.events), list(workflows),
                                    workflow_id=h.workflow_id or "replay")
            out.append(None)
        except Exception as exc:  # noqa: BLE001 - every failure is a result, not an abort
            out.append(exc)
    return out


def native_history_json(h: History, *, indent: int | None = None) -> str:
    """``h`` as Cadence CLI JSON (``cadence workflow show --of``), which the Cadence clients' replayers read."""
    events = json.loads(h.to_json(format="cadence"))
    if h.engine != "cadence":
        events = _temporal_to_cadence_events(events)
    return json.dumps(events, indent=indent, separators=None if indent else (",", ":"))


def cadence_history_proto(h: History) -> Any:
    """The history as a ``cadence.api.v1`` History (converted when another engine recorded it)."""
    from wfkit.engine import History as WfkitHistory

    if h.engine == "cadence" and h.source_format == "proto":
        return h.to_proto()
    return WfkitHistory.from_json(native_history_json(h), format="cadence", workflow_id=h.workflow_id).to_proto()


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
                    raise wfe.NotConvertible(f"patch marker {pid!r} (event {ev.get('eventId')}) was not written by "
                                          "wfkit.get_version (expected '<change id>/v<version>')")
                last_change = (change, int(v))
                ev[key] = {**{k: x for k, x in a.items() if k not in ("details", "markerName", "header")},
                           "markerName": "Version", "details": base64.b64encode(str(int(v)).encode()).decode(),
                           "header": {"fields": {"MarkerHeader": base64.b64encode(
                               json.dumps({"context_id": change}, separators=(",", ":")).encode()).decode()}}}
            elif name in ("core_local_activity", "LocalActivity"):
                raise wfe.NotConvertible(f"its local-activity markers (event {ev.get('eventId')}; wfkit.side_effect "
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
