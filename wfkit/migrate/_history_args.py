"""What a migration reads from a source history: the arguments of events exactly as sent, the signals after a
point, the activities already completed, and why a run was terminated."""

from __future__ import annotations

from typing import Any

from wfkit._converter import json_values
from wfkit._errors import WfkitError

_WF_TASK_EVENTS = ("WorkflowTaskStarted", "WorkflowTaskCompleted")

Signal = tuple[int, str, list[Any]]
"""(event ID, signal name, arguments) of one signal in a history."""


def _payload_args(value: Any) -> list[Any]:
    """The argument list of one payload field's native JSON value; raises ValueError when it is not JSON."""
    from wfkit.history._payload import _ENVELOPE_PREFIX, _envelope_marker, _temporal_payload_json, b64

    # dialect: the two native shapes of a payload field — a Payloads object ({"payloads": [...]}, one payload
    # per argument) and one base64 blob of whitespace-delimited JSON values — are per-engine knowledge; this is
    # the one place the migration core meets them, to be pointed at wfkit/history/dialects/ once those exist.
    # (History.input() cannot stand in: it folds one argument into its value, so one list argument and several
    # arguments read alike.)
    if isinstance(value, dict):
        return [_temporal_payload_json(p) for p in value.get("payloads") or []]
    if isinstance(value, str):
        data = b64(value)
        if data[:len(_ENVELOPE_PREFIX)] == _ENVELOPE_PREFIX:  # codec-encoded, and not decoded: never JSON values
            return [_envelope_marker(data)]
        return json_values(data)
    return []


def event_args(history: Any, index: int, field: str = "input") -> list[Any]:
    """The argument list of one event's payload field (workflow input, signal input), exactly as sent.

    Raises:
        WfkitError: the payloads are not JSON (binary, encrypted, a custom codec's), which wfkit cannot move.
    """
    from wfkit.history._payload import Opaque

    value = history._store.native_attrs(index).get(field)
    if value is None or value == "":
        return []
    try:
        out = _payload_args(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WfkitError(f"event {index} of {history.workflow_id!r}: {field} is not JSON ({exc}): wfkit can "
                         "only move JSON payloads") from None
    bad = [v for v in out if isinstance(v, Opaque)]
    if bad:
        raise WfkitError(f"event {index} of {history.workflow_id!r}: {field} is {bad[0]}: wfkit can only move "
                         "JSON payloads: connect the source with the codec that encoded them "
                         "(wfkit.connect(..., codec=...) or codec_server=...)")
    return out


def input_decodable(history: Any) -> bool:
    """Whether wfkit can read (and so move) the workflow's input."""
    try:
        event_args(history, 0)
    except WfkitError:
        return False
    return True


def completed_activity_types(history: Any) -> list[str]:
    """Activity types that completed in ``history``, each once, in order of completion."""
    acts = history.activities()
    done = acts[acts["status"] == "completed"]["activity_type"]
    seen: list[str] = []
    for t in done:
        if isinstance(t, str) and t not in seen:
            seen.append(t)
    return seen


def state_point(frame: Any, state_time: str | None) -> int:
    """Event ID up to which the state taken at workflow time ``state_time`` reflects the history (``frame`` is
    ``History.to_dataframe()``).

    A workflow task's time is its WorkflowTaskStarted event's (Temporal) or its DecisionTaskCompleted event's
    (Cadence): the state reflects every event before the last such event at or before that time; events
    after it (signals that arrived later) did not reach the state.
    """
    if not state_time:
        return 0
    import pandas as pd

    t = pd.Timestamp(state_time)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    wft = frame[frame["event_type"].isin(_WF_TASK_EVENTS)]
    hit = wft[wft["time"].dt.floor("us") <= t.floor("us")]
    return int(hit["event_id"].max()) if len(hit) else 0


def signals_after(history: Any, frame: Any, point: int) -> list[Signal]:
    """Every signal recorded after event ``point``, in order."""
    mask = (frame["event_type"] == "WorkflowExecutionSignaled") & (frame["event_id"] > point)
    return [(int(frame.at[i, "event_id"]), str(frame.at[i, "signal_name"]), event_args(history, int(i)))
            for i in frame.index[mask]]


def terminate_reason(frame: Any) -> str | None:
    """The reason the run was terminated with, if its last event is a termination."""
    if not len(frame) or frame["event_type"].iloc[-1] != "WorkflowExecutionTerminated":
        return None
    attrs = frame["attributes"].iloc[-1]
    reason = attrs.get("reason") if isinstance(attrs, dict) else None
    return reason if isinstance(reason, str) else None
