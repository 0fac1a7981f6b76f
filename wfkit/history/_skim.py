"""Columns of a proto history straight from its wire bytes ("skim" parsing), for engines whose events carry a
numeric ``event_type`` (the dialect's ``event_type_numbers``).

Protobuf merges repeated occurrences of a singular message field, and appends to repeated fields. So if the
bytes of a ``History`` are parsed with a generated schema in which the events field is *singular* and every
scalar we want is *repeated*, all events merge into one message whose repeated fields are whole columns:
``event_id`` of every event, ``event_time.seconds`` of every event, ``activity_id`` of every
ActivityTaskScheduled event, ... — all built in C, with no per-event Python work.

A column is usable only when it is aligned: one value per event of its type (proto3 leaves zero values out,
so e.g. an empty ``identity`` shortens the list). Columns that are not aligned, and those that need Python
(failure texts), are read event by event for that event type only. When the event ids, times or types are
not aligned, :func:`skim_events` returns None and the caller reads every event.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from wfkit.history._schema import COLUMN_KINDS, snake

if TYPE_CHECKING:
    from wfkit.history.dialects import HistoryDialect

_counter = itertools.count()


class _Schema:
    """The generated skim classes for one HistoryEvent descriptor, and how to read columns out of them."""

    def __init__(self, desc: Any, dialect: HistoryDialect):
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        from wfkit.history._extract import attempt_offset, kind_by_number

        F = descriptor_pb2.FieldDescriptorProto
        pkg = f"wfkit_skim{next(_counter)}"
        fp = descriptor_pb2.FileDescriptorProto(name=f"{pkg}.proto", package=pkg, syntax="proto3")
        ts = fp.message_type.add(name="Ts")
        ts.field.add(name="seconds", number=1, type=F.TYPE_INT64, label=F.LABEL_REPEATED)
        ts.field.add(name="nanos", number=2, type=F.TYPE_INT64, label=F.LABEL_REPEATED)
        ev = fp.message_type.add(name="Ev")
        ev.field.add(name="event_id", number=desc.fields_by_name["event_id"].number, type=F.TYPE_INT64,
                     label=F.LABEL_REPEATED)
        ev.field.add(name="event_time", number=desc.fields_by_name["event_time"].number, type=F.TYPE_MESSAGE,
                     type_name=f".{pkg}.Ts", label=F.LABEL_OPTIONAL)
        ev.field.add(name="event_type", number=desc.fields_by_name["event_type"].number, type=F.TYPE_INT64,
                     label=F.LABEL_REPEATED)
        hist = fp.message_type.add(name="Hist")
        hist.field.add(name="events", number=1, type=F.TYPE_MESSAGE, type_name=f".{pkg}.Ev", label=F.LABEL_OPTIONAL)

        #: kind -> [(column, skim attribute path, leaf kind, real leaf field descriptor)]
        self.leaves: dict[str, list[tuple[str, tuple[str, ...], str, Any]]] = {}
        names = itertools.count()
        for field in desc.oneofs_by_name["attributes"].fields:
            name = "".join(p[:1].upper() + p[1:] for p in field.name[:-len("_event_attributes")].split("_"))
            sources = dialect.proto_sources.get(name)
            if sources is None:
                continue
            tree: dict = {}
            leaves = []
            for col, ckind in COLUMN_KINDS.items():
                src = sources.get(col)
                if src is None:
                    continue
                path = src.partition(":")[2] if ckind == "failure" else src
                real = []
                d = field.message_type
                leaf = None
                for part in path.split("."):
                    leaf = d.fields_by_name.get(snake(part)) if d is not None else None
                    if leaf is None:
                        break
                    real.append(leaf)
                    d = leaf.message_type
                if leaf is None or len(real) != len(path.split(".")):
                    continue
                if leaf.message_type is not None and leaf.message_type.GetOptions().map_entry:
                    continue  # map entries cannot be counted per event
                node = tree
                for f in real[:-1]:
                    node = node.setdefault((f.name, f.number), {})
                kind = "count" if ckind in ("flag", "failure") else (
                    "str" if leaf.type == leaf.TYPE_STRING else "int")
                node[(leaf.name, leaf.number)] = kind
                leaves.append((col, tuple(f.name for f in real), kind, leaf))
            if not leaves:
                continue
            self.leaves[field.name] = leaves

            def add_message(node: dict, msg_name: str) -> None:
                m = fp.message_type.add(name=msg_name)
                for (fname, num), sub in node.items():
                    if isinstance(sub, dict):
                        child = f"M{next(names)}"
                        add_message(sub, child)
                        m.field.add(name=fname, number=num, type=F.TYPE_MESSAGE, type_name=f".{pkg}.{child}",
                                    label=F.LABEL_OPTIONAL)
                    else:
                        t = {"str": F.TYPE_STRING, "int": F.TYPE_INT64, "count": F.TYPE_BYTES}[sub]
                        m.field.add(name=fname, number=num, type=t, label=F.LABEL_REPEATED)

            msg_name = f"M{next(names)}"
            add_message(tree, msg_name)
            ev.field.add(name=field.name, number=field.number, type=F.TYPE_MESSAGE, type_name=f".{pkg}.{msg_name}",
                         label=F.LABEL_OPTIONAL)
        pool = descriptor_pool.DescriptorPool()
        pool.Add(fp)
        self.Hist = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{pkg}.Hist"))
        self.Ev = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{pkg}.Ev"))
        self.kind_by_number = kind_by_number(dialect, desc)
        self.sources = dialect.proto_sources
        #: column -> what to add to its skimmed integers (attempts counted from 1)
        self.offsets = {c: attempt_offset(dialect) for c, k in COLUMN_KINDS.items() if k == "attempt"}


_SCHEMAS: dict[tuple[str, str], _Schema] = {}


def _schema(desc: Any, dialect: HistoryDialect) -> _Schema:
    key = (dialect.name, desc.full_name)
    s = _SCHEMAS.get(key)
    if s is None:
        s = _SCHEMAS[key] = _Schema(desc, dialect)
    return s


def _get(msg: Any, path: tuple[str, ...]) -> Any:
    for p in path:
        msg = getattr(msg, p)
    return msg


def skim_events(blob: bytes, n: int, desc: Any, dialect: HistoryDialect, *, framed: bool,
                per_event: Callable[[str, frozenset, np.ndarray], dict]) -> tuple | None:
    """Columns of ``n`` proto events from their serialized bytes.

    Args:
        blob: a serialized ``History`` (``framed``) or the concatenated serialized events.
        n: number of events.
        desc: the ``HistoryEvent`` descriptor.
        dialect: the engine's history dialect (column sources, type numbers, attempt base).
        per_event: ``(kind, columns, positions) -> {column: values}`` for the columns that must be read event
            by event.

    Returns:
        ``(event_id, time_ns, groups, values)`` — groups is ``[(kind, positions)]`` — or None when the
        skim cannot be aligned (then read every event).
    """
    schema = _schema(desc, dialect)
    # messages of classes built at run time from the descriptor: their fields are not known to the type checker
    ev: Any = schema.Hist.FromString(blob).events if framed else schema.Ev.FromString(blob)  # type: ignore[attr-defined]
    ids, secs, nanos, types = ev.event_id, ev.event_time.seconds, ev.event_time.nanos, ev.event_type
    if not (len(ids) == len(secs) == len(nanos) == len(types) == n):
        return None
    event_id = np.fromiter(ids, dtype=np.int64, count=n)
    time_ns = np.fromiter(secs, dtype=np.int64, count=n) * 1_000_000_000 + np.fromiter(nanos, dtype=np.int64,
                                                                                        count=n)
    etype = np.fromiter(types, dtype=np.int64, count=n)
    uniq = np.unique(etype)
    if any(int(t) not in schema.kind_by_number for t in uniq):
        return None
    order = np.argsort(etype, kind="stable")
    bounds = np.searchsorted(etype[order], uniq)
    bounds = np.append(bounds, n)
    values = _empty(n)
    groups = []
    for j, t in enumerate(uniq.tolist()):
        idx = order[bounds[j]:bounds[j + 1]]
        kind = schema.kind_by_number[t]
        groups.append((kind, idx))
        k = len(idx)
        attrs = getattr(ev, kind) if kind in schema.leaves else None
        skimmed = set()
        for col, path, leafkind, _leaf in schema.leaves.get(kind, ()):
            cont = _get(attrs, path)
            m = len(cont)
            if leafkind == "count":
                if col == "payload" and m in (0, k):
                    values[col][idx] = m == k
                    skimmed.add(col)
                elif col == "failure" and m == 0:
                    skimmed.add(col)
                continue
            if m != k:
                continue
            if leafkind == "str":
                values[col][idx] = np.fromiter(cont, dtype=object, count=k)
            else:
                arr = np.fromiter(cont, dtype=np.int64, count=k)
                off = schema.offsets.get(col)
                values[col][idx] = arr + off if off else arr
            skimmed.add(col)
        rest = frozenset(c for c in schema.sources.get(_type_name(kind), {}) if c not in skimmed)
        if rest:
            for col, vals in per_event(kind, rest, idx).items():
                target = values[col]
                if target.dtype == object:
                    target[idx] = np.fromiter(vals, dtype=object, count=k)
                else:
                    target[idx] = vals
    return event_id, time_ns, groups, values


def _type_name(kind: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in kind[:-len("_event_attributes")].split("_"))


def _empty(n: int) -> dict[str, np.ndarray]:
    from wfkit.history._extract import _empty_columns

    return _empty_columns(n)
