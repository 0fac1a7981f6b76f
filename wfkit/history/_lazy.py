"""A pandas extension array whose cells are computed on access: the ``payload`` and ``attributes`` columns.

A history frame of 51,200 events would otherwise create 100,000 Python objects (or decode every payload)
just to be built. ``LazyArray`` stores, per row, only a resolver (shared by all rows of one history) and an
event position; ``df.payload[i]`` decodes that one cell. Filtering, ``take``, slicing, ``concat`` and
display touch only what they need. ``to_numpy()``/``astype(object)`` materialise every cell.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype

from wfkit.history._payload import Opaque


@register_extension_dtype
class LazyDtype(ExtensionDtype):
    """dtype of the ``payload`` and ``attributes`` columns: Python objects, computed on access."""

    name = "wfkit_lazy"
    type = object
    kind = "O"
    na_value = None
    _is_numeric = False
    _is_boolean = False

    @classmethod
    def construct_array_type(cls) -> builtins.type[LazyArray]:  # ``type`` is the dtype's scalar type here
        return LazyArray

    @classmethod
    def construct_from_string(cls, string: str) -> LazyDtype:
        if string == cls.name:
            return cls()
        raise TypeError(f"Cannot construct a 'LazyDtype' from '{string}'")

    def __repr__(self) -> str:
        return self.name


class _Const:
    """Resolver for already-known values (arrays built from sequences, or set items)."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[Any]):
        self.values = values

    def __call__(self, i: int) -> Any:
        return self.values[i]


def _undecodable(exc: BaseException) -> Opaque:
    return Opaque(f"<undecodable: {type(exc).__name__}>")


class LazyArray(ExtensionArray):
    """Cells ``resolvers[i](index[i])`` (None where ``present[i]`` is False), computed once on first access."""

    _dtype = LazyDtype()

    def __init__(self, resolvers: np.ndarray, index: np.ndarray, present: np.ndarray):
        self._resolvers = resolvers
        self._index = index
        self._present = present
        self._cache: dict[int, Any] = {}

    @classmethod
    def for_history(cls, resolve: Callable[[int], Any], n: int, present: np.ndarray | None = None) -> LazyArray:
        """``n`` cells ``resolve(i)`` (None where ``present`` is False)."""
        res = np.empty(n, dtype=object)
        res.fill(resolve)
        return cls(res, np.arange(n, dtype=np.int64),
                   np.ones(n, dtype=bool) if present is None else np.asarray(present, dtype=bool))

    # -- construction protocol --

    @classmethod
    def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> LazyArray:
        if isinstance(scalars, LazyArray):
            return scalars.copy() if copy else scalars
        values = list(scalars)
        n = len(values)
        res = np.empty(n, dtype=object)
        res.fill(_Const(values))
        present = np.array([v is not None for v in values], dtype=bool)
        return cls(res, np.arange(n, dtype=np.int64), present)

    @classmethod
    def _from_factorized(cls, values: Any, original: LazyArray) -> LazyArray:
        return original.take(values, allow_fill=True)

    @classmethod
    def _concat_same_type(cls, to_concat: Sequence[LazyArray]) -> LazyArray:
        arrs = list(to_concat)
        return cls(np.concatenate([a._resolvers for a in arrs]) if arrs else np.empty(0, dtype=object),
                   np.concatenate([a._index for a in arrs]) if arrs else np.empty(0, dtype=np.int64),
                   np.concatenate([a._present for a in arrs]) if arrs else np.empty(0, dtype=bool))

    # -- access --

    @property
    def dtype(self) -> LazyDtype:
        return self._dtype

    def __len__(self) -> int:
        return len(self._index)

    def _value(self, i: int) -> Any:
        if not self._present[i]:
            return None
        try:
            return self._cache[i]
        except KeyError:
            pass
        try:
            v = self._resolvers[i](int(self._index[i]))
        except Exception as e:  # noqa: BLE001 - a cell that cannot be decoded must not break the frame
            v = _undecodable(e)
        self._cache[i] = v
        return v

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, np.integer)):
            i = int(item)
            if i < 0:
                i += len(self)
            if not 0 <= i < len(self):
                raise IndexError(item)
            return self._value(i)
        item = pd.api.indexers.check_array_indexer(self, item)
        return type(self)(self._resolvers[item], self._index[item], self._present[item])

    def __iter__(self):
        for i in range(len(self)):
            yield self._value(i)

    def __setitem__(self, key: Any, value: Any) -> None:
        idx = np.arange(len(self))[key]
        idx = np.atleast_1d(idx)
        if pd.api.types.is_list_like(value) and not isinstance(value, dict) and len(idx) != 1:
            values = list(value)
        else:
            values = [value] * len(idx)
        const = _Const(values)
        for k, (i, v) in enumerate(zip(idx.tolist(), values, strict=False)):
            self._resolvers[i] = const
            self._index[i] = k
            self._present[i] = v is not None
            self._cache.pop(i, None)

    def isna(self) -> np.ndarray:
        return ~self._present

    def take(self, indices: Any, *, allow_fill: bool = False, fill_value: Any = None) -> LazyArray:
        idx = np.asarray(indices, dtype=np.int64)
        if allow_fill:
            missing = idx == -1
            if (idx < -1).any():
                raise ValueError("invalid take index")
            safe = np.where(missing, 0, idx)
            if len(self) == 0:
                if not missing.all():
                    raise IndexError("cannot take from an empty array")
                return type(self)(np.full(len(idx), _Const([None]), dtype=object),
                                  np.zeros(len(idx), dtype=np.int64), np.zeros(len(idx), dtype=bool))
            res = self._resolvers[safe]
            index = self._index[safe]
            present = self._present[safe] & ~missing
            if fill_value is not None and missing.any():
                res = res.copy()
                index = index.copy()
                const = _Const([fill_value])
                res[missing] = const
                index[missing] = 0
                present[missing] = True
            return type(self)(res, index, present)
        return type(self)(self._resolvers[idx], self._index[idx], self._present[idx])

    def copy(self) -> LazyArray:
        out = type(self)(self._resolvers.copy(), self._index.copy(), self._present.copy())
        out._cache = dict(self._cache)
        return out

    @property
    def nbytes(self) -> int:
        return int(self._resolvers.nbytes + self._index.nbytes + self._present.nbytes)

    def to_list(self) -> list[Any]:
        """Every cell, computed."""
        return [self._value(i) for i in range(len(self))]

    tolist = to_list

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(len(self), dtype=object)
        for i in range(len(self)):
            out[i] = self._value(i)
        if dtype is not None and np.dtype(dtype) != np.dtype(object):
            return out.astype(dtype)
        return out

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        if isinstance(dtype, LazyDtype) or dtype == LazyDtype.name:
            return self.copy() if copy else self
        if pd.api.types.pandas_dtype(dtype) == np.dtype(object):
            return self.__array__()
        return super().astype(dtype, copy=copy)

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        if isinstance(other, (pd.Series, pd.Index, pd.DataFrame)):
            return NotImplemented
        left = self.__array__()
        if pd.api.types.is_list_like(other) and not isinstance(other, dict):
            right = list(other)  # type: ignore[call-overload]  # list-like, checked just above
            if len(right) != len(left):
                raise ValueError("Lengths must match to compare")
        else:
            right = [other] * len(left)
        return np.array([_equal(a, b) for a, b in zip(left, right, strict=False)], dtype=bool)

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else ~eq

    def _values_for_factorize(self) -> tuple[np.ndarray, Any]:
        return np.array([_hashable(v) for v in self], dtype=object), None

    def _values_for_argsort(self) -> np.ndarray:
        return np.array([repr(v) for v in self], dtype=object)

    def _formatter(self, boxed: bool = False) -> Callable[[Any], str]:
        return repr

    def __repr__(self) -> str:
        return f"<LazyArray of {len(self)} cells>"


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return repr(a) == repr(b)


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)
