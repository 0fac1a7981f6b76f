"""``wfkit.replay`` on the local engine: any engine's history through the current workflow code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import wfkit.engine as wfe
from wfkit.engine import WorkflowDefn

from . import _events as ev
from ._replay import Replayer


def replay(histories: Sequence[wfe.History], workflows: Sequence[WorkflowDefn | type]) -> list[BaseException | None]:
    defns = {d.name: d for d in (w if isinstance(w, WorkflowDefn) else wfe.workflow_defn(w) for w in workflows)}
    out: list[BaseException | None] = []
    for h in histories:
        try:
            events: list[dict[str, Any]] = json.loads(h.to_json(format="temporal"))["events"]
        except (wfe.WfkitError, ValueError) as exc:
            out.append(wfe.WfkitError(f"cannot replay on local: {exc}"))
            continue
        if not events:
            out.append(wfe.WfkitError("cannot replay an empty history"))
            continue
        name = ev.attrs(events[0]).get("workflowType", {}).get("name")
        defn = defns.get(name)
        if defn is None:
            out.append(wfe.WfkitError(f"no workflow definition for type {name!r} (given: {sorted(defns)})"))
            continue
        last = ev.parse_time(events[-1]["eventTime"]) if events[-1].get("eventTime") else datetime.now(UTC)
        r = Replayer(defn, events, now=last, namespace="default", workflow_id=h.workflow_id or "replay",
                     run_id=h.run_id or "replay")
        try:
            r.run_recorded()
        except Exception as exc:  # noqa: BLE001 - the caller gets each history's outcome
            out.append(exc if isinstance(exc, wfe.NondeterminismError) else wfe.NondeterminismError(str(exc)))
            continue
        out.append(None)
    return out
