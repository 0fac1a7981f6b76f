"""Turning raw events (JSON dicts or engine protos) into the canonical frame columns, fast.

Events are grouped by type; for every (dialect, shape, event type) a small extractor is compiled once from
:data:`~wfkit.history._schema.COLUMN_KINDS` and the dialect's source tables, and cached; it reads each column
for all events of its type with one list comprehension (no per-event function call). Protos whose events carry
a numeric type go faster still through ``_skim``, and native JSON through ``_typed``; this module is the
general path behind both. Everything engine-specific comes from the :class:`HistoryDialect` passed in.

The happy path does no per-field checking: when anything goes wrong, the events are re-read one by one and the
failing one is examined field by field (``diagnose``) to raise a :class:`HistoryFormatError` naming its index
and field.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from wfkit._errors import HistoryFormatError
from wfkit.history._payload import b64
from wfkit.history._schema import (
    COLUMN_KINDS,
    INT_COLUMNS,
    STR_COLUMNS,
    attributes_key,
    category_of,
    pascal,
    snake,
    type_from_attributes_key,
)
from wfkit.history.dialects._cadence_failure import read_failure

if TYPE_CHECKING:
    from wfkit.history.dialects import HistoryDialect

_EMPTY: dict = {}
_STR_COLS = STR_COLUMNS


class _NoGC:
    """Pause the cyclic garbage collector while tens of thousands of short-lived wrappers are made (it would
    otherwise run hundreds of times over a growing heap); restores the previous state."""

    def __enter__(self) -> None:
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was:
            gc.enable()


@dataclass
class Columns:
    """Raw canonical columns of one history (before they become a DataFrame)."""

    event_id: np.ndarray            # int64
    time_ns: np.ndarray             # int64 nanoseconds since the epoch
    type_code: np.ndarray           # int64 codes into the global type registry (``type_names``)
    values: dict[str, np.ndarray]   # the COLUMNS_FROM_ATTRIBUTES columns (``flag`` columns: bool)

    @property
    def engine_event_type(self) -> list[str]:
        return _ENGINE_NAMES_ARR()[self.type_code].tolist()

    @property
    def event_type(self) -> list[str]:
        return _CANON_NAMES_ARR()[self.type_code].tolist()


# --- a process-wide registry of event types: code -> (engine, engine name, canonical name) ------------------------

_TYPES: list[tuple[str, str, str]] = []
_TYPE_CODES: dict[tuple[str, str], int] = {}
_NAME_ARRAYS: list[Any] = [None, None, 0]


def type_code(dialect: HistoryDialect, name: str) -> int:
    """The registry code of an engine's event type name."""
    key = (dialect.name, name)
    code = _TYPE_CODES.get(key)
    if code is None:
        code = len(_TYPES)
        _TYPES.append((dialect.name, name, dialect.canonical_event_type(name)))
        _TYPE_CODES[key] = code
    return code


def type_names(code: int) -> tuple[str, str, str]:
    """(engine, engine_event_type, event_type) of a registry code."""
    return _TYPES[code]


def _arrays() -> None:
    if _NAME_ARRAYS[2] != len(_TYPES):
        _NAME_ARRAYS[0] = np.array([t[1] for t in _TYPES] or [""], dtype=object)
        _NAME_ARRAYS[1] = np.array([t[2] for t in _TYPES] or [""], dtype=object)
        _NAME_ARRAYS[2] = len(_TYPES)


def _ENGINE_NAMES_ARR() -> np.ndarray:
    _arrays()
    return _NAME_ARRAYS[0]


def _CANON_NAMES_ARR() -> np.ndarray:
    _arrays()
    return _NAME_ARRAYS[1]


# --- value helpers used by the compiled extractors ----------------------------------------------------------------

def _int(v: Any) -> int:
    """JSON int64 (number or decimal string) -> int; None -> 0 (proto3's "unset")."""
    if v is None:
        return 0
    t = type(v)
    if t is int:
        out = v
    elif t is str:
        out = int(v)
    else:
        raise TypeError(f"expected an integer, got {type(v).__name__}")
    if not -2**63 <= out < 2**63:
        raise ValueError("integer out of the int64 range")
    return out


def _s(v: Any) -> Any:
    if v is None or v == "":
        return None
    if type(v) is not str:
        raise TypeError(f"expected a string, got {type(v).__name__}")
    return v


def _rfail_text(reason: Any, details: bytes) -> str | None:
    """A reason + details-bytes failure -> text: the one failure reader the Cadence plugin's errors use too
    (wfkit's JSON details document, the Go, Java and Python clients' shapes)."""
    if reason is not None and not isinstance(reason, str):
        raise TypeError("reason is not a string")
    return read_failure(reason, details).text


def _rfail(reason: Any, details: Any) -> str | None:
    """An ``R:`` source: reason + base64 details -> text (wfkit's JSON details document understood)."""
    if reason is None and details is None:
        return None
    if details is not None and not isinstance(details, str):
        raise TypeError("details is not a base64 string")
    try:
        raw = b64(details) if details else b""
    except ValueError:
        raw = b""
    return _rfail_text(reason, raw)


def _etext(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if type(v) is str:
        return v
    if type(v) is int:
        return str(v)
    raise TypeError("expected an enum name")


def _totext(v: Any, prefix: str) -> str | None:
    if v is None or v == "" or v == 0:
        return None
    if type(v) is int:
        v = str(v)
    if type(v) is not str:
        raise TypeError("timeoutType is not a string")
    name = v.removeprefix("TIMEOUT_TYPE_")
    if name == "UNSPECIFIED" or name == "INVALID":
        return None
    return f"{prefix}{pascal(name) if '_' in name or name.isupper() else name} timeout"


# --- code generation ----------------------------------------------------------------------------------------------
#
# One function per (dialect, shape, event type). It takes all the events of that type at once and returns, per
# canonical column it knows, a list of values: one list comprehension per column, no per-event function call.

def _dict_path_lines(path: str, out: str) -> list[str]:
    parts = path.split(".")
    lines = [f"_x = [a.get({parts[0]!r}) for a in A]"]
    for p in parts[1:]:
        lines.append(f"_x = [x.get({p!r}) if x is not None else None for x in _x]")
    lines.append(f"{out} = _x")
    return lines


def _compile(name: str, params: str, lines: list[str], env: dict) -> Callable:
    src = f"def {name}({params}):\n" + "\n".join("    " + ln for ln in lines) + "\n"
    ns = dict(env)
    exec(compile(src, f"<wfkit extractor {name}>", "exec"), ns)  # noqa: S102 - code built from fixed tables
    fn = ns[name]
    fn.__wfkit_source__ = src
    return fn


def attempt_offset(dialect: HistoryDialect) -> int:
    """What to add to the dialect's attempts to count from 1."""
    return 1 - dialect.attempt_base


def compile_dict_extractor(dialect: HistoryDialect, name: str, sources: dict[str, str]) -> Callable[[list], dict]:
    """Column extractor for native JSON-dict events of one type."""
    akey = attributes_key(name)
    lines = [f"A = [e.get({akey!r}) or _EMPTY for e in evs]", "out = {}"]
    for col, ckind in COLUMN_KINDS.items():
        src = sources.get(col)
        if src is None:
            continue
        o = f"out[{col!r}]"
        if ckind == "failure":
            kind, _, path = src.partition(":")
            if kind == "R":
                r, d = path.split(",")
                lines.append(f"{o} = [_rfail(a.get({r!r}), a.get({d!r})) for a in A]")
            else:
                lines += _dict_path_lines(path, "_f")
                fn = {"F": "_jfail(x)", "E": "_etext(x)", "TO": "_totext(x, '')",
                      "ATO": "_totext(x, 'activity ')"}[kind]
                lines.append(f"{o} = [{fn} for x in _f]")
        elif ckind == "flag":
            lines += _dict_path_lines(src, "_p")
            lines.append(f"{o} = list(map(bool, _p))")
        elif ckind in ("int", "attempt"):
            lines += _dict_path_lines(src, "_i")
            plus = _plus(dialect, ckind)
            lines.append(f"{o} = _ints(_i){plus}")
        else:
            lines += _dict_path_lines(src, o)
    lines.append("return out")
    return _compile("extract", "evs", lines, {"_rfail": _rfail, "_jfail": dialect.json_failure_text,
                                              "_etext": _etext, "_totext": _totext, "_ints": _ints,
                                              "_EMPTY": _EMPTY})


def _plus(dialect: HistoryDialect, column_kind: str) -> str:
    """The generated code's offset for an integer column of this kind (attempts counted from 1)."""
    off = attempt_offset(dialect) if column_kind == "attempt" else 0
    return f" + {off}" if off > 0 else f" - {-off}" if off < 0 else ""


def _ints(values: list) -> np.ndarray:
    """JSON int64 values (numbers, decimal strings, None = 0) -> int64 array; TypeError/ValueError if not."""
    kinds = set(map(type, values))
    if kinds <= {int}:
        return np.array(values, dtype=np.int64)
    if type(None) in kinds:
        values = [0 if v is None else v for v in values]
        kinds.discard(type(None))
        kinds.add(int)
    if kinds <= {int}:
        return np.array(values, dtype=np.int64)
    if kinds <= {int, str}:
        return np.array([v if type(v) is int else int(v) for v in values], dtype=np.int64)
    raise TypeError("expected integers")


def _proto_field(desc: Any, path: str) -> tuple[list[str], Any] | None:
    """Resolve a camelCase path against a message descriptor -> (snake names, leaf field descriptor)."""
    names = []
    field = None
    for part in path.split("."):
        if desc is None:
            return None
        field = desc.fields_by_name.get(snake(part))
        if field is None:
            return None
        names.append(field.name)
        desc = field.message_type
    return names, field


def compile_proto_extractor(dialect: HistoryDialect, kind: str, sources: dict[str, str],
                            desc: Any) -> Callable[[list], dict]:
    """Column extractor for ``HistoryEvent`` protos whose ``attributes`` oneof is ``kind``."""
    from google.protobuf.descriptor import FieldDescriptor as FD

    env: dict[str, Any] = {"_pfail": dialect.proto_failure_text, "_totext": _totext, "np": np}
    lines: list[str] = [f"A = [e.{kind} for e in evs]", "out = {}"]
    for i, (col, ckind) in enumerate(COLUMN_KINDS.items()):
        src = sources.get(col)
        if src is None:
            continue
        fkind, path = ("", src)
        if ckind == "failure":
            fkind, _, path = src.partition(":")
            if fkind == "R":
                continue
        resolved = _proto_field(desc, path)
        if resolved is None:
            continue
        names, field = resolved
        acc = "a." + ".".join(names)
        o = f"out[{col!r}]"
        if ckind == "failure":
            if fkind == "F":
                parent = "a" if len(names) == 1 else "a." + ".".join(names[:-1])
                has = f"{parent}.HasField({names[-1]!r})"
                lines.append(f"{o} = [_pfail({acc}) if {has} else None for a in A]")
            else:
                if field.type == FD.TYPE_ENUM:
                    env[f"_E{i}"] = {ev.number: ev.name for ev in field.enum_type.values if ev.number != 0}
                    lines.append(f"_f = [_E{i}.get({acc}) for a in A]")
                else:
                    lines.append(f"_f = [{acc} or None for a in A]")
                if fkind == "TO":
                    lines.append(f"{o} = [_totext(x, '') for x in _f]")
                elif fkind == "ATO":
                    lines.append(f"{o} = [_totext(x, 'activity ') for x in _f]")
                else:
                    lines.append(f"{o} = _f")
        elif ckind == "flag":
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                lines.append(f"{o} = [len({acc}) > 0 for a in A]")
            elif len(names) == 1:
                lines.append(f"{o} = [a.HasField({names[0]!r}) for a in A]")
            else:
                lines.append(f"{o} = [{acc}.ByteSize() > 0 for a in A]")
        elif ckind in ("int", "attempt"):
            lines.append(f"{o} = np.array([{acc} for a in A], dtype=np.int64){_plus(dialect, ckind)}")
        else:
            lines.append(f"{o} = [{acc} or None for a in A]")
    lines.append("return out")
    return _compile("extract", "evs", lines, env)


def _generic_sources(keys: Any, dialect: HistoryDialect) -> dict[str, str]:
    """Sources for an event type no table knows: per column, the first candidate whose key is present."""
    out = {}
    for col, candidates in dialect.generic_keys.items():
        for src in candidates:
            path = src.partition(":")[2] if ":" in src else src
            if path.split(".")[0] in keys:
                out[col] = src
                break
    return out


# --- type resolution for JSON dict events -------------------------------------------------------------------------

def name_of_raw_type(dialect: HistoryDialect, raw: Any) -> str | None:
    """Engine event type name of a raw JSON ``eventType`` value (None when it names no type)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return dialect.event_type_numbers.get(raw)
    if isinstance(raw, str) and raw:
        name = pascal(raw[len("EVENT_TYPE_"):]) if raw.startswith("EVENT_TYPE_") else raw
        return name if name.isidentifier() else None
    return None


def _tabled(dialect: HistoryDialect, name: str) -> bool:
    return name in dialect.json_sources or name in dialect.foreign_json_sources


def sources_for(dialect: HistoryDialect, name: str, keys: Any = ()) -> dict[str, str]:
    """Column sources of a JSON event type (generic ones from the attribute keys when the type is unknown)."""
    row = dialect.json_sources.get(name)
    if row is None:
        row = dialect.foreign_json_sources.get(name)
    if row is not None:
        return dict(row)
    return _generic_sources(keys, dialect)


_DICT_EXTRACTORS: dict[tuple[str, str, Any], Callable] = {}


def dict_extractor(dialect: HistoryDialect, name: str, keys: Any = None) -> Callable:
    """Compiled (and cached) column extractor for a JSON event type."""
    generic = not _tabled(dialect, name)
    key = (dialect.name, name, frozenset(keys) if generic and keys is not None else None)
    fn = _DICT_EXTRACTORS.get(key)
    if fn is None:
        fn = compile_dict_extractor(dialect, name, sources_for(dialect, name, keys or ()))
        if len(_DICT_EXTRACTORS) < 20_000:
            _DICT_EXTRACTORS[key] = fn
    return fn


def infer_type_name(ev: dict) -> str | None:
    """Type of an event without (usable) ``eventType``: the one ``*EventAttributes`` key it has."""
    keys = [k for k in ev if isinstance(k, str) and k.endswith("EventAttributes")]
    if len(keys) != 1:
        return None
    return type_from_attributes_key(keys[0])


def event_type_name(dialect: HistoryDialect, ev: dict) -> str | None:
    """The engine event type of a JSON event (from ``eventType``, else its attributes key)."""
    raw = ev.get("eventType")
    name = name_of_raw_type(dialect, raw) if raw is not None else None
    return name or infer_type_name(ev)


# --- columns -------------------------------------------------------------------------------------------------------

def _groups(keys: list) -> list[tuple[Any, np.ndarray]]:
    """(key, positions) for each distinct key, in first-seen order."""
    codes, uniques = pd.factorize(pd.Index(keys, dtype=object), use_na_sentinel=False)
    if len(uniques) == 1:
        return [(uniques[0], np.arange(len(keys)))]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return [(uniques[j], order[bounds[j]:bounds[j + 1]]) for j in range(len(uniques))]


def _take(seq: Sequence[Any], idx: np.ndarray) -> list:
    return [seq[i] for i in idx.tolist()]


def _empty_columns(n: int) -> dict[str, np.ndarray]:
    """The attribute columns of ``n`` events, all unset (False, 0 or None by kind)."""
    cols: dict[str, np.ndarray] = {}
    for col, kind in COLUMN_KINDS.items():
        if kind == "flag":
            cols[col] = np.zeros(n, dtype=bool)
        elif col in INT_COLUMNS:
            cols[col] = np.zeros(n, dtype=np.int64)
        else:
            cols[col] = np.full(n, None, dtype=object)
    return cols


def _fill(cols: dict[str, np.ndarray], idx: np.ndarray, out: dict[str, Any]) -> None:
    for col, vals in out.items():
        target = cols[col]
        if target.dtype == object:
            target[idx] = np.fromiter(vals, dtype=object, count=len(idx))
        else:
            target[idx] = vals


def _blank_to_none(cols: dict[str, np.ndarray]) -> None:
    for col in _STR_COLS:
        c = cols[col]
        blank = c == ""
        if blank.any():
            c[blank] = None


def extract_dict_events(events: list, dialect: HistoryDialect) -> Columns:
    """Canonical columns of native JSON dict events of a dialect.

    Raises:
        HistoryFormatError: naming the first event (index) and field that cannot be read.
    """
    with _NoGC():
        return _extract_dict_events(events, dialect)


def _extract_dict_events(events: list, dialect: HistoryDialect) -> Columns:
    time_key = dialect.time_key
    n = len(events)
    try:
        raw = [e.get("eventType") for e in events]
        ids = [e["eventId"] for e in events]
        times = [e[time_key] for e in events]
        cols = _empty_columns(n)
        codes = np.zeros(n, dtype=np.int64)
        for key, idx in _groups(raw) if n else []:
            name = name_of_raw_type(dialect, key) if key is not None else None
            evs = _take(events, idx)
            if name is not None and _tabled(dialect, name):
                _fill(cols, idx, dict_extractor(dialect, name)(evs))
                codes[idx] = type_code(dialect, name)
                continue
            # unknown or missing eventType: per-event names and attribute keys decide
            sub: dict[tuple, list[int]] = {}
            for j, ev in zip(idx.tolist(), evs, strict=False):
                nm = name if name is not None else infer_type_name(ev)
                if nm is None:
                    raise KeyError("eventType")
                a = ev.get(attributes_key(nm))
                ks = frozenset(a) if isinstance(a, dict) and not _tabled(dialect, nm) else None
                sub.setdefault((nm, ks), []).append(j)
            for (nm, ks), js in sub.items():
                jdx = np.array(js, dtype=np.int64)
                _fill(cols, jdx, dict_extractor(dialect, nm, ks)(_take(events, jdx)))
                codes[jdx] = type_code(dialect, nm)
        _check_str_columns(cols)
    except Exception as e:
        raise _locate(events, dialect, e) from e
    _blank_to_none(cols)
    event_id = int_column(ids, "eventId")
    time_ns = dialect.parse_json_times(times)
    return Columns(event_id, time_ns, codes, cols)


def _locate(events: list, dialect: HistoryDialect, exc: Exception) -> HistoryFormatError:
    """Re-read event by event to find (index, field) of what made the bulk extraction fail."""
    if isinstance(exc, HistoryFormatError):
        return exc
    time_key = dialect.time_key
    for i, ev in enumerate(events):
        try:
            if not isinstance(ev, dict):
                raise TypeError("not an object")
            ev["eventId"], ev[time_key]
            hash(ev.get("eventType"))
            name = event_type_name(dialect, ev)
            if name is None:
                raise KeyError("eventType")
            a = ev.get(attributes_key(name))
            out = dict_extractor(dialect, name, a.keys() if isinstance(a, dict) and not _tabled(dialect, name)
                                 else None)([ev])
            for col in _STR_COLS:
                if col in out and out[col][0] is not None and type(out[col][0]) is not str:
                    raise TypeError(f"{col} is not a string")
        except Exception as e2:  # noqa: BLE001
            return diagnose(events, i, dialect, e2)
    return HistoryFormatError(f"cannot read history: {type(exc).__name__}: {exc}")


def _check_str_columns(cols: dict[str, np.ndarray]) -> None:
    for col in _STR_COLS:
        kinds = set(map(type, cols[col]))
        if not kinds <= {str, type(None)}:
            raise TypeError(f"{col} is not a string")


def int_column(values: list, field: str) -> np.ndarray:
    """A list of JSON int64 values (numbers or decimal strings) -> int64 array, or HistoryFormatError naming the
    first bad one."""
    try:
        kinds = set(map(type, values))
        if kinds <= {int}:
            return np.array(values, dtype=np.int64)
        if kinds <= {str}:
            arr = np.array(values)
            if arr.dtype.kind == "U":
                return arr.astype(np.int64)
        if kinds <= {int, str}:
            return np.array([v if type(v) is int else int(v) for v in values], dtype=np.int64)
    except (ValueError, OverflowError, TypeError):
        pass
    for i, v in enumerate(values):
        try:
            if type(v) not in (int, str) or not -2**63 <= int(v) < 2**63:
                raise ValueError
            if type(v) is str and not v.strip().lstrip("-").isdigit():
                raise ValueError
        except (ValueError, TypeError):
            raise HistoryFormatError(f"{field} is not an integer: {_short(v)}", index=i, field=field) from None
    raise HistoryFormatError(f"{field} cannot be read", field=field)


def rfc3339_column(values: list) -> np.ndarray:
    """RFC 3339 strings -> int64 nanoseconds, or HistoryFormatError naming the first unreadable one."""
    from wfkit.history._convert import rfc3339_to_ns

    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    out = None
    if set(map(type, values)) <= {str}:
        try:
            if all(len(v) >= 20 and v[10] == "T" and v[-1] == "Z" for v in values):
                arr = np.array([v[:-1] for v in values], dtype="datetime64[ns]")
            else:
                idx = pd.to_datetime(values, format="ISO8601", utc=True).as_unit("ns").tz_localize(None)
                arr = np.asarray(idx, dtype="datetime64[ns]")
            if not np.isnat(arr).any():
                out = arr.view(np.int64)
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            out = None
    if out is not None:
        return out
    vals = []
    for i, v in enumerate(values):
        try:
            vals.append(rfc3339_to_ns(v))
        except (ValueError, TypeError, OverflowError):
            raise HistoryFormatError(f"unreadable timestamp {_short(v)}", index=i, field="eventTime") from None
    for i, v in enumerate(vals):
        if not -2**63 < v < 2**63:
            raise HistoryFormatError("timestamp out of range", index=i, field="eventTime")
    return np.array(vals, dtype=np.int64)


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


# --- diagnosis ----------------------------------------------------------------------------------------------------

def diagnose(events: Sequence[Any], i: int, dialect: HistoryDialect, exc: BaseException) -> HistoryFormatError:
    """Find the field of event ``i`` that made extraction fail; return the error to raise."""
    if i >= len(events):
        return HistoryFormatError(f"cannot read history: {exc}")
    ev = events[i]
    if not isinstance(ev, dict):
        return HistoryFormatError(f"event is not an object but {type(ev).__name__}", index=i)
    if "eventId" not in ev:
        return HistoryFormatError("missing eventId", index=i, field="eventId")
    v = ev["eventId"]
    if type(v) not in (int, str) or not str(v).strip().lstrip("-").isdigit():
        return HistoryFormatError(f"eventId is not an integer: {_short(v)}", index=i, field="eventId")
    time_key = dialect.time_key
    if time_key not in ev:
        return HistoryFormatError(f"missing {time_key}", index=i, field=time_key)
    raw = ev.get("eventType")
    try:
        hash(raw)
    except TypeError:
        return HistoryFormatError(f"eventType is not a name: {_short(raw)}", index=i, field="eventType")
    name = event_type_name(dialect, ev)
    if name is None:
        return HistoryFormatError(f"unknown eventType {_short(raw)} and no single *EventAttributes object",
                                  index=i, field="eventType")
    akey = attributes_key(name)
    a = ev.get(akey)
    if a is not None and not isinstance(a, dict):
        return HistoryFormatError(f"{akey} is not an object", index=i, field=akey)
    a = a or {}
    for col, src in sources_for(dialect, name, a.keys()).items():
        kind, path = "", src
        if COLUMN_KINDS[col] == "failure":
            kind, _, path = src.partition(":")
        for p in (path.split(",") if kind == "R" else [path]):
            problem = _check_path(a, p, col, kind, dialect)
            if problem:
                return HistoryFormatError(f"{akey}.{problem[0]}: {problem[1]}", index=i,
                                          field=f"{akey}.{problem[0]}")
    return HistoryFormatError(f"cannot read event: {type(exc).__name__}: {exc}", index=i)


def _check_path(a: dict, path: str, col: str, kind: str, dialect: HistoryDialect) -> tuple[str, str] | None:
    cur: Any = a
    parts = path.split(".")
    for j, p in enumerate(parts):
        if cur is None:
            return None
        if not isinstance(cur, dict):
            return ".".join(parts[:j]), "is not an object"
        cur = cur.get(p)
    if cur is None:
        return None
    ckind = COLUMN_KINDS[col]
    try:
        if col in INT_COLUMNS:
            _int(cur)
        elif ckind == "failure":
            if kind == "F":
                dialect.json_failure_text(cur)
            elif kind == "R":
                if not isinstance(cur, str):
                    raise TypeError("is not a string")
            elif kind == "E":
                _etext(cur)
            else:
                _totext(cur, "")
        elif ckind != "flag":
            _s(cur)
    except (TypeError, ValueError) as e:
        return path, str(e) or "has the wrong type"
    return None


# --- columns from proto events ------------------------------------------------------------------------------------

_PROTO_EXTRACTORS: dict[tuple[str, str, str], Callable] = {}


def proto_extractor(dialect: HistoryDialect, desc: Any, kind: str) -> Callable:
    """Compiled (and cached) column extractor for one ``attributes`` oneof of a HistoryEvent descriptor."""
    key = (dialect.name, desc.full_name, kind)
    fn = _PROTO_EXTRACTORS.get(key)
    if fn is None:
        msg_desc = desc.fields_by_name[kind].message_type
        sources = dialect.proto_sources.get(type_from_attributes_key(kind))
        if sources is None:
            sources = _generic_sources({f.json_name for f in msg_desc.fields}, dialect)
        fn = _PROTO_EXTRACTORS[key] = compile_proto_extractor(dialect, kind, dict(sources), msg_desc)
    return fn


_KIND_BY_NUMBER: dict[tuple[str, str], dict[int, str]] = {}


def kind_by_number(dialect: HistoryDialect, desc: Any) -> dict[int, str]:
    """Event type number -> ``attributes`` oneof field of a HistoryEvent descriptor (empty when its events
    carry no numeric type)."""
    key = (dialect.name, desc.full_name)
    out = _KIND_BY_NUMBER.get(key)
    if out is None:
        out = {}
        if "event_type" in desc.fields_by_name and "attributes" in desc.oneofs_by_name:
            oneof = {f.name for f in desc.oneofs_by_name["attributes"].fields}
            for num, name in dialect.event_type_numbers.items():
                kind = snake(name) + "_event_attributes"
                if kind in oneof:
                    out[num] = kind
        _KIND_BY_NUMBER[key] = out
    return out


def _proto_groups(events: Sequence[Any], dialect: HistoryDialect, desc: Any) -> list[tuple[Any, np.ndarray]]:
    """Events grouped by their ``attributes`` oneof.

    Events that also carry a numeric ``event_type`` (cheaper to read than ``WhichOneof``) are grouped by it
    when every event has a type the dialect knows and each group's first event confirms the mapping.
    """
    kinds = kind_by_number(dialect, desc)
    if kinds:
        groups = _groups([ev.event_type for ev in events])
        if all(k in kinds and events[int(idx[0])].WhichOneof("attributes") == kinds[k] for k, idx in groups):
            return [(kinds[k], idx) for k, idx in groups]
    return _groups([ev.WhichOneof("attributes") for ev in events])


def extract_proto_events(events: Sequence[Any], dialect: HistoryDialect, source: Any = None, *,
                         wire: bytes | None = None) -> Columns:
    """Canonical columns of an engine's ``HistoryEvent`` protos.

    Args:
        events: the events (a list or a repeated field).
        dialect: the engine's history dialect.
        source: the ``History`` message holding ``events``, if any (lets columns be skimmed from its
            serialized bytes, see ``_skim``).
        wire: ``source`` serialized, when the caller has it (saves serializing it again).
    """
    with _NoGC():
        if len(events) and dialect.event_type_numbers:
            cols = _skim(events, dialect, source, wire)
            if cols is not None:
                return cols
        return _extract_proto_events(events, dialect)


def _skim(events: Sequence[Any], dialect: HistoryDialect, source: Any,
          wire: bytes | None = None) -> Columns | None:
    from wfkit.history._skim import skim_events

    desc = events[0].DESCRIPTOR
    if not kind_by_number(dialect, desc):
        return None
    if wire is not None:
        blob, framed = wire, True
    elif source is not None and getattr(source, "events", None) is events:
        blob, framed = source.SerializeToString(), True
    else:
        blob, framed = b"".join([ev.SerializeToString() for ev in events]), False

    def per_event(kind: str, columns: frozenset, idx: np.ndarray) -> dict:
        sources = {c: v for c, v in dialect.proto_sources[type_from_attributes_key(kind)].items() if c in columns}
        key = (dialect.name, desc.full_name, kind, columns)
        fn = _PROTO_SUBSET.get(key)
        if fn is None:
            fn = _PROTO_SUBSET[key] = compile_proto_extractor(dialect, kind, sources,
                                                              desc.fields_by_name[kind].message_type)
        return fn(_take(events, idx))

    out = skim_events(blob, len(events), desc, dialect, framed=framed, per_event=per_event)
    if out is None:
        return None
    event_id, time_ns, groups, values = out
    codes = np.zeros(len(events), dtype=np.int64)
    for kind, idx in groups:
        codes[idx] = type_code(dialect, type_from_attributes_key(kind))
        if events[int(idx[0])].WhichOneof("attributes") != kind:
            return None  # event_type and attributes disagree: read event by event
    _check_times(events, time_ns)
    return Columns(event_id, time_ns, codes, values)


_PROTO_SUBSET: dict[tuple, Callable] = {}


def _check_times(events: Sequence[Any], time_ns: np.ndarray) -> None:
    if len(time_ns) and not time_ns.all():
        for i in np.flatnonzero(time_ns == 0):
            if not events[int(i)].HasField("event_time"):
                raise HistoryFormatError("event has no event_time", index=int(i), field="event_time")


def _extract_proto_events(events: Sequence[Any], dialect: HistoryDialect) -> Columns:
    n = len(events)
    cols = _empty_columns(n)
    codes = np.zeros(n, dtype=np.int64)
    if not n:
        return Columns(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), codes, cols)
    desc = events[0].DESCRIPTOR
    for kind, idx in _proto_groups(events, dialect, desc):
        evs = _take(events, idx)
        if kind is None:
            for j, ev in zip(idx.tolist(), evs, strict=False):
                num = getattr(ev, "event_type", 0)
                name = dialect.event_type_numbers.get(num) or f"Unknown{num}"
                codes[j] = type_code(dialect, name)
            continue
        _fill(cols, idx, proto_extractor(dialect, desc, kind)(evs))
        codes[idx] = type_code(dialect, type_from_attributes_key(kind))
    event_id = np.array([ev.event_id for ev in events], dtype=np.int64)
    time_ns = np.array([ev.event_time.seconds for ev in events], dtype=np.int64) * 1_000_000_000 + \
        np.array([ev.event_time.nanos for ev in events], dtype=np.int64)
    _check_times(events, time_ns)
    return Columns(event_id, time_ns, codes, cols)


def categories_for(event_types: Sequence[str]) -> list[str]:
    """The ``category`` of each canonical event type."""
    return [category_of(t) for t in event_types]
