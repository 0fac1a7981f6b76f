"""History frames as Parquet: the Arrow schema of the canonical frame, frame <-> table, and reading a dataset back.

The Arrow schema follows :data:`~wfkit.history.FRAME_COLUMNS` and :data:`~wfkit.history._schema.COLUMN_KINDS`
(so a new frame column is written without a change here): text columns are ``string``, ``event_id`` ``int64``,
``attempt``/``related_event_id`` nullable ``int64``, ``time`` ``timestamp[ns, UTC]``, ``event_type``/``category``
``string`` (categories again when read back: the known event types, then the unknown ones sorted, as
``histories_frame`` does), and the lazy ``payload``/``attributes`` columns JSON text (null where the event has
none; the text ``null`` where it has a payload whose value is None). A payload wfkit could not decode (its
marker, e.g. ``<binary 12 bytes>``, a ``wfkit.history._payload.Opaque``) is written as that JSON string after
one space, so any JSON reader gets the marker text and wfkit tells it from a payload that is that text. Read
back, ``payload``/``attributes`` are lazy again: a cell is JSON-decoded when looked at.

pyarrow is imported only here, and only when a function of this module runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import pandas as pd

from wfkit._errors import WfkitError
from wfkit.history._history import (
    _STR,
    CATEGORY_DTYPE,
    EVENT_TYPE_DTYPE,
    FRAME_COLUMNS,
    FRAME_DTYPES,
    History,
    _luts,
)
from wfkit.history._lazy import LazyArray, _undecodable
from wfkit.history._payload import Opaque
from wfkit.history._schema import CATEGORIES, COLUMN_KINDS, KNOWN_EVENT_TYPES

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_schema", "frame_to_table", "histories_to_table", "read_histories", "table_to_frame"]

#: Written in each file's schema metadata; ``read_histories`` refuses files of another format version.
PARQUET_FORMAT_VERSION = 1
_META_KEY = b"wfkit.history"

_JSON_COLUMNS = tuple(c for c, k in COLUMN_KINDS.items() if k == "flag") + ("attributes",)
_FIXED = {"workflow_id": "string", "run_id": "string", "event_id": "int64", "time": "time",
          "event_type": "string", "engine_event_type": "string", "category": "string", "attributes": "json"}
_KIND_TYPE = {"str": "string", "failure": "string", "int": "int64?", "attempt": "int64?", "flag": "json"}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def _kinds() -> dict[str, str]:
    kinds = {}
    for col in FRAME_COLUMNS:
        kind = _FIXED.get(col) or _KIND_TYPE.get(COLUMN_KINDS.get(col, ""))
        if kind is None:  # pragma: no cover - a new column kind must say how it is stored
            raise WfkitError(f"no Parquet type for the frame column {col!r} (kind {COLUMN_KINDS.get(col)!r})")
        kinds[col] = kind
    return kinds


def _pa() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.compute  # noqa: F401 - pa.compute
    except ImportError as e:  # pragma: no cover - the analytics extra installs it
        raise WfkitError("Parquet needs pyarrow: pip install 'wfkit[analytics]'") from e
    return pa


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a history frame (the same for an empty frame)."""
    pa = _pa()
    types = {"string": pa.string(), "json": pa.string(), "int64": pa.int64(), "int64?": pa.int64(),
             "time": pa.timestamp("ns", tz="UTC")}
    fields = [pa.field(c, types[k], nullable=k != "int64" and c not in ("time", "event_type", "category"))
              for c, k in _kinds().items()]
    meta = {_META_KEY: msgspec.json.encode({"version": PARQUET_FORMAT_VERSION, "columns": list(FRAME_COLUMNS),
                                            "json_columns": list(_JSON_COLUMNS)})}
    return pa.schema(fields, metadata=meta)


def _json_text(value: Any) -> str:
    if isinstance(value, Opaque):
        return " " + _encode(str(value)).decode()
    try:
        return _encode(value).decode()
    except (TypeError, ValueError, OverflowError):  # not a JSON value: kept as a marker, like undecodable payloads
        return " " + _encode(f"<{type(value).__name__}, not JSON>").decode()


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A history frame (``History.to_dataframe``, ``histories_frame``) as an Arrow table of :func:`arrow_schema`.

    Raises:
        WfkitError: the frame lacks a canonical column.
    """
    pa = _pa()
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise WfkitError(f"not a history frame: it has no {', '.join(missing)} column")
    schema = arrow_schema()
    kinds = _kinds()
    arrays = []
    for field in schema:
        col, kind = field.name, kinds[field.name]
        s = frame[col]
        if kind == "json":
            present = ~s.isna().to_numpy()
            cells = s.array
            values = [_json_text(cells[i]) if p else None for i, p in enumerate(present.tolist())]
            arrays.append(pa.array(values, type=pa.string()))
        elif kind == "string":
            arrays.append(pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string()))
        elif kind == "time":
            arrays.append(pa.array(s.array, type=field.type))
        else:
            arrays.append(pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.int64()))
    return pa.Table.from_arrays(arrays, schema=schema)


def histories_to_table(histories: Iterable[History]) -> pa.Table:
    """Histories straight to an Arrow table of :func:`arrow_schema` (what ``frame_to_table(histories_frame(
    histories))`` gives, without building a frame per history): the exporter's path."""
    pa = _pa()
    lut = _luts()
    categories = np.array(CATEGORIES, dtype=object)
    parts: dict[str, list[Any]] = {c: [] for c in FRAME_COLUMNS}
    for h in histories:
        c = h._columns()
        n = len(c.event_id)
        if not n:
            continue
        store = h._store
        v = c.values
        parts["workflow_id"].append(np.full(n, h.workflow_id, dtype=object))
        parts["run_id"].append(np.full(n, h.run_id, dtype=object))
        parts["event_id"].append(np.asarray(c.event_id, dtype=np.int64))
        parts["time"].append(np.asarray(c.time_ns, dtype=np.int64))
        parts["event_type"].append(lut["canon"][c.type_code])
        parts["engine_event_type"].append(lut["engine"][c.type_code])
        parts["category"].append(categories[lut["category"][c.type_code]])
        for col, kind in COLUMN_KINDS.items():
            if kind == "flag":
                flags = np.asarray(v[col], dtype=bool).tolist()
                parts[col].append([_cell_json(store.payload_value, i) if f else None for i, f in enumerate(flags)])
            else:
                parts[col].append(v[col])
        attrs = getattr(store, "attrs_copy", store.native_attrs)
        parts["attributes"].append([_cell_json(attrs, i) for i in range(n)])
    schema = arrow_schema()
    kinds = _kinds()
    if not parts["event_id"]:
        return schema.empty_table()
    arrays = []
    for field in schema:
        col, kind = field.name, kinds[field.name]
        chunks = parts[col]
        if kind == "json":
            arrays.append(pa.array([x for chunk in chunks for x in chunk], type=pa.string()))
        elif kind == "time":
            arrays.append(pa.array(np.concatenate(chunks), type=pa.int64()).cast(field.type))
        elif kind in ("int64", "int64?"):
            values = np.concatenate(chunks).astype(np.int64)
            mask = values == 0 if kind == "int64?" else None
            arrays.append(pa.array(values, mask=mask, type=pa.int64()))
        else:
            arrays.append(pa.array(np.concatenate(chunks), type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _cell_json(resolve: Any, i: int) -> str:
    try:
        value = resolve(i)
    except Exception as e:  # noqa: BLE001 - as a frame cell: an undecodable cell becomes its marker
        value = _undecodable(e)
    return _json_text(value)


class _JsonCells:
    """Resolver of a lazy column read from Parquet: cell i is the JSON text ``texts[i]`` decoded."""

    __slots__ = ("texts",)

    def __init__(self, texts: np.ndarray):
        self.texts = texts

    def __call__(self, i: int) -> Any:
        text = self.texts[i]
        if text.startswith(" "):
            return Opaque(_decode(text))
        return _decode(text)


def _lazy_json(col: Any) -> LazyArray:
    texts = col.to_numpy(zero_copy_only=False)
    n = len(texts)
    present = np.fromiter((t is not None for t in texts), dtype=bool, count=n)
    res = np.empty(n, dtype=object)
    res.fill(_JsonCells(texts))
    return LazyArray(res, np.arange(n, dtype=np.int64), present)


def _text(col: Any) -> Any:
    arr = col.to_numpy(zero_copy_only=False)
    return pd.array(np.where(pd.isna(arr), np.nan, arr) if len(arr) else arr.astype(object), dtype=_STR)


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of history rows (any subset of the canonical columns, in any order) as the frame
    ``histories_frame`` gives: the canonical dtypes, columns in canonical order.

    Raises:
        WfkitError: a column is not canonical (partition columns are dropped by :func:`read_histories`).
    """
    extra = [c for c in table.column_names if c not in FRAME_DTYPES]
    if extra:
        raise WfkitError(f"not history rows: unknown column(s) {', '.join(extra)}")
    kinds = _kinds()
    data: dict[str, Any] = {}
    for col in FRAME_COLUMNS:
        if col not in table.column_names:
            continue
        kind = kinds[col]
        c = table.column(col)
        if kind == "json":
            data[col] = _lazy_json(c)
        elif col == "event_type":
            values = c.to_numpy(zero_copy_only=False).astype(object)
            extra_types = sorted(set(pd.unique(values)) - set(KNOWN_EVENT_TYPES) - {None})
            dtype = pd.CategoricalDtype(list(KNOWN_EVENT_TYPES) + extra_types) if extra_types else EVENT_TYPE_DTYPE
            data[col] = pd.Categorical(values, dtype=dtype)
        elif col == "category":
            data[col] = pd.Categorical(c.to_numpy(zero_copy_only=False).astype(object), dtype=CATEGORY_DTYPE)
        elif kind == "string":
            data[col] = _text(c)
        elif kind == "time":
            data[col] = pd.DatetimeIndex(c.to_pandas()).tz_convert("UTC").as_unit("ns")
        elif kind == "int64":
            data[col] = c.to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            pc = _pa().compute
            values = pc.fill_null(c, 0).to_numpy(zero_copy_only=False).astype(np.int64)
            data[col] = pd.arrays.IntegerArray(values, c.is_null().to_numpy(zero_copy_only=False))
    if not data:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in FRAME_DTYPES.items()})
    return pd.DataFrame(data, copy=False)


def _dataset(path: str | os.PathLike[str]) -> Any:
    import pyarrow.dataset as ds

    p = os.fspath(path)
    if not os.path.exists(p):
        raise WfkitError(f"no Parquet dataset at {p!r}")
    try:
        return ds.dataset(p, format="parquet", partitioning="hive",
                          exclude_invalid_files=False, ignore_prefixes=[".", "_"])
    except (_pa().ArrowException, OSError) as e:
        raise _unreadable(p, e) from None


def _unreadable(path: str, err: BaseException) -> WfkitError:
    """A ``WfkitError`` naming the dataset file pyarrow could not read (found by reading each file's footer)."""
    import pyarrow.parquet as pq

    from wfkit._export import unreadable_file

    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(d, n) for d, dirs, names in os.walk(path)
        for n in names if n.endswith(".parquet") and not n.startswith((".", "_"))
        and not any(part.startswith((".", "_")) for part in os.path.relpath(d, path).split(os.sep) if part != "."))
    for f in files:
        try:
            pq.read_metadata(f)
        except (_pa().ArrowException, OSError) as e:
            return unreadable_file(f, e)
    return WfkitError(f"cannot read the Parquet dataset at {path!r}: {err}")


def read_histories(source: Any, *, columns: Sequence[str] | None = None, filter: Any = None) -> pd.DataFrame:
    """History rows written to Parquet (``client.export_histories``) as the frame ``histories_frame`` gives for
    the same histories: the canonical columns and dtypes (``payload``/``attributes`` decoded again, lazily).

    Args:
        source: the dataset's directory (or one ``.parquet`` file): its rows are ordered by ``workflow_id``,
            ``run_id``, ``event_id``. Or rows another engine read from it, in their order: a pyarrow ``Table``, a
            DuckDB relation (``duckdb.sql("SELECT … FROM read_parquet('dir/**/*.parquet')")``) or the frame of
            ``pandas.read_parquet`` (columns that are not the frame's, such as partition keys, are left out).
        columns: only these canonical columns (default: all).
        filter: for a path, a ``pyarrow.dataset`` expression over the columns and the partition keys, pushed
            down to the files, e.g. ``pyarrow.dataset.field("workflow_type") == "Order"``.

    Raises:
        WfkitError: there is no dataset at the path, ``columns`` names a column a frame does not have, or the
            source is none of the above.
    """
    cols = list(FRAME_COLUMNS if columns is None else columns)
    bad = [c for c in cols if c not in FRAME_DTYPES]
    if bad:
        raise WfkitError(f"read_histories: no column {', '.join(map(repr, bad))} (columns: {', '.join(FRAME_COLUMNS)})")
    if isinstance(source, (str, os.PathLike)):
        dataset = _dataset(source)
        if not dataset.files:
            return pd.DataFrame({c: pd.Series(dtype=FRAME_DTYPES[c]) for c in cols})
        try:
            table = dataset.to_table(columns=cols, filter=filter)
        except (_pa().ArrowException, OSError) as e:
            raise _unreadable(os.fspath(source), e) from None
        keys = [k for k in ("workflow_id", "run_id", "event_id") if k in cols]
        if keys and table.num_rows:
            table = table.sort_by([(k, "ascending") for k in keys])
    else:
        if filter is not None:
            raise WfkitError("read_histories: filter= applies to a dataset path; filter the rows in their engine")
        table = _arrow_table(source)
        missing = [c for c in cols if c not in table.column_names]
        if missing:
            raise WfkitError(f"read_histories: the rows have no {', '.join(map(repr, missing))} column (give columns= "
                             "to read fewer)")
        table = table.select(cols)
    if not table.num_rows:
        return pd.DataFrame({c: pd.Series(dtype=FRAME_DTYPES[c]) for c in cols})
    return table_to_frame(table)[cols]


def _arrow_table(source: Any) -> pa.Table:
    """Rows from pyarrow, DuckDB or pandas as an Arrow table."""
    pa = _pa()
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pd.DataFrame):
        return pa.Table.from_pandas(source, preserve_index=False)
    for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):  # DuckDB relations (newest name first)
        fn = getattr(source, method, None)
        if callable(fn):
            out = fn()
            return out.read_all() if hasattr(out, "read_all") else out
    raise WfkitError(f"read_histories: cannot read history rows from a {type(source).__name__} (give a dataset "
                     "path, a pyarrow Table, a DuckDB relation or a pandas frame)")
