"""``wfkit.History``: the canonical events of one workflow run, as data.

A History is built from engine protos (:meth:`History.from_proto`) or any history JSON format
(:meth:`History.from_json`) and keeps the events in the shape it got them; columns are extracted once, on
demand, by per-event-type extractors generated from its engine's dialect (``_extract``,
:mod:`wfkit.history.dialects`), and ``payload``/``attributes`` cells decode only when looked at. Nothing here
imports an engine SDK at module level, and nothing here names an engine: that is the dialect's business.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from wfkit._errors import HistoryFormatError
from wfkit.history._convert import duration_to_seconds
from wfkit.history._extract import (
    Columns,
    _generic_sources,
    categories_for,
    extract_dict_events,
    extract_proto_events,
    sources_for,
    type_names,
)
from wfkit.history._json import (
    WFKIT_FORMAT_DOC,
    WFKIT_FORMAT_VERSION,
    encode,
    read_document,
    wfkit_event,
    wfkit_field,
    write_formats,
)
from wfkit.history._lazy import LazyArray, LazyDtype
from wfkit.history._schema import (
    CATEGORIES,
    COLUMN_KINDS,
    INT_COLUMNS,
    KNOWN_EVENT_TYPES,
    attributes_key,
    category_of,
    snake,
)
from wfkit.history.dialects import HistoryDialect, get_dialect

if TYPE_CHECKING:
    import matplotlib.axes

__all__ = ["FRAME_COLUMNS", "FRAME_DTYPES", "WFKIT_FORMAT_DOC", "Event", "History", "diff", "histories_frame"]

#: The canonical columns of :meth:`History.to_dataframe`, in order.
FRAME_COLUMNS = ("workflow_id", "run_id", "event_id", "time", "event_type", "engine_event_type", "category",
                 "activity_id", "activity_type", "timer_id", "signal_name", "attempt", "task_queue", "identity",
                 "related_event_id", "failure", "payload", "attributes")

# Python-backed text, whether or not pyarrow is installed: with pyarrow pandas would back these columns with Arrow
# (a different dtype, and ~20 MB more peak RSS in benchmarks/history_frame.py's frame of 51,200 events).
_STR = pd.StringDtype("python", na_value=np.nan)
CATEGORY_DTYPE = pd.CategoricalDtype(list(CATEGORIES))
EVENT_TYPE_DTYPE = pd.CategoricalDtype(list(KNOWN_EVENT_TYPES))
ACTIVITY_STATUS_DTYPE = pd.CategoricalDtype(["scheduled", "started", "completed", "failed", "timed_out",
                                              "canceled"])

#: dtype of every column of :meth:`History.to_dataframe` (``event_type`` gains categories for event types
#: wfkit does not know, appended after :data:`KNOWN_EVENT_TYPES`).
FRAME_DTYPES: dict[str, Any] = {
    "workflow_id": _STR, "run_id": _STR, "event_id": np.dtype("int64"), "time": pd.DatetimeTZDtype("ns", "UTC"),
    "event_type": EVENT_TYPE_DTYPE, "engine_event_type": _STR, "category": CATEGORY_DTYPE, "activity_id": _STR,
    "activity_type": _STR, "timer_id": _STR, "signal_name": _STR, "attempt": pd.Int64Dtype(), "task_queue": _STR,
    "identity": _STR, "related_event_id": pd.Int64Dtype(), "failure": _STR, "payload": LazyDtype(),
    "attributes": LazyDtype(),
}

_CLOSE_STATUS = {
    "WorkflowExecutionCompleted": "completed", "WorkflowExecutionFailed": "failed",
    "WorkflowExecutionTimedOut": "timed_out", "WorkflowExecutionCanceled": "canceled",
    "WorkflowExecutionTerminated": "terminated", "WorkflowExecutionContinuedAsNew": "continued_as_new",
}
_ACTIVITY_CLOSE = {"ActivityTaskCompleted": "completed", "ActivityTaskFailed": "failed",
                   "ActivityTaskTimedOut": "timed_out", "ActivityTaskCanceled": "canceled"}
_CHILD_CLOSE = {"ChildWorkflowExecutionCompleted": "completed", "ChildWorkflowExecutionFailed": "failed",
                "ChildWorkflowExecutionTimedOut": "timed_out", "ChildWorkflowExecutionCanceled": "canceled",
                "ChildWorkflowExecutionTerminated": "terminated", "StartChildWorkflowExecutionFailed": "failed"}


@dataclass(frozen=True)
class Event:
    """One canonical history event (a row of :meth:`History.to_dataframe`)."""

    event_id: int
    time: pd.Timestamp
    event_type: str
    engine_event_type: str
    category: str
    activity_id: str | None
    activity_type: str | None
    timer_id: str | None
    signal_name: str | None
    attempt: int | None
    task_queue: str | None
    identity: str | None
    related_event_id: int | None
    failure: str | None
    payload: Any
    attributes: Any


# --- stores: where a History keeps its events -------------------------------------------------------------------

class _DictStore:
    """Events as native JSON dicts of a dialect."""

    def __init__(self, dialect: HistoryDialect, events: Any, type_codes: np.ndarray):
        self.dialect = dialect
        self.events = events  # a list of dicts, or RawEvents (decoded one at a time)
        self.type_codes = type_codes
        self.raws: list | None = None  # each event's exact JSON bytes, when read by the fast path

    def type_name(self, i: int) -> str:
        return type_names(int(self.type_codes[i]))[1]

    def native_event(self, i: int) -> dict:
        return self.events[i]

    def native_attrs(self, i: int) -> dict:
        a = self.events[i].get(attributes_key(self.type_name(i)))
        return a if isinstance(a, dict) else {}

    def attrs_copy(self, i: int) -> dict:
        """The attributes as a fresh dict (frame cells must not alias the stored events)."""
        if self.raws is not None:
            return self.native_attrs(i)  # decoded afresh from the event's bytes
        return _deep_copy(self.native_attrs(i))

    def payload_value(self, i: int) -> Any:
        a = self.native_attrs(i)
        src = sources_for(self.dialect, self.type_name(i), a.keys()).get("payload")
        v = _dict_path(a, src) if src else None
        return self.dialect.decode_json_payload(v)


class _ProtoStore:
    """Events as engine protos (the dialect's ``HistoryEvent`` messages)."""

    def __init__(self, dialect: HistoryDialect, events: Sequence[Any], source: Any = None):
        self.dialect = dialect
        self.events = events
        self.source = source
        self.wire: bytes | None = None  # the serialized History, when that is what we were given

    def _kind(self, i: int) -> str | None:
        return self.events[i].WhichOneof("attributes")

    def native_event(self, i: int) -> dict:
        from google.protobuf.json_format import MessageToDict

        return self.dialect.proto_event_to_native(MessageToDict(self.events[i]))

    def native_attrs(self, i: int) -> dict:
        kind = self._kind(i)
        if kind is None:
            return {}
        ev = self.native_event(i)
        a = ev.get(attributes_key(_type_of_kind(kind)))
        return a if isinstance(a, dict) else {}

    def start_string(self, key: str) -> str | None:
        """The text field ``key`` (its proto-JSON name) of the first event's attributes when that event is a
        workflow start and the field is a string (``""`` when unset); None when that cannot be read this way."""
        kind = self._kind(0)
        if kind is None or _type_of_kind(kind) != "WorkflowExecutionStarted":
            return None
        msg = getattr(self.events[0], kind)
        field = _json_fields(msg.DESCRIPTOR).get(key)
        repeated = field.is_repeated if field is not None and hasattr(field, "is_repeated") else (
            field is not None and field.label == field.LABEL_REPEATED)
        if field is None or field.type != field.TYPE_STRING or repeated:
            return None
        return getattr(msg, field.name)

    def payload_value(self, i: int) -> Any:
        kind = self._kind(i)
        if kind is None:
            return None
        name = _type_of_kind(kind)
        msg = getattr(self.events[i], kind)
        src = (self.dialect.proto_sources.get(name) or _generic_sources({f.json_name for f in msg.DESCRIPTOR.fields},
                                                                        self.dialect)).get("payload")
        if not src:
            return None
        for part in src.split("."):
            msg = getattr(msg, snake(part))
        return self.dialect.decode_proto_payload(msg)


_JSON_FIELDS: dict[Any, dict[str, Any]] = {}


def _json_fields(descriptor: Any) -> dict[str, Any]:
    """A message type's fields by proto-JSON name (cached per type)."""
    fields = _JSON_FIELDS.get(descriptor)
    if fields is None:
        fields = _JSON_FIELDS[descriptor] = {f.json_name: f for f in descriptor.fields}
    return fields


def _parse_history_bytes(data: bytes, dialect: HistoryDialect) -> Any:
    HistoryProto = dialect.history_proto_class()  # noqa: N806 - a class
    try:
        h = HistoryProto.FromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError or others
        raise HistoryFormatError(f"not a serialized {dialect.name} History: {e}") from None
    return h


def _drop_reason(workflow: Any, name: Any, payload: Any) -> str | None:
    """Why ``workflow``'s workers drop this recorded signal. The frame holds one value for one argument and a
    list for several, so a list is tried both ways."""
    from wfkit._definitions import signal_drop_reason, workflow_defn

    defn = workflow_defn(workflow)
    if not isinstance(name, str):
        return None
    reason = signal_drop_reason(defn, name, [] if payload is None else [payload])
    if reason is not None and isinstance(payload, list):
        reason = reason if signal_drop_reason(defn, name, payload) is not None else None
    return reason


def _deep_copy(d: dict) -> dict:
    import msgspec
    try:
        return msgspec.json.decode(msgspec.json.encode(d))
    except (TypeError, msgspec.EncodeError, OverflowError):
        import copy
        return copy.deepcopy(d)


def _type_of_kind(kind: str) -> str:
    from wfkit.history._schema import type_from_attributes_key
    return type_from_attributes_key(kind)


def _dict_path(a: Any, path: str) -> Any:
    for p in path.split("."):
        if not isinstance(a, dict):
            return None
        a = a.get(p)
    return a


# --- History ----------------------------------------------------------------------------------------------------

class History:
    """The events of one workflow run, on Temporal or Cadence, as data.

    Build one with :meth:`from_proto` or :meth:`from_json` (or ``await handle.history()``); the constructor
    is internal. Then: :meth:`to_dataframe` (one row per event, the same columns and dtypes on both engines),
    :meth:`activities`, :meth:`timers`, :meth:`signals`, :meth:`summary`, :meth:`plot_timeline`,
    :meth:`input`, :meth:`result`, :meth:`to_json` and :meth:`to_proto`. ``len(h)`` is the number of events;
    iterating (or indexing) yields :class:`Event` objects. ``repr`` does no I/O.

    Example::

        h = wfkit.History.from_json("history.json")     # any dialect, detected by content
        df = h.to_dataframe()
        h.activities()                                   # one row per activity, attempts, durations
        h.to_json("wfkit")                               # portable; "temporal"/"cadence" for the engines

    Attributes:
        engine: the engine that recorded it (``"temporal"``, ``"cadence"`` or a plugin's); its history
            dialect is ``get_dialect(engine)``.
        workflow_id: the workflow ID, when known (histories themselves do not always carry it).
        run_id: the run ID (from the start event unless given).
        source_format: what it was read from: ``"proto"`` or a JSON dialect name.
    """

    def __init__(self, engine: str, store: _DictStore | _ProtoStore, *, workflow_id: str | None = None,
                 run_id: str | None = None, source_format: str = "proto", columns: Columns | None = None):
        self.engine = engine
        self._store = store
        self._columns_cache = columns
        self.source_format = source_format
        self.workflow_id = workflow_id if workflow_id is not None else self._start_field("workflowId")
        self.run_id = run_id if run_id is not None else self._start_field("originalExecutionRunId")

    # -- constructors --

    @classmethod
    def from_proto(cls, history_or_events: Any, *, engine: str, workflow_id: str | None = None,
                   run_id: str | None = None) -> History:
        """A History from engine protos.

        Args:
            history_or_events: a ``temporalio.client.WorkflowHistory``, a ``temporalio.api.history.v1.History``,
                a ``cadence.api.v1.history_pb2.History``, a get-history response (anything with ``.history``),
                or a sequence of either engine's ``HistoryEvent``.
            engine: ``"temporal"``, ``"cadence"`` or another engine whose plugin supplies a history dialect.
            workflow_id: the workflow ID (taken from a ``WorkflowHistory`` when not given).
            run_id: the run ID (default: the start event's original run ID).

        Raises:
            HistoryFormatError: the events are not of the given engine, or wfkit has no history dialect for it
                (a ``ValueError`` too).
        """
        dialect = get_dialect(engine)
        obj = history_or_events
        wire = None
        if isinstance(obj, (bytes, bytearray, memoryview)):
            wire = bytes(obj)
            obj = _parse_history_bytes(wire, dialect)
        if workflow_id is None and isinstance(getattr(obj, "workflow_id", None), str):
            workflow_id = obj.workflow_id
        if hasattr(obj, "history") and hasattr(obj.history, "events"):
            obj = obj.history
        source = obj if hasattr(obj, "events") and hasattr(obj, "SerializeToString") else None
        events = obj.events if source is not None else (list(obj.events) if hasattr(obj, "events") else list(obj))
        if events:
            full = getattr(getattr(events[0], "DESCRIPTOR", None), "full_name", "")
            want = dialect.proto_event_name
            if full != want:
                raise HistoryFormatError(f"expected {want} events for engine={engine!r}, got "
                                         f"{full or type(events[0]).__name__}", index=0)
        store = _ProtoStore(dialect, events, source)
        store.wire = wire
        return cls(engine, store, workflow_id=workflow_id, run_id=run_id, source_format="proto")

    @classmethod
    def from_json(cls, text_or_path: Any, *, format: str = "auto",
                  workflow_id: str | None = None, max_bytes: int | None = None, codec: Any = None) -> History:
        """A History from JSON in any dialect wfkit knows, detected by content.

        Args:
            text_or_path: JSON text or bytes, a path (``str`` or ``os.PathLike``), or an already-decoded
                dict/list.
            format: ``"auto"`` (detect), ``"temporal"``, ``"temporal-legacy"``, ``"cadence"``,
                ``"cadence-proto"`` or ``"wfkit"``.
            workflow_id: the workflow ID, when the document does not say.
            max_bytes: the largest file read (default 256 MiB, ``wfkit.history._json.MAX_FILE_BYTES``); only
                regular files are read (never a device or a pipe).
            codec: a payload codec (``wfkit.codecs``) the payloads are decoded with (``wfkit.codecs.RemoteCodec``
                for a codec server); a payload it cannot decode stays a marker saying why. In async code,
                ``await wfkit.codecs.decode_history(h, codec)`` does the same without blocking.

        Raises:
            HistoryFormatError: the document cannot be read; ``.index`` is the 0-based position of the
                offending event and ``.field`` the field, when known.
        """
        parsed = read_document(text_or_path, format, workflow_id, max_bytes=max_bytes)
        columns = parsed.columns
        if columns is None:
            try:
                columns = extract_dict_events(parsed.events, get_dialect(parsed.engine))
            except HistoryFormatError as e:
                if parsed.format != "wfkit":
                    raise
                # name the field as the wfkit document spells it
                raise HistoryFormatError(str(e).rsplit(" (", 1)[0], index=e.index, field=wfkit_field(e.field)) from e
        store = _DictStore(get_dialect(parsed.engine), parsed.events, columns.type_code)
        store.raws = parsed.raws
        h = cls(parsed.engine, store, workflow_id=parsed.workflow_id, run_id=parsed.run_id,
                source_format=parsed.format, columns=columns)
        if codec is None:
            return h
        from wfkit._loop import run_sync
        from wfkit.codecs import decode_history

        return run_sync(decode_history(h, codec))

    # -- basics --

    def __len__(self) -> int:
        return len(self._store.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __getitem__(self, i: int) -> Event:
        return self.events[i]

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import history_html

        return history_html(self)

    def __repr__(self) -> str:
        return (f"<History {self.engine} workflow_id={self.workflow_id!r} run_id={self.run_id!r} "
                f"events={len(self)}>")

    @property
    def events(self) -> list[Event]:
        """The canonical events (built from the frame on first use)."""
        cached = getattr(self, "_events_cache", None)
        if cached is None:
            df = self.to_dataframe()
            cached = []
            for row in df.itertuples(index=False):
                d: dict[str, Any] = row._asdict()
                fields: dict[str, Any] = {k: (None if _isna(v) else v) for k, v in d.items()
                                          if k not in ("workflow_id", "run_id")}
                cached.append(Event(**fields))
            self._events_cache = cached
        return cached

    def _start_field(self, key: str) -> str | None:
        if not len(self):
            return None
        if isinstance(self._store, _ProtoStore):
            direct = self._store.start_string(key)
            if direct is not None:  # read from the proto field (the whole event as JSON costs more than its fetch)
                return direct or None
        try:
            a = self._store.native_attrs(0) if self._first_type() == "WorkflowExecutionStarted" else {}
        except Exception:  # noqa: BLE001 - a missing start event just leaves the field unknown
            return None
        v = a.get(key)
        return v if isinstance(v, str) and v else None

    def _first_type(self) -> str | None:
        st = self._store
        if isinstance(st, _DictStore):
            return type_names(int(st.type_codes[0]))[2] if len(st.type_codes) else None
        kind = st._kind(0)
        return _type_of_kind(kind) if kind else None

    def _columns(self) -> Columns:
        if self._columns_cache is None:
            if isinstance(self._store, _ProtoStore):
                cols = extract_proto_events(self._store.events, self._store.dialect, self._store.source,
                                            wire=self._store.wire)
            else:  # pragma: no cover - dict stores get their columns at construction
                cols = extract_dict_events(self._store.events, self._store.dialect)
            _link_activities(cols)
            self._columns_cache = cols
        elif not getattr(self._columns_cache, "_linked", False):
            _link_activities(self._columns_cache)
        return self._columns_cache

    # -- frames --

    def to_dataframe(self) -> pd.DataFrame:
        """One row per event, with the canonical columns (:data:`FRAME_COLUMNS`, dtypes :data:`FRAME_DTYPES`).

        The same names and dtypes on both engines and every input format: ``time`` is
        ``datetime64[ns, UTC]``, ``event_type`` a category in Temporal naming (Cadence ``DecisionTask*`` ->
        ``WorkflowTask*``), ``engine_event_type`` the engine's own name, ``attempt`` 1-based. ``payload``
        is the event's decoded payload (one argument -> the value, several -> a list; opaque encodings ->
        a marker string like ``<binary 12 bytes>``) and ``attributes`` a dict of the event's other fields
        as the engine's own JSON writes them; both columns are lazy (``wfkit_lazy`` dtype) and compute a
        cell only when it is read.
        """
        c = self._columns()
        n = len(c.event_id)
        v = c.values
        store = self._store
        payload = LazyArray.for_history(store.payload_value, n, v["payload"])
        attrs = LazyArray.for_history(getattr(store, "attrs_copy", store.native_attrs), n)
        time = pd.DatetimeIndex(c.time_ns.view("datetime64[ns]")).tz_localize("UTC")
        et_dtype, et_codes, cat_codes = _type_columns(c.type_code)
        data = {
            "workflow_id": _const_str(self.workflow_id, n),
            "run_id": _const_str(self.run_id, n),
            "event_id": c.event_id,
            "time": time,
            "event_type": pd.Categorical.from_codes(et_codes, dtype=et_dtype),
            "engine_event_type": pd.array(_engine_names()[c.type_code], dtype=_STR),
            "category": pd.Categorical.from_codes(cat_codes, dtype=CATEGORY_DTYPE),
        }
        for col, kind in COLUMN_KINDS.items():
            data[col] = payload if kind == "flag" else _int_na(v[col]) if col in INT_COLUMNS else _str_array(v[col])
        data["attributes"] = attrs
        return pd.DataFrame({col: data[col] for col in FRAME_COLUMNS}, copy=False)

    def activities(self) -> pd.DataFrame:
        """One row per activity (histories record its final attempt).

        Columns: ``activity_id, activity_type, scheduled_time, started_time, closed_time, status`` (scheduled,
        started, completed, failed, timed_out, canceled), ``attempts``, ``schedule_to_start, run_time, total``
        (timedelta64[ns]) and ``last_failure`` (the closing failure, else the previous attempt's failure).
        """
        c = self._columns()
        rows = np.flatnonzero(_luts()["activity"][c.type_code])
        v = c.values
        none = np.full(len(rows), None, dtype=object)
        return _activities(et=_luts()["canon"][c.type_code[rows]], wid=none, rid=none, eid=c.event_id[rows],
                           rel=np.asarray(v["related_event_id"])[rows], time=c.time_ns[rows].view("datetime64[ns]"),
                           failure=v["failure"][rows], attempt=np.asarray(v["attempt"])[rows],
                           aid=v["activity_id"][rows], atype=v["activity_type"][rows], per_run=False)

    def timers(self) -> pd.DataFrame:
        """One row per timer: ``timer_id, started_time, closed_time, status`` (started, fired, canceled),
        ``duration`` (as requested) and ``elapsed`` (timedelta64[ns])."""
        c = self._columns()
        canon = _luts()["canon"][c.type_code]
        t_ns = c.time_ns
        started = np.flatnonzero(canon == "TimerStarted")
        closing = np.flatnonzero((canon == "TimerFired") | (canon == "TimerCanceled"))
        close_by = {int(c.values["related_event_id"][k]): k for k in closing.tolist()}
        n = len(started)
        nat = np.iinfo(np.int64).min
        closed_ns = np.full(n, nat, dtype=np.int64)
        status = np.full(n, "started", dtype=object)
        for j, k in enumerate(started.tolist()):
            m = close_by.get(int(c.event_id[k]))
            if m is not None:
                closed_ns[j] = t_ns[m]
                status[j] = "fired" if canon[m] == "TimerFired" else "canceled"
        duration = np.array([self._timer_duration(k) for k in started.tolist()], dtype=np.int64)
        start = t_ns[started].view("datetime64[ns]")
        closed = closed_ns.view("datetime64[ns]")
        return pd.DataFrame({
            "timer_id": pd.array(c.values["timer_id"][started], dtype=_STR),
            "started_time": pd.DatetimeIndex(start).tz_localize("UTC"),
            "closed_time": pd.DatetimeIndex(closed).tz_localize("UTC"),
            "status": pd.Categorical(status, dtype=pd.CategoricalDtype(["started", "fired", "canceled"])),
            "duration": duration.view("timedelta64[ns]"),
            "elapsed": (closed - start).astype("timedelta64[ns]"),
        })

    def _timer_duration(self, i: int) -> int:
        """Requested timer duration of event ``i`` in ns (NaT's integer when unreadable)."""
        nat = np.iinfo(np.int64).min
        try:
            a = self._store.native_attrs(i)
            secs: Any
            if "startToFireTimeout" in a:
                secs = duration_to_seconds(a["startToFireTimeout"])
            else:
                secs = a.get("startToFireTimeoutSeconds")
                if not isinstance(secs, (int, float)) or isinstance(secs, bool):
                    return nat
            ns = round(secs * 1e9)
            return int(ns) if -2**63 < ns < 2**63 else nat
        except (ValueError, OverflowError, TypeError, AttributeError):
            return nat

    def signals(self, workflow: Any = None) -> pd.DataFrame:
        """One row per signal received: ``event_id, time, signal_name, payload`` (decoded) ``, identity``.

        Args:
            workflow: a ``@wfkit.workflow`` class: adds ``dropped``, the reason its workers drop that signal
                (arguments that do not decode to its handler's parameters; None when taken). Workers drop such
                signals instead of failing (see ``handle.dropped_signals()``); this finds them in any history.
        """
        c = self._columns()
        rows = np.flatnonzero(_luts()["canon"][c.type_code] == "WorkflowExecutionSignaled")
        frame = pd.DataFrame({
            "event_id": c.event_id[rows],
            "time": pd.DatetimeIndex(c.time_ns[rows].view("datetime64[ns]")).tz_localize("UTC"),
            "signal_name": pd.array(c.values["signal_name"][rows], dtype=_STR),
            "payload": np.fromiter((_cell(self._store.payload_value, int(k)) if c.values["payload"][k] else None
                                    for k in rows.tolist()), dtype=object, count=len(rows)),
            "identity": pd.array(c.values["identity"][rows], dtype=_STR),
        })
        if workflow is not None:
            frame["dropped"] = pd.array([_drop_reason(workflow, n, p) for n, p in
                                         zip(frame["signal_name"], frame["payload"], strict=True)], dtype=_STR)
        return frame

    def summary(self) -> dict[str, Any]:
        """Key facts of the run as a dict: engine, ids, workflow type, task queue, status, start/close time,
        duration, counts (events, activities, failed activities, retries, timers, signals, children,
        workflow-task failures) and the closing failure."""
        c = self._columns()
        n = len(c.event_id)
        canon = _luts()["canon"][c.type_code]
        v = c.values

        def count(*names: str) -> int:
            return int(np.isin(canon, names).sum()) if n else 0

        status, close_time, failure = "running", None, None
        start_time = pd.Timestamp(int(c.time_ns[0]), tz="UTC") if n else None
        if n and canon[-1] in _CLOSE_STATUS:
            status = _CLOSE_STATUS[canon[-1]]
            close_time = pd.Timestamp(int(c.time_ns[-1]), tz="UTC")
            failure = v["failure"][-1]
        started = canon == "ActivityTaskStarted"
        retries = int(np.clip(v["attempt"][started] - 1, 0, None).sum()) if n else 0
        tq = v["task_queue"][0] if n and canon[0] == "WorkflowExecutionStarted" else None
        return {
            "engine": self.engine,
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "workflow_type": self.workflow_type,
            "task_queue": tq,
            "status": status,
            "start_time": start_time,
            "close_time": close_time,
            "duration": (close_time - start_time) if close_time is not None else None,
            "events": n,
            "activities": count("ActivityTaskScheduled"),
            "activities_failed": count("ActivityTaskFailed", "ActivityTaskTimedOut"),
            "activity_retries": retries,
            "timers": count("TimerStarted"),
            "signals": count("WorkflowExecutionSignaled"),
            "child_workflows": count("StartChildWorkflowExecutionInitiated"),
            "workflow_task_failures": count("WorkflowTaskFailed", "WorkflowTaskTimedOut"),
            "failure": failure,
        }

    @property
    def workflow_type(self) -> str | None:
        """The workflow type name (from the start event)."""
        if not len(self) or self._first_type() != "WorkflowExecutionStarted":
            return None
        wt = self._store.native_attrs(0).get("workflowType")
        name = wt.get("name") if isinstance(wt, dict) else None
        return name if isinstance(name, str) else None

    def input(self) -> Any:
        """The workflow's input, decoded (one argument -> the value, several -> a list); None if absent."""
        if not len(self) or self._first_type() != "WorkflowExecutionStarted":
            return None
        return _cell(self._store.payload_value, 0)

    def result(self) -> Any:
        """The workflow's result, decoded, if the run completed; else None."""
        c = self._columns()
        n = len(c.type_code)
        if not n or type_names(int(c.type_code[-1]))[2] != "WorkflowExecutionCompleted":
            return None
        return _cell(self._store.payload_value, n - 1)

    # -- plotting --

    def plot_timeline(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """A Gantt chart of activities, timers and child workflows, in seconds since the run started.

        Each activity shows its wait (scheduled -> started, light) and run (started -> closed, coloured by
        status); its attempt count and last failure are written next to it. Returns the Axes.
        """
        from wfkit.notebook.plotting import plot_timeline

        return plot_timeline(self, ax)

    # -- JSON and protos --

    def to_json(self, format: str = "wfkit", *, indent: int | None = None,
                path: str | os.PathLike | None = None) -> str:
        """The history as JSON text.

        Args:
            format: ``"temporal"`` (proto-JSON, as the CLI/UI/``WorkflowHistory.from_json`` read it),
                ``"cadence"`` (``cadence workflow show --of`` JSON, as the Go replayer reads it) or ``"wfkit"``
                (the portable format, see :data:`WFKIT_FORMAT_DOC`). Converting to the other engine's format
                is best effort (the two models differ); the wfkit format is lossless for both.
            indent: pretty-print with this indent.
            path: also write the text to this file.

        Raises:
            HistoryFormatError: an event cannot be converted (its index is given).
        """
        formats = write_formats()
        if format not in formats:
            raise ValueError(f"format must be one of {', '.join(formats)}, not {format!r}")
        if format == "wfkit":
            doc: Any = self._wfkit_doc()
        else:
            events = self._native_events(format)
            try:
                doc = get_dialect(format).json_document(events)
            except HistoryFormatError:
                raise
            except Exception as e:
                raise _write_error(f"{format} JSON", e, events,
                                   lambda ev: get_dialect(format).json_document([ev])) from e
        try:
            text = encode(doc, indent)
        except Exception as e:
            events = doc.get("events", []) if isinstance(doc, dict) else doc
            raise _write_error(f"{format} JSON", e, events, lambda ev: encode(ev, None)) from e
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def _native_events(self, engine: str) -> list[Any]:
        n = len(self)
        store = self._store
        raws = getattr(store, "raws", None)
        if engine == self.engine and raws is not None:
            return list(raws)  # each event's exact bytes, re-emitted verbatim
        source, target = store.dialect, get_dialect(engine)
        out = []
        for i in range(n):
            try:
                ev = store.native_event(i)
                if target is not source:  # through the canonical shape
                    ev = target.event_from_canonical(source.event_to_canonical(ev))
            except HistoryFormatError:
                raise
            except Exception as e:
                raise HistoryFormatError(f"cannot convert event to {engine} JSON: {e}", index=i) from e
            out.append(ev)
        return out

    def _native_dicts(self, engine: str) -> list[dict]:
        """Like ``_native_events`` but always decoded (verbatim raw bytes become dicts)."""
        import msgspec

        return [msgspec.json.decode(e) if isinstance(e, msgspec.Raw) else e for e in self._native_events(engine)]

    def _wfkit_doc(self) -> dict:
        c = self._columns()
        v = c.values
        et = c.event_type
        eet = c.engine_event_type
        cats = categories_for(et)
        events = []
        for i in range(len(self)):
            row = {"event_id": int(c.event_id[i]), "time_ns": int(c.time_ns[i]), "event_type": et[i],
                   "engine_event_type": eet[i], "category": cats[i]}
            for col, kind in COLUMN_KINDS.items():
                if kind == "flag":
                    row[col] = _cell(self._store.payload_value, i) if v[col][i] else None
                elif col in INT_COLUMNS:
                    row[col] = int(v[col][i]) or None
                else:
                    row[col] = v[col][i]
            try:
                events.append(wfkit_event(self._store.dialect, self._store.native_event(i), row))
            except HistoryFormatError:
                raise
            except Exception as e:
                raise HistoryFormatError(f"cannot write event as wfkit JSON: {type(e).__name__}: {e}",
                                         index=i) from e
        return {"wfkit_history": WFKIT_FORMAT_VERSION, "engine": self.engine, "workflow_id": self.workflow_id,
                "run_id": self.run_id, "events": events}

    def to_proto(self) -> Any:
        """The history as the engine's ``History`` proto (``temporalio.api.history.v1.History`` or
        ``cadence.api.v1.history_pb2.History``); needs that engine's SDK installed."""
        from google.protobuf.json_format import ParseDict

        if isinstance(self._store, _ProtoStore):
            events = self._store.events
        else:
            events = None
        dialect = self._store.dialect
        proto_class = dialect.history_proto_class()
        if events is not None:
            return proto_class(events=events)
        dicts = []
        for i, e in enumerate(self._native_dicts(self.engine)):
            try:
                dicts.append(dialect.native_event_to_proto_json(e))
            except HistoryFormatError:
                raise
            except Exception as exc:
                raise HistoryFormatError(f"cannot write event as a proto: {type(exc).__name__}: {exc}",
                                         index=i) from exc
        try:
            return ParseDict({"events": dicts}, proto_class(), ignore_unknown_fields=True)
        except Exception as exc:
            raise _write_error("a proto", exc, dicts, lambda ev: ParseDict(
                {"events": [ev]}, proto_class(), ignore_unknown_fields=True)) from exc


def _write_error(what: str, exc: BaseException, events: Sequence[Any], one: Any) -> HistoryFormatError:
    """``HistoryFormatError`` for a history that was read but cannot be written as ``what``: the first event
    ``one(event)`` fails on is named (and the field, where the writer's message names one)."""
    import re

    for i, ev in enumerate(events):
        try:
            one(ev)
        except Exception as e:  # noqa: BLE001 - any failure here locates the event; the error says what it was
            fields = [f for f in re.findall(r"Failed to parse (\w+) field", str(e)) if f != "events"]
            return HistoryFormatError(f"cannot write the history as {what}: {type(e).__name__}: {_short(e)}",
                                      index=i, field=".".join(fields) or None)
    return HistoryFormatError(f"cannot write the history as {what}: {type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


# --- helpers over frames ------------------------------------------------------------------------------------------

def _cell(resolve: Any, i: int) -> Any:
    try:
        return resolve(i)
    except Exception as e:  # noqa: BLE001 - decoding never raises
        from wfkit.history._lazy import _undecodable
        return _undecodable(e)


def _isna(v: Any) -> bool:
    try:
        return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def _int_na(values: np.ndarray) -> pd.arrays.IntegerArray:
    arr = np.asarray(values, dtype=np.int64)
    return pd.arrays.IntegerArray(arr, arr == 0)


def _str_array(col: np.ndarray) -> Any:
    if len(col) and (col == None).all():  # noqa: E711 - elementwise on an object array
        return pd.array(np.full(len(col), np.nan, dtype=object), dtype=_STR)
    return pd.array(col, dtype=_STR)


def _const_str(value: str | None, n: int) -> Any:
    return pd.array(np.full(n, np.nan if value is None else value, dtype=object), dtype=_STR)


_LUTS: dict[str, Any] = {"n": -1}


def _luts() -> dict[str, Any]:
    """Lookup tables indexed by type-registry code (rebuilt when new types were registered)."""
    from wfkit.history._extract import _TYPES

    if _LUTS["n"] != len(_TYPES):
        canon = [t[2] for t in _TYPES]
        known = {name: i for i, name in enumerate(KNOWN_EVENT_TYPES)}
        _LUTS.update(
            n=len(_TYPES),
            canon=np.array(canon or [""], dtype=object),
            engine=np.array([t[1] for t in _TYPES] or [""], dtype=object),
            known_code=np.array([known.get(x, -1) for x in canon] or [-1], dtype=np.int64),
            category=np.array([CATEGORIES.index(category_of(x)) for x in canon] or [0], dtype=np.int8),
            activity=np.array([x.startswith(("ActivityTask", "RequestCancelActivityTask")) for x in canon]
                              or [False], dtype=bool),
            scheduled=np.array([x == "ActivityTaskScheduled" for x in canon] or [False], dtype=bool),
            cancel_req=np.array([x == "ActivityTaskCancelRequested" for x in canon] or [False], dtype=bool),
        )
    return _LUTS


def _engine_names() -> np.ndarray:
    return _luts()["engine"]


def _type_columns(type_code: np.ndarray) -> tuple[pd.CategoricalDtype, np.ndarray, np.ndarray]:
    """(event_type dtype, event_type codes, category codes) of a column of type-registry codes."""
    lut = _luts()
    et_codes = lut["known_code"][type_code]
    dtype = EVENT_TYPE_DTYPE
    if len(et_codes) and (et_codes < 0).any():
        unknown = sorted({lut["canon"][c] for c in np.unique(type_code[et_codes < 0])})
        dtype = pd.CategoricalDtype(list(KNOWN_EVENT_TYPES) + unknown)
        pos = {name: len(KNOWN_EVENT_TYPES) + i for i, name in enumerate(unknown)}
        et_codes = et_codes.copy()
        for i in np.flatnonzero(et_codes < 0):
            et_codes[i] = pos[lut["canon"][type_code[i]]]
    return dtype, et_codes, lut["category"][type_code]


def _link_activities(c: Columns) -> None:
    """Give every activity event its activity id/type (from its scheduled event), and a cancel request that
    names its activity by id (not by scheduled event) the scheduled event id."""
    lut = _luts()
    codes = c.type_code
    act = lut["activity"][codes]
    c._linked = True  # type: ignore[attr-defined]
    if not act.any():
        return
    v = c.values
    aid, atype, related, eids = v["activity_id"], v["activity_type"], v["related_event_id"], c.event_id
    sched = lut["scheduled"][codes]
    srows = np.flatnonzero(sched)
    rows = np.flatnonzero(act & ~sched)
    if not len(srows) or not len(rows):
        return
    # rows that name their scheduled event: gather through an event-id -> row table
    named_by_id = aid[rows] != None  # noqa: E711 - elementwise on an object array
    by_ref = rows[~named_by_id]
    if len(by_ref):
        hi = int(max(eids[srows].max(), related[by_ref].max(), 0)) + 1
        if 0 <= int(eids[srows].min()) and hi <= 4 * len(eids) + 16:
            pos = np.full(hi, -1, dtype=np.int64)
            pos[eids[srows]] = srows
            ref = related[by_ref]
            ok = (ref >= 0) & (ref < hi)
            j = np.full(len(by_ref), -1, dtype=np.int64)
            j[ok] = pos[ref[ok]]
        else:
            table = dict(zip(eids[srows].tolist(), srows.tolist(), strict=False))
            j = np.array([table.get(r, -1) for r in related[by_ref].tolist()], dtype=np.int64)
        hit = j >= 0
        tgt, src = by_ref[hit], j[hit]
        aid[tgt] = aid[src]
        none_type = atype[tgt] == None  # noqa: E711 - elementwise on an object array
        atype[tgt[none_type]] = atype[src[none_type]]
    # rows that carry the activity id (e.g. Cadence's cancel requests): look the id up
    by_id = rows[aid[rows] != None]  # noqa: E711 - elementwise on an object array
    if len(by_id):
        table = {aid[k]: k for k in srows.tolist() if aid[k] is not None}
        # a cancel request that named its activity by id relates to no scheduled event yet: point it there
        cancel_req = np.zeros(len(codes), dtype=bool)
        cancel_req[rows[named_by_id]] = lut["cancel_req"][codes[rows[named_by_id]]]
        for i in by_id.tolist():
            k = table.get(aid[i])
            if k is None:
                continue
            if atype[i] is None:
                atype[i] = atype[k]
            if cancel_req[i]:
                related[i] = eids[k]


def activities_frame(df: pd.DataFrame, *, per_run: bool = True) -> pd.DataFrame:
    """One row per activity of a frame of one or many runs (see :meth:`History.activities`).

    With ``per_run`` the frame keeps ``workflow_id`` and ``run_id`` columns first.
    """
    rows = np.flatnonzero(df["category"].to_numpy(dtype=object) == "activity")

    def col(name: str, dtype: Any = object, na: Any = None) -> np.ndarray:
        return df[name].to_numpy(dtype=dtype, na_value=na)[rows]

    return _activities(
        et=df["event_type"].to_numpy(dtype=object)[rows], wid=col("workflow_id"), rid=col("run_id"),
        eid=df["event_id"].to_numpy()[rows], rel=col("related_event_id", np.int64, 0),
        time=_utc_naive(df["time"])[rows], failure=col("failure"), attempt=col("attempt", np.int64, 0),
        aid=col("activity_id"), atype=col("activity_type"), per_run=per_run)


def _activities(*, et: np.ndarray, wid: np.ndarray, rid: np.ndarray, eid: np.ndarray, rel: np.ndarray,
                time: np.ndarray, failure: np.ndarray, attempt: np.ndarray, aid: np.ndarray, atype: np.ndarray,
                per_run: bool) -> pd.DataFrame:
    """The activities table from the activity events' columns (numpy arrays, one entry per event)."""
    sched = np.flatnonzero(et == "ActivityTaskScheduled")
    n = len(sched)
    index = {(wid[k], rid[k], int(eid[k])): j for j, k in enumerate(sched.tolist())}
    nat = np.datetime64("NaT", "ns")
    started_t = np.full(n, nat, dtype="datetime64[ns]")
    closed_t = np.full(n, nat, dtype="datetime64[ns]")
    attempts = np.zeros(n, dtype=np.int64)
    status = np.full(n, "scheduled", dtype=object)
    last_failure = np.full(n, None, dtype=object)
    prev_failure = np.full(n, None, dtype=object)
    for k in np.flatnonzero(et != "ActivityTaskScheduled").tolist():
        t = et[k]
        j = index.get((wid[k], rid[k], int(rel[k])))
        if j is None:
            continue
        if t == "ActivityTaskStarted":
            started_t[j] = time[k]
            attempts[j] = attempt[k]
            prev_failure[j] = failure[k]
            if status[j] == "scheduled":
                status[j] = "started"
        elif t in _ACTIVITY_CLOSE:
            closed_t[j] = time[k]
            status[j] = _ACTIVITY_CLOSE[t]
            last_failure[j] = failure[k]
    last_failure = np.where(last_failure == None, prev_failure, last_failure)  # noqa: E711 - elementwise on an object array
    sched_t = time[sched].astype("datetime64[ns]")
    data: dict[str, Any] = {}
    if per_run:
        data["workflow_id"] = pd.array(wid[sched], dtype=_STR)
        data["run_id"] = pd.array(rid[sched], dtype=_STR)
    data.update({
        "activity_id": pd.array(aid[sched], dtype=_STR),
        "activity_type": pd.array(atype[sched], dtype=_STR),
        "scheduled_time": pd.DatetimeIndex(sched_t).tz_localize("UTC"),
        "started_time": pd.DatetimeIndex(started_t).tz_localize("UTC"),
        "closed_time": pd.DatetimeIndex(closed_t).tz_localize("UTC"),
        "status": pd.Categorical(status, dtype=ACTIVITY_STATUS_DTYPE),
        "attempts": pd.arrays.IntegerArray(attempts, attempts == 0),
        "schedule_to_start": (started_t - sched_t).astype("timedelta64[ns]"),
        "run_time": (closed_t - started_t).astype("timedelta64[ns]"),
        "total": (closed_t - sched_t).astype("timedelta64[ns]"),
        "last_failure": pd.array(last_failure, dtype=_STR),
    })
    return pd.DataFrame(data)


def _utc_naive(times: pd.Series) -> np.ndarray:
    """A tz-aware time column as UTC datetime64[ns] values."""
    t = times.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(times.dt, "tz", None) is not None else times
    return t.to_numpy(dtype="datetime64[ns]")


def _children(df: pd.DataFrame, store: Any) -> list[tuple[str, Any, Any, str]]:
    ch = df[df["category"] == "child"]
    init = ch[ch["event_type"] == "StartChildWorkflowExecutionInitiated"]
    closes = ch[ch["event_type"].isin(list(_CHILD_CLOSE))]
    close_by = {int(r): (t, _CHILD_CLOSE[str(e)]) for r, t, e in
                zip(closes["related_event_id"].fillna(-1), closes["time"], closes["event_type"], strict=False)}
    out = []
    for idx, eid, t in zip(init.index, init["event_id"], init["time"], strict=False):
        a = store.native_attrs(int(idx))
        wt = a.get("workflowType", {}).get("name") if isinstance(a.get("workflowType"), dict) else None
        label = f"child {wt or ''} {a.get('workflowId', '') if isinstance(a.get('workflowId'), str) else ''}"
        end, status = close_by.get(int(eid), (None, "started"))
        out.append((label.strip(), t, end, status))
    return out


_DIFF_COLUMNS = ("event_type", "activity_type", "activity_id", "timer_id", "signal_name", "attempt", "failure",
                 "payload")


def diff(h1: History | pd.DataFrame, h2: History | pd.DataFrame, *,
         columns: Sequence[str] = _DIFF_COLUMNS) -> pd.DataFrame:
    """The events where two histories differ, compared position by position.

    Args:
        h1: a History (or its frame).
        h2: the other.
        columns: canonical columns to compare (times, ids, identities and task queues differ between any two
            runs, so they are not compared by default).

    Returns:
        One row per differing position, indexed by ``event_id`` (of ``h1``, else ``h2``), with a column pair
        ``(column, "left")``/``(column, "right")`` for every compared column that differs somewhere
        (``event_type`` always). Empty when the histories match.
    """
    a = h1.to_dataframe() if isinstance(h1, History) else h1
    b = h2.to_dataframe() if isinstance(h2, History) else h2
    n = max(len(a), len(b))

    def norm(df: pd.DataFrame, col: str) -> list:
        vals = [None if _isna(p) else p for p in df[col].astype(object)]
        vals = [str(x) if isinstance(x, (str,)) else x for x in vals]
        return vals + [_MISSING] * (n - len(vals))

    eid_a = a["event_id"].tolist() + [None] * (n - len(a))
    eid_b = b["event_id"].tolist() + [None] * (n - len(b))
    index = [x if x is not None else y for x, y in zip(eid_a, eid_b, strict=False)]
    diffs: dict[str, tuple[list, list]] = {}
    one_sided = np.array([x is None or y is None for x, y in zip(eid_a, eid_b, strict=False)], dtype=bool)
    any_row = one_sided.copy()
    for col in columns:
        la, lb = norm(a, col), norm(b, col)
        mask = np.array([not _same(x, y) for x, y in zip(la, lb, strict=False)], dtype=bool) & ~one_sided
        if mask.any() or col == "event_type":
            diffs[col] = (la, lb)
        any_row |= mask
    data = {}
    for col, (la, lb) in diffs.items():
        data[(col, "left")] = [None if x is _MISSING else x for x, m in zip(la, any_row, strict=False) if m]
        data[(col, "right")] = [None if x is _MISSING else x for x, m in zip(lb, any_row, strict=False) if m]
    out = pd.DataFrame(data, index=pd.Index([i for i, m in zip(index, any_row, strict=False) if m], name="event_id",
                                            dtype="int64"))
    out.columns = pd.MultiIndex.from_tuples(list(data), names=["column", "side"])
    return out


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _same(x: Any, y: Any) -> bool:
    if x is _MISSING or y is _MISSING:
        return x is y
    try:
        return bool(x == y)
    except Exception:  # noqa: BLE001
        return repr(x) == repr(y)


def histories_frame(histories: Iterable[History | pd.DataFrame], *, progress: bool = False) -> pd.DataFrame:
    """One frame over many histories (the canonical columns, one row per event of every run).

    Args:
        histories: History objects (or their frames).
        progress: show a ``tqdm`` progress bar.
    """
    items: Iterable[Any] = histories
    if progress:
        from tqdm.auto import tqdm
        items = tqdm(histories, desc="histories", unit="run")
    frames = [h.to_dataframe() if isinstance(h, History) else h for h in items]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in FRAME_DTYPES.items()})
    extra: set[str] = set()
    for f in frames:
        extra.update(set(f["event_type"].cat.categories) - set(KNOWN_EVENT_TYPES))
    if extra:
        dt = pd.CategoricalDtype(list(KNOWN_EVENT_TYPES) + sorted(extra))
        frames = [f.assign(event_type=f["event_type"].cat.set_categories(dt.categories)) for f in frames]
    return pd.concat(frames, ignore_index=True)
