"""Values on the wire: dataclasses, pydantic models and plain JSON values cross both engines the same way.

wfkit turns every argument and result into plain JSON values before an adapter sees it, and turns them back
into the types the receiving function declares (its type hints). pydantic's ``TypeAdapter`` does both
directions; it is imported on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Hashable, Sequence
from typing import Any, cast

from ._errors import WfkitError

_PLAIN = (str, int, float, bool, type(None))


def to_json_value(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dict/list/str/int/float/bool/None)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, _PLAIN) for v in value):
        return list(value)
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, _PLAIN) for k, v in value.items()):
        return value
    try:
        return _adapter(cast(Hashable, type(value))).dump_python(value, mode="json")
    except Exception as exc:  # pydantic raises several kinds; the message matters, not the class
        raise WfkitError(f"cannot send a value of type {type(value).__name__} to a workflow engine: {exc}") from exc


def from_json_value(value: Any, hint: Any) -> Any:
    """Turn plain JSON data back into ``hint`` (a dataclass, pydantic model, typing construct or None = as is)."""
    if hint is None or hint is Any or hint is inspect.Parameter.empty:
        return value
    if hint in _PLAIN and isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    try:
        return _adapter(hint).validate_python(value)
    except Exception as exc:
        raise WfkitError(f"cannot read {_short(value)!s} as {getattr(hint, '__name__', hint)}: {exc}") from exc


def json_values(data: bytes | str) -> list[Any]:
    """Every JSON value in ``data``, whitespace-delimited (how Cadence's clients write a payload's arguments).

    Raises:
        ValueError: ``data`` is not such a sequence of JSON values.
    """
    import json

    text = data.decode("utf-8", errors="replace") if isinstance(data, (bytes, bytearray)) else data
    decoder = json.JSONDecoder(strict=False)
    out: list[Any] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        value, i = decoder.raw_decode(text, i)
        out.append(value)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


@functools.lru_cache(maxsize=512)
def _adapter(tp: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(tp)


@dataclasses.dataclass(frozen=True)
class Signature:
    """The parameter and return hints of a workflow/activity/signal/query function (``self`` excluded)."""

    params: tuple[Any, ...]
    varargs: Any | None
    result: Any

    def decode_args(self, args: Sequence[Any]) -> list[Any]:
        out = []
        for i, arg in enumerate(args):
            hint = self.params[i] if i < len(self.params) else self.varargs
            out.append(from_json_value(arg, hint))
        return out


def signature_of(fn: Callable[..., Any]) -> Signature:
    """Read ``fn``'s hints once (deferred annotations included)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable forward references: fall back to raw values
        hints = {}
    params: list[Any] = []
    varargs = None
    sig = inspect.signature(fn)
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 and p.name == "self":
            continue
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            params.append(hints.get(p.name))
        elif p.kind is p.VAR_POSITIONAL:
            varargs = hints.get(p.name)
    ret = hints.get("return")
    if ret is type(None):
        ret = None
    return Signature(tuple(params), varargs, ret)
