"""Reading and writing history JSON in every format wfkit knows, detected by content.

The ``format`` names of :meth:`wfkit.History.from_json` are ``wfkit`` (wfkit's portable JSON, documented in
:data:`WFKIT_FORMAT_DOC`) and those of the history dialects: each dialect's native JSON is named after its
engine (``temporal``, ``cadence``) and its other shapes are its ``variants`` (``temporal-legacy``,
``cadence-proto``); see :mod:`wfkit.history.dialects`. Detection asks each dialect whether an event is its
engine's (:class:`~wfkit.history.dialects.JsonHints`), then that dialect which of its shapes it is.
"""

from __future__ import annotations

import json
import os
from typing import Any

import msgspec

from wfkit._errors import HistoryFormatError
from wfkit.history._convert import ns_to_rfc3339
from wfkit.history._schema import COLUMNS_FROM_ATTRIBUTES, attributes_key
from wfkit.history.dialects import HistoryDialect, available_dialects, dialect_for_format, get_dialect

WFKIT_FORMAT_VERSION = 1


def read_formats() -> tuple[str, ...]:
    """The ``format=`` names :meth:`History.from_json` accepts: ``auto``, every dialect's, ``wfkit``."""
    names: list[str] = ["auto"]
    for d in available_dialects():
        names += [d.name, *d.variants]
    return (*names, "wfkit")


def write_formats() -> tuple[str, ...]:
    """The ``format=`` names :meth:`History.to_json` writes: every dialect's native JSON and ``wfkit``."""
    return (*(d.name for d in available_dialects()), "wfkit")


def _check_read_format(fmt: str) -> None:
    formats = read_formats()
    if fmt not in formats:
        raise ValueError(f"format must be one of {', '.join(formats)}, not {fmt!r}")

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
    """Result of reading a JSON document: the engine (its dialect's name), detected format and native events.

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


MAX_FILE_BYTES = 256 * 2**20
"""The largest history file ``History.from_json`` reads by default (256 MiB; ``max_bytes=`` changes it). A history
at Temporal's default limit (50 MB of protobuf) takes a few times that as JSON."""


def read_document(source: Any, fmt: str = "auto", workflow_id: str | None = None, *,
                  max_bytes: int | None = None) -> ParsedHistory:
    """Read a history document: the fast typed path for a dialect's native JSON, else the general one (any
    format; precise errors)."""
    _check_read_format(fmt)
    data = _source_bytes(source, MAX_FILE_BYTES if max_bytes is None else max_bytes)
    if data is not None:
        fast = _read_fast(data, fmt, workflow_id)
        if fast is not None:
            return fast
        doc = _decode_doc(data)
    else:
        doc = source
    return parse_document(doc, fmt, workflow_id)


def _source_bytes(source: Any, max_bytes: int) -> bytes | None:
    if isinstance(source, (dict, list)):
        return None
    if isinstance(source, os.PathLike):
        return read_file(source, max_bytes)
    if isinstance(source, str):
        s = source.lstrip()
        if s[:1] in ("{", "[") or not s:
            try:
                return source.encode()
            except UnicodeEncodeError as e:
                raise HistoryFormatError(f"history text is not valid Unicode (a lone surrogate at character "
                                         f"{e.start})") from None
        return read_file(source, max_bytes)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    raise TypeError(f"from_json takes JSON text, bytes, a path or a dict/list, not {type(source).__name__}")


def read_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of a history file: a regular file of at most ``max_bytes`` bytes, else ``HistoryFormatError``
    (a device, a FIFO or ``/dev/zero`` is never read)."""
    import stat

    shown = os.fspath(path)
    shown = shown[:200] if isinstance(shown, str) else repr(shown)[:200]
    if max_bytes < 1:
        raise HistoryFormatError(f"max_bytes must be >= 1, got {max_bytes}")
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise HistoryFormatError(f"{shown!r} is not a regular file: a history is read from a file")
            if st.st_size > max_bytes:
                raise HistoryFormatError(f"{shown!r} is {st.st_size:,} bytes, over the limit of {max_bytes:,} "
                                         "(History.from_json(..., max_bytes=N) raises it)")
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise HistoryFormatError(f"not JSON and not a readable file: {shown!r} ({e.strerror})") from None
    if len(data) > max_bytes:  # it grew while we read
        raise HistoryFormatError(f"{shown!r} is over the limit of {max_bytes:,} bytes "
                                 "(History.from_json(..., max_bytes=N) raises it)")
    return data


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

    if fmt != "auto" and _native_dialect(fmt) is None:
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
    dialect = _native_dialect(fmt)
    if dialect is None:
        return None
    columns = read_typed(events_raw, raws, dialect)
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


def _native_dialect(fmt: str) -> HistoryDialect | None:
    """The dialect whose native JSON ``fmt`` names (None for a variant or ``wfkit``)."""
    d = dialect_for_format(fmt)
    return d if d is not None and d.name == fmt else None


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


def _engine_hint(ev: Any, dialects: list[HistoryDialect]) -> HistoryDialect | None:
    """The dialect an event's own evidence points to: its ``eventType``, else its first telling key."""
    if not isinstance(ev, dict):
        return None
    et = ev.get("eventType")
    if isinstance(et, str):
        for d in dialects:
            if et.startswith(d.hints.event_type_prefixes):
                return d
    for k, v in ev.items():
        if not isinstance(k, str):
            continue
        for d in dialects:
            if k.startswith(d.hints.key_prefixes):
                return d
        if k.endswith("EventAttributes") and isinstance(v, dict):
            for ak in v:
                if not isinstance(ak, str):
                    continue
                for d in dialects:
                    if d.hints.claims_attribute(ak):
                        return d
    return None


def _shape_default(dialects: list[HistoryDialect], array: bool) -> HistoryDialect:
    """The dialect whose native document has this shape (bare array or object), for documents without
    evidence."""
    for d in dialects:
        if d.array_document == array:
            return d
    return dialects[0]


def detect_format(doc: Any) -> str:
    """The format of a decoded history document (a dialect's native or variant name, or ``wfkit``)."""
    if isinstance(doc, dict) and "wfkit_history" in doc:
        return "wfkit"
    events, _ = _events_of(doc)
    dialects = available_dialects()
    array = isinstance(doc, list)
    dialect = None
    for ev in events[:8]:
        dialect = _engine_hint(ev, dialects)
        if dialect:
            break
    first = next((e for e in events if isinstance(e, dict)), None)
    if first is None:
        return _shape_default(dialects, array).name
    if dialect is None:
        dialect = _engine_hint(first, dialects)
    if dialect is None:
        # no evidence: the dialect whose own time key the event has (an array-shaped one only in an array;
        # an object-shaped one only when there is no eventType), else the document's shape decides
        for d in sorted(dialects, key=lambda d: not d.array_document):
            if d.time_key in first and (array if d.array_document else first.get("eventType") is None):
                dialect = d
                break
        else:
            dialect = _shape_default(dialects, array)
    return dialect.detect_variant(doc, first)


def parse_document(doc: Any, fmt: str = "auto", workflow_id: str | None = None) -> ParsedHistory:
    """Decoded document -> native event dicts of its dialect."""
    _check_read_format(fmt)
    if fmt == "auto":
        fmt = detect_format(doc)
    if fmt == "wfkit":
        return _parse_wfkit(doc, workflow_id)
    events, top = _events_of(doc)
    wid = workflow_id if workflow_id is not None else _str_or_none(top.get("workflowId") or top.get("workflow_id"))
    dialect = dialect_for_format(fmt)
    assert dialect is not None  # fmt was checked
    if fmt == dialect.name:
        return ParsedHistory(dialect.name, fmt, events, wid, None)
    variant = dialect.variants[fmt]
    out = []
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise HistoryFormatError(f"event is not an object but {type(ev).__name__}", index=i)
        try:
            out.append(variant.to_native(ev))
        except (ValueError, TypeError, OverflowError) as e:
            raise HistoryFormatError(f"unreadable timestamp: {e}", index=i, field=variant.time_field) from None
        except RecursionError:
            raise HistoryFormatError("event nested too deeply", index=i) from None
    return ParsedHistory(dialect.name, fmt, out, wid, None)


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _parse_wfkit(doc: Any, workflow_id: str | None) -> ParsedHistory:
    from wfkit.history._convert import rfc3339_to_ns

    if not isinstance(doc, dict):
        raise HistoryFormatError("a wfkit history is a JSON object")
    version = doc.get("wfkit_history")
    if version != WFKIT_FORMAT_VERSION:
        raise HistoryFormatError(f"unsupported wfkit_history version {version!r}", field="wfkit_history")
    dialect = _wfkit_engine(doc.get("engine"))
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
        t: Any = e.get("time")
        try:
            ns = rfc3339_to_ns(t)
            if not -2**63 < ns < 2**63:
                raise ValueError("out of range")
        except (ValueError, TypeError, OverflowError):
            raise HistoryFormatError(f"unreadable time {t!r}", index=i, field="time") from None
        etype = e.get("engine_event_type")
        if etype is None and isinstance(e.get("event_type"), str):
            etype = dialect.engine_event_type(e["event_type"])
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
        native = dialect.native_envelope(eid, t, ns, etype)
        absent = extra.get("wfkit:absent") or []
        native.update({k: v for k, v in extra.items() if k != "wfkit:absent"})
        native.setdefault(attributes_key(etype), attrs)
        for k in absent if isinstance(absent, list) else []:
            native.pop(k, None)
        out.append(native)
    wid = workflow_id if workflow_id is not None else doc.get("workflow_id")
    return ParsedHistory(dialect.name, "wfkit", out, wid, doc.get("run_id"))


def _wfkit_engine(engine: Any) -> HistoryDialect:
    """The dialect of a wfkit document's ``engine`` field."""
    names = [d.name for d in available_dialects()]
    if isinstance(engine, str) and engine:
        try:
            return get_dialect(engine)
        except HistoryFormatError:
            pass
    raise HistoryFormatError(f"engine must be one of {', '.join(map(repr, names))} (or an engine whose plugin "
                             f"has a history dialect), not {engine!r}", field="engine")


def wfkit_field(field: str | None) -> str | None:
    """The wfkit-document name of a native event field named in an error."""
    if not field:
        return field
    top, _, rest = field.partition(".")
    if top.endswith("EventAttributes"):
        return "attributes" + ("." + rest if rest else "")
    return {"eventId": "event_id", "eventTime": "time", "timestamp": "time",
            "eventType": "engine_event_type"}.get(top, field)


def wfkit_event(dialect: HistoryDialect, native: dict, row: dict) -> dict:
    """One event of a wfkit document from its native dict and its canonical column values.

    Envelope fields that the reader would rebuild identically are left out of ``extra``; any that differ
    (e.g. an ``eventTime`` written with other precision) are kept there verbatim, so nothing is lost.
    """
    etype = row["engine_event_type"]
    akey = attributes_key(etype)
    time_text = ns_to_rfc3339(row["time_ns"])
    rebuilt = dialect.native_envelope(row["event_id"], time_text, row["time_ns"], etype)
    out = {"event_id": row["event_id"], "time": time_text, "event_type": row["event_type"],
           "engine_event_type": etype, "category": row["category"]}
    for col in COLUMNS_FROM_ATTRIBUTES:
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
