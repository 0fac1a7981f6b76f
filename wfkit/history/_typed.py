"""Fast reading of a dialect's native JSON: typed msgspec decoding plus raw event slices.

Building a Python dict for every field of every event is most of the cost of reading a history JSON. Here the
events array is decoded twice by msgspec, both times in C: once into ``msgspec.Raw`` slices (each event's exact
bytes, kept for lossless output and decoded only on demand), and once into small generated ``Struct`` types
that hold only the fields the frame needs (everything else is skipped without being built). Anything unusual —
an event type the tables do not know, a value of the wrong type — makes :func:`read_typed` return None and the
caller uses the general dict path, which also produces the precise error.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from wfkit._errors import HistoryFormatError
from wfkit.history._extract import (
    Columns,
    _blank_to_none,
    _check_str_columns,
    _empty_columns,
    _etext,
    _groups,
    _ints,
    _NoGC,
    _plus,
    _rfail,
    _take,
    _totext,
    int_column,
    name_of_raw_type,
    type_code,
)
from wfkit.history._schema import COLUMN_KINDS, INT_COLUMNS, attributes_key

if TYPE_CHECKING:
    from wfkit.history.dialects import HistoryDialect

_RAW_EMPTY = msgspec.Raw(b"")
_json_decode = msgspec.json.decode


def _present(r: msgspec.Raw) -> bool:
    n = len(r)
    return n > 4 or (n > 2 and bytes(r) != b"null")


def _raw_obj(r: msgspec.Raw) -> Any:
    return _json_decode(r) if len(r) > 4 else None


class _Model:
    """Generated Struct types and column extractors for one dialect's native JSON events."""

    def __init__(self, dialect: HistoryDialect):
        self.dialect = dialect
        table = dialect.json_sources
        self.table = table
        counter = iter(range(1_000_000))
        ev_fields: list[tuple] = [("eventId", int | str | None, None),
                                  ("eventType", str | int | None, None),
                                  (dialect.time_key, dialect.time_json_type, None)]
        self.extractors: dict[str, Callable] = {}
        self.empty: dict[str, Any] = {}
        for name, sources in table.items():
            tree: dict = {}
            for col, src in sources.items():
                kind, path = "", src
                ckind = COLUMN_KINDS[col]
                if ckind == "failure":
                    kind, _, path = src.partition(":")
                if kind == "R":
                    r, d = path.split(",")
                    tree[r] = "str"
                    tree[d] = "str"
                    continue
                leaf = ("raw" if ckind == "flag" or kind == "F" else
                        "int" if col in INT_COLUMNS else
                        "enum" if kind in ("E", "TO", "ATO") else "str")
                node = tree
                parts = path.split(".")
                for p in parts[:-1]:
                    node = node.setdefault(p, {})
                node[parts[-1]] = leaf
            cls = _struct(f"A{next(counter)}", tree, counter)
            akey = attributes_key(name)
            ev_fields.append((akey, cls | None, None))
            self.empty[name] = cls()
            self.extractors[name] = _compile(dialect, name, sources)
        self.Event = msgspec.defstruct("Event", ev_fields, forbid_unknown_fields=False)
        self.events_decoder = msgspec.json.Decoder(list[self.Event])  # type: ignore[name-defined]  # built above


def _struct(name: str, tree: dict, counter: Any) -> type:
    fields: list[tuple[str, Any, Any]] = []
    for key, leaf in tree.items():
        if isinstance(leaf, dict):
            sub = _struct(f"S{next(counter)}", leaf, counter)
            fields.append((key, sub | None, None))
        elif leaf == "raw":
            fields.append((key, msgspec.Raw, _RAW_EMPTY))
        elif leaf == "int":
            fields.append((key, int | str | None, None))
        elif leaf == "enum":
            fields.append((key, str | int | None, None))
        else:
            fields.append((key, str | None, None))
    return msgspec.defstruct(name, fields)


def _compile(dialect: HistoryDialect, name: str, sources: Any) -> Callable[[list], dict]:
    lines = ["out = {}"]
    for col, ckind in COLUMN_KINDS.items():
        src = sources.get(col)
        if src is None:
            continue
        o = f"out[{col!r}]"
        kind, path = "", src
        if ckind == "failure":
            kind, _, path = src.partition(":")
        if kind == "R":
            r, d = path.split(",")
            lines.append(f"{o} = [_rfail(a.{r}, a.{d}) for a in A]")
            continue
        parts = path.split(".")
        lines.append(f"_x = [a.{parts[0]} for a in A]")
        for p in parts[1:]:
            lines.append(f"_x = [x.{p} if x is not None else None for x in _x]")
        if ckind == "flag":
            lines.append(f"{o} = [_present(x) for x in _x]")
        elif kind == "F":
            lines.append(f"{o} = [_jfail(_raw_obj(x)) for x in _x]")
        elif kind in ("E", "TO", "ATO"):
            fn = {"E": "_etext(x)", "TO": "_totext(x, '')", "ATO": "_totext(x, 'activity ')"}[kind]
            lines.append(f"{o} = [{fn} for x in _x]")
        elif col in INT_COLUMNS:
            lines.append(f"{o} = _ints(_x){_plus(dialect, ckind)}")
        else:
            lines.append(f"{o} = _x")
    lines.append("return out")
    src = "def extract(A):\n" + "\n".join("    " + ln for ln in lines) + "\n"
    ns: dict[str, Any] = {"_rfail": _rfail, "_jfail": dialect.json_failure_text, "_etext": _etext,
                          "_totext": _totext, "_ints": _ints, "_present": _present, "_raw_obj": _raw_obj}
    exec(compile(src, f"<wfkit typed extractor {name}>", "exec"), ns)  # noqa: S102 - from fixed tables
    extract: Callable[[list], dict] = ns["extract"]
    return extract


_MODELS: dict[str, _Model] = {}


def _model(dialect: HistoryDialect) -> _Model:
    m = _MODELS.get(dialect.name)
    if m is None:
        m = _MODELS[dialect.name] = _Model(dialect)
    return m


class RawEvents:
    """The events of a history as raw JSON slices, decoded one at a time on access (a read-only sequence)."""

    __slots__ = ("raws",)

    def __init__(self, raws: list):
        self.raws = raws

    def __len__(self) -> int:
        return len(self.raws)

    def __getitem__(self, i: int) -> dict:
        return _json_decode(self.raws[i])

    def __iter__(self):
        for r in self.raws:
            yield _json_decode(r)


def read_typed(events_raw: msgspec.Raw, raws: list, dialect: HistoryDialect) -> Columns | None:
    """Columns of a native JSON events array of ``dialect``, or None to use the general path."""
    model = _model(dialect)
    try:
        with _NoGC():
            evs = model.events_decoder.decode(events_raw)
            if len(evs) != len(raws):
                return None
            return _columns(evs, model, dialect)
    except HistoryFormatError:
        raise
    except Exception:  # noqa: BLE001 - anything unusual: the general path reads it and reports precisely
        return None


def _columns(evs: list, model: _Model, dialect: HistoryDialect) -> Columns | None:
    n = len(evs)
    cols = _empty_columns(n)
    codes = np.zeros(n, dtype=np.int64)
    raw_types = [e.eventType for e in evs]
    for key, idx in _groups(raw_types) if n else []:
        name = name_of_raw_type(dialect, key) if key is not None else None
        if name is None or name not in model.table:
            return None  # unknown / missing type: the general path handles it
        akey = attributes_key(name)
        empty = model.empty[name]
        group = _take(evs, idx)
        attrs = [getattr(e, akey) for e in group]
        attrs = [empty if a is None else a for a in attrs]
        for col, vals in model.extractors[name](attrs).items():
            target = cols[col]
            if target.dtype == object:
                target[idx] = np.fromiter(vals, dtype=object, count=len(idx))
            else:
                target[idx] = vals
        codes[idx] = type_code(dialect, name)
    _check_str_columns(cols)
    _blank_to_none(cols)
    ids = [e.eventId for e in evs]
    if None in ids:
        return None
    times = list(map(attrgetter(dialect.time_key), evs))
    if None in times:
        return None
    event_id = int_column(ids, "eventId")
    time_ns = dialect.parse_json_times(times)
    return Columns(event_id, time_ns, codes, cols)

