"""Reading and writing history JSON in every dialect wfkit knows, detected by content.

Dialects (the ``format`` names of :meth:`wfkit.History.from_json`):

``temporal``
    Temporal proto-JSON: ``{"events": [...]}`` with ``eventTime`` RFC 3339 strings, ``eventType``
    ``EVENT_TYPE_*`` and int64 values as strings — ``temporal workflow show -o json``, the UI's download,
    ``WorkflowHistory.to_json()``. Also accepted wrapped as ``{"history": {"events": [...]}}``.
``temporal-legacy``
    Older Temporal JSON: PascalCase ``eventType`` and enum values (tctl, older UI), or pre-GA integer
    ``timestamp`` (nanoseconds) with ``taskQueue``. Read into proto-JSON (enums prefixed, timestamps RFC 3339).
``cadence``
    ``cadence workflow show --of`` JSON: a bare array (or ``{"events": [...]}``) of thrift-shaped events with
    numeric ``eventId``, integer-nanosecond ``timestamp``, PascalCase ``eventType``, ``taskList``,
    ``decisionTask*`` and ``*TimeoutSeconds``.
``cadence-proto``
    Cadence gRPC proto-JSON (``cadence.api.v1``): ``eventTime`` strings and no ``eventType`` (the attributes
    key says the type); read into the CLI shape, losslessly.
``wfkit``
    wfkit's portable JSON, documented in :data:`WFKIT_FORMAT_DOC`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec

from wfkit._errors import HistoryFormatError
from wfkit.history._convert import (
    cadence_proto_event_to_cli,
    normalize_temporal_legacy_event,
    ns_to_rfc3339,
)
from wfkit.history._schema import (
    CANONICAL_TO_CADENCE,
    attributes_key,
    screaming,
)

READ_FORMATS = ("auto", "temporal", "temporal-legacy", "cadence", "cadence-proto", "wfkit")
WRITE_FORMATS = ("temporal", "cadence", "wfkit")
WFKIT_FORMAT_VERSION = 1

WFKIT_FORMAT_DOC = """\
wfkit portable history JSON (format version 1)
==============================================

One JSON object per workflow run, the same shape for Temporal and Cadence. Write it with
``History.to_json(format="wfkit")``; ``History.from_json`` detects it by the ``wfkit_history`` key.

    {
      "wfkit_history": 1,                 // format version; its presence identifies the format
      "engine": "cadence",                // "temporal" or "cadence": the engine that recorded the run
      "workflow_id": "order-1",           // null when unknown
      "run_id": "5f1c...",                // null when unknown
      "events": [
        {
          "event_id": 2,                                   // integer
          "time": "2024-05-01T12:00:00.123456789Z",        // RFC 3339, UTC, up to nanoseconds
          "event_type": "WorkflowTaskScheduled",           // canonical name (Temporal naming)
          "engine_event_type": "DecisionTaskScheduled",    // the engine's own name
          "category": "workflow_task",     // workflow, workflow_task, activity, timer, signal, child,
                                           //   marker, cancel or other
          "activity_id": "1", "activity_type": "charge", "timer_id": "7", "signal_name": "cancel",
          "attempt": 1,                    // 1-based on both engines
          "task_queue": "orders", "identity": "1234@host", "related_event_id": 1,
          "failure": "InvalidOrder: bad order",
          "payload": {"id": 7},            // the decoded payload; opaque ones as "<binary 12 bytes>"
          "attributes": {...},             // the event's attributes exactly as the engine's own JSON writes
                                           //   them: Temporal proto-JSON, or Cadence CLI (thrift) JSON
          "extra": {"version": -24, "taskId": 1048583}   // the engine event's other top-level fields
        }
      ]
    }

Readers need only ``event_id``, ``time``, ``engine_event_type`` (or ``event_type``), ``attributes`` and
``extra``; the other event fields (the canonical columns and the decoded payload) are derived, written for
tools that want an engine-neutral view (``jq '.events[] | select(.category == "activity")'``), and are
recomputed when wfkit reads the file. Absent derived fields mean null.

Losslessness: ``attributes`` and ``extra`` keep the engine's own event verbatim, so a wfkit file converts
back to the engine's native JSON without loss. An envelope field whose original spelling differs from what
the reader would rebuild (e.g. an ``eventTime`` written with fewer digits) is kept in ``extra`` as it was, and
``extra["wfkit:absent"]`` lists envelope fields the original event did not have.
"""

_decode = msgspec.json.decode


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, str):  # Opaque markers and other str subclasses
        return str(obj)
    if isinstance(obj, (bytes, bytearray)):
        import base64
        return base64.b64encode(bytes(obj)).decode()
    return repr(obj)


_encode = msgspec.json.Encoder(enc_hook=_enc_hook).encode


class ParsedHistory:
    """Result of reading a JSON document: the engine, detected format and native events.

    ``events`` is a list of native dicts, or (fast path) a ``RawEvents`` sequence whose ``raws`` are each
    event's exact JSON bytes; then ``columns`` are already extracted.
    """

    __slots__ = ("columns", "engine", "events", "format", "raws", "run_id", "workflow_id")

    def __init__(self, engine: str, fmt: str, events: Any, workflow_id: str | None, run_id: str | None,
                 columns: Any = None, raws: list | None = None):
        self.engine = engine
        self.format = fmt
        self.events = events
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.columns = columns
        self.raws = raws


def read_document(source: Any, fmt: str = "auto", workflow_id: str | None = None) -> ParsedHistory:
    """Read a history document: the fast typed path for Temporal proto-JSON and Cadence CLI JSON, else the
    general one (any dialect; precise errors)."""
    if fmt not in READ_FORMATS:
        raise ValueError(f"format must be one of {', '.join(READ_FORMATS)}, not {fmt!r}")
    data = _source_bytes(source)
    if data is not None:
        fast = _read_fast(data, fmt, workflow_id)
        if fast is not None:
            return fast
        doc = _decode_doc(data)
    else:
        doc = source
    return parse_document(doc, fmt, workflow_id)


def _source_bytes(source: Any) -> bytes | None:
    if isinstance(source, (dict, list)):
        return None
    if isinstance(source, os.PathLike):
        return Path(source).read_bytes()
    if isinstance(source, str):
        s = source.lstrip()
        if s[:1] in ("{", "[") or not s:
            return source.encode()
        try:
            return Path(source).read_bytes()
        except OSError as e:
            raise HistoryFormatError(f"not JSON and not a readable file: {source[:80]!r} ({e})") from None
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    raise TypeError(f"from_json takes JSON text, bytes, a path or a dict/list, not {type(source).__name__}")


def _decode_doc(data: bytes) -> Any:
    try:
        return _decode(data)
    except msgspec.DecodeError as e:
        raise _locate_json_error(data, e) from None
    except RecursionError:
        raise HistoryFormatError("JSON nested too deeply") from None


_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_DICT = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _read_fast(data: bytes, fmt: str, workflow_id: str | None) -> ParsedHistory | None:
    from wfkit.history._typed import RawEvents, read_typed

    if fmt not in ("auto", "temporal", "cadence"):
        return None
    head = data.lstrip()[:1]
    try:
        if head == b"[":
            events_raw = msgspec.Raw(data)
            top: dict = {}
        elif head == b"{":
            top = _RAW_DICT.decode(data)
            if "events" not in top or "wfkit_history" in top:
                return None
            events_raw = top["events"]
        else:
            return None
        raws = _RAW_LIST.decode(events_raw)
        sample = [_decode(r) for r in raws[:8]]
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None  # the general path reports the error precisely
    if fmt == "auto":
        try:
            fmt = detect_format(sample if head == b"[" else {"events": sample})
        except HistoryFormatError:
            return None
        if fmt not in ("temporal", "cadence"):
            return None
    columns = read_typed(events_raw, raws, fmt)
    if columns is None:
        return None
    wid = workflow_id
    if wid is None:
        for key in ("workflowId", "workflow_id"):
            if key in top:
                try:
                    wid = _str_or_none(_decode(top[key]))
                except msgspec.DecodeError:
                    wid = None
                break
    return ParsedHistory(fmt, fmt, RawEvents(raws), wid, None, columns=columns, raws=raws)


def _locate_json_error(data: bytes, exc: Exception) -> HistoryFormatError:
    """Which event a JSON syntax error falls in (events parsed one by one up to the error)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return HistoryFormatError(f"history is not UTF-8 JSON: {exc}")
    dec = json.JSONDecoder()
    start = None
    stripped = text.lstrip()
    if stripped.startswith("["):
        start = text.index("[") + 1
    else:
        import re
        m = re.search(r'"events"\s*:\s*\[', text)
        if m:
            start = m.end()
    if start is None:
        return HistoryFormatError(f"invalid JSON: {exc}")
    pos, idx = start, 0
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            return HistoryFormatError(f"invalid JSON (truncated in event {idx}): {exc}", index=idx)
        if text[pos] == "]":
            return HistoryFormatError(f"invalid JSON after the events: {exc}")
        try:
            _, pos = dec.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return HistoryFormatError(f"invalid JSON in event {idx}: {exc}", index=idx)
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos < n and text[pos] == ",":
            pos += 1
            idx += 1
        elif pos < n and text[pos] == "]":
            return HistoryFormatError(f"invalid JSON after the events: {exc}")
        else:
            return HistoryFormatError(f"invalid JSON after event {idx}: {exc}", index=idx + 1 if pos < n else idx)


def _events_of(doc: Any) -> tuple[list, dict]:
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict):
        raise HistoryFormatError(f"a history is a JSON object or array, not {type(doc).__name__}")
    if "events" in doc:
        ev = doc["events"]
    elif isinstance(doc.get("history"), dict) and "events" in doc["history"]:
        ev = doc["history"]["events"]
    else:
        raise HistoryFormatError("no 'events' in the history document", field="events")
    if ev is None:
        ev = []
    if not isinstance(ev, list):
        raise HistoryFormatError("'events' is not an array", field="events")
    return ev, doc


_CADENCE_HINTS = ("decisionTask", "taskList", "domain", "TimeoutSeconds", "executionStartToCloseTimeout")
_TEMPORAL_HINTS = ("workflowTask", "taskQueue", "namespace", "workflowRunTimeout", "workflowExecutionTimeout")


def _engine_hint(ev: Any) -> str | None:
    if not isinstance(ev, dict):
        return None
    et = ev.get("eventType")
    if isinstance(et, str):
        if et.startswith(("EVENT_TYPE_", "WorkflowTask")):
            return "temporal"
        if et.startswith("DecisionTask"):
            return "cadence"
    for k, v in ev.items():
        if not isinstance(k, str):
            continue
        if k.startswith("decisionTask"):
            return "cadence"
        if k.startswith("workflowTask"):
            return "temporal"
        if k.endswith("EventAttributes") and isinstance(v, dict):
            for ak in v:
                if not isinstance(ak, str):
                    continue
                if ak.startswith(_CADENCE_HINTS) or ak.endswith("TimeoutSeconds"):
                    return "cadence"
                if ak.startswith(_TEMPORAL_HINTS):
                    return "temporal"
    return None


def detect_format(doc: Any) -> str:
    """The dialect of a decoded history document (one of ``READ_FORMATS`` except ``auto``)."""
    if isinstance(doc, dict) and "wfkit_history" in doc:
        return "wfkit"
    events, _ = _events_of(doc)
    engine = None
    for ev in events[:8]:
        engine = _engine_hint(ev)
        if engine:
            break
    first = next((e for e in events if isinstance(e, dict)), None)
    if first is None:
        return "cadence" if isinstance(doc, list) else "temporal"
    has_time = "eventTime" in first
    has_ts = "timestamp" in first
    et = first.get("eventType")
    if engine is None:
        if isinstance(et, str) and et.startswith("EVENT_TYPE_"):
            engine = "temporal"
        elif has_ts and isinstance(doc, list):
            engine = "cadence"
        elif has_time and et is None:
            engine = "temporal"
        else:
            engine = "cadence" if isinstance(doc, list) else "temporal"
    if engine == "temporal":
        if has_ts and not has_time:
            return "temporal-legacy"
        if isinstance(et, str) and not et.startswith("EVENT_TYPE_"):
            return "temporal-legacy"
        if _has_legacy_enum(first):
            return "temporal-legacy"
        return "temporal"
    if has_time and not has_ts:
        return "cadence-proto"
    return "cadence"


def _has_legacy_enum(ev: dict) -> bool:
    for k, v in ev.items():
        if isinstance(k, str) and k.endswith("EventAttributes") and isinstance(v, dict):
            tq = v.get("taskQueue")
            if isinstance(tq, dict) and isinstance(tq.get("kind"), str) and \
                    not tq["kind"].startswith("TASK_QUEUE_KIND_"):
                return True
    return False


def parse_document(doc: Any, fmt: str = "auto", workflow_id: str | None = None) -> ParsedHistory:
    """Decoded document -> native event dicts of its engine (Temporal proto-JSON or Cadence CLI JSON)."""
    if fmt not in READ_FORMATS:
        raise ValueError(f"format must be one of {', '.join(READ_FORMATS)}, not {fmt!r}")
    if fmt == "auto":
        fmt = detect_format(doc)
    if fmt == "wfkit":
        return _parse_wfkit(doc, workflow_id)
    events, top = _events_of(doc)
    wid = workflow_id if workflow_id is not None else _str_or_none(top.get("workflowId") or top.get("workflow_id"))
    if fmt == "temporal":
        return ParsedHistory("temporal", fmt, events, wid, None)
    if fmt == "cadence":
        return ParsedHistory("cadence", fmt, events, wid, None)
    out = []
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise HistoryFormatError(f"event is not an object but {type(ev).__name__}", index=i)
        try:
            out.append(normalize_temporal_legacy_event(ev) if fmt == "temporal-legacy"
                       else cadence_proto_event_to_cli(ev))
        except (ValueError, TypeError, OverflowError) as e:
            field = "timestamp" if fmt == "temporal-legacy" else "eventTime"
            raise HistoryFormatError(f"unreadable timestamp: {e}", index=i, field=field) from None
        except RecursionError:
            raise HistoryFormatError("event nested too deeply", index=i) from None
    return ParsedHistory("temporal" if fmt == "temporal-legacy" else "cadence", fmt, out, wid, None)


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _parse_wfkit(doc: Any, workflow_id: str | None) -> ParsedHistory:
    from wfkit.history._convert import rfc3339_to_ns

    if not isinstance(doc, dict):
        raise HistoryFormatError("a wfkit history is a JSON object")
    version = doc.get("wfkit_history")
    if version != WFKIT_FORMAT_VERSION:
        raise HistoryFormatError(f"unsupported wfkit_history version {version!r}", field="wfkit_history")
    engine = doc.get("engine")
    if engine not in ("temporal", "cadence"):
        raise HistoryFormatError(f"engine must be 'temporal' or 'cadence', not {engine!r}", field="engine")
    events = doc.get("events")
    if not isinstance(events, list):
        raise HistoryFormatError("'events' is not an array", field="events")
    for f in ("workflow_id", "run_id"):
        if doc.get(f) is not None and not isinstance(doc.get(f), str):
            raise HistoryFormatError(f"{f} is not a string", field=f)
    out = []
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            raise HistoryFormatError(f"event is not an object but {type(e).__name__}", index=i)
        eid = e.get("event_id")
        if type(eid) is not int:
            raise HistoryFormatError("event_id is not an integer", index=i, field="event_id")
        t = e.get("time")
        try:
            ns = rfc3339_to_ns(t)
            if not -2**63 < ns < 2**63:
                raise ValueError("out of range")
        except (ValueError, TypeError, OverflowError):
            raise HistoryFormatError(f"unreadable time {t!r}", index=i, field="time") from None
        etype = e.get("engine_event_type")
        if etype is None and isinstance(e.get("event_type"), str):
            etype = e["event_type"] if engine == "temporal" else CANONICAL_TO_CADENCE.get(e["event_type"],
                                                                                           e["event_type"])
        if not isinstance(etype, str) or not etype.isidentifier():
            raise HistoryFormatError(f"engine_event_type is not an event type name: {etype!r}", index=i,
                                     field="engine_event_type")
        attrs = e.get("attributes", {})
        if attrs is None:
            attrs = {}
        if not isinstance(attrs, dict):
            raise HistoryFormatError("attributes is not an object", index=i, field="attributes")
        extra = e.get("extra", {})
        if extra is None:
            extra = {}
        if not isinstance(extra, dict):
            raise HistoryFormatError("extra is not an object", index=i, field="extra")
        if engine == "temporal":
            native: dict[str, Any] = {"eventId": str(eid), "eventTime": t, "eventType": "EVENT_TYPE_" +
                                      screaming(etype)}
        else:
            native = {"eventId": eid, "timestamp": ns, "eventType": etype}
        absent = extra.get("wfkit:absent") or []
        native.update({k: v for k, v in extra.items() if k != "wfkit:absent"})
        native.setdefault(attributes_key(etype), attrs)
        for k in absent if isinstance(absent, list) else []:
            native.pop(k, None)
        out.append(native)
    wid = workflow_id if workflow_id is not None else doc.get("workflow_id")
    return ParsedHistory(engine, "wfkit", out, wid, doc.get("run_id"))


def wfkit_field(field: str | None) -> str | None:
    """The wfkit-document name of a native event field named in an error."""
    if not field:
        return field
    top, _, rest = field.partition(".")
    if top.endswith("EventAttributes"):
        return "attributes" + ("." + rest if rest else "")
    return {"eventId": "event_id", "eventTime": "time", "timestamp": "time",
            "eventType": "engine_event_type"}.get(top, field)


def wfkit_event(engine: str, native: dict, row: dict) -> dict:
    """One event of a wfkit document from its native dict and its canonical column values.

    Envelope fields that the reader would rebuild identically are left out of ``extra``; any that differ
    (e.g. an ``eventTime`` written with other precision) are kept there verbatim, so nothing is lost.
    """
    etype = row["engine_event_type"]
    akey = attributes_key(etype)
    time_text = ns_to_rfc3339(row["time_ns"])
    if engine == "temporal":
        rebuilt = {"eventId": str(row["event_id"]), "eventTime": time_text, "eventType": "EVENT_TYPE_" +
                   screaming(etype)}
    else:
        rebuilt = {"eventId": row["event_id"], "timestamp": row["time_ns"], "eventType": etype}
    out = {"event_id": row["event_id"], "time": time_text, "event_type": row["event_type"],
           "engine_event_type": etype, "category": row["category"]}
    for col in ("activity_id", "activity_type", "timer_id", "signal_name", "attempt", "task_queue", "identity",
                "related_event_id", "failure", "payload"):
        v = row.get(col)
        if v is not None:
            out[col] = v
    attrs = native.get(akey)
    out["attributes"] = attrs if isinstance(attrs, dict) else {}
    extra = {}
    for k, v in native.items():
        if k == akey and isinstance(v, dict):
            continue
        if k in rebuilt and rebuilt[k] == v and type(rebuilt[k]) is type(v):
            continue
        extra[k] = v
    for k in rebuilt:
        if k not in native:
            extra.setdefault("wfkit:absent", []).append(k)
    if akey not in native:
        extra.setdefault("wfkit:absent", []).append(akey)
    if extra:
        out["extra"] = extra
    return out


def encode(doc: Any, indent: int | None) -> str:
    """JSON text of a document (UTF-8, compact unless ``indent``)."""
    data = _encode(doc)
    if indent:
        data = msgspec.json.format(data, indent=indent)
    return data.decode()
