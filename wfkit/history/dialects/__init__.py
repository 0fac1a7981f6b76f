"""History dialects: everything that differs between engines' histories, behind one interface.

A :class:`HistoryDialect` says, for one engine, what its event types are called (and their canonical,
Temporal-style names), where the frame columns live inside its events, how it writes times and counts
attempts, which JSON shapes it reads and writes (and how to tell them apart), how its events convert to and
from the canonical (Temporal proto-JSON) shape, and how its protos look. The history core takes a dialect
object and never names an engine.

The built-in dialects are the modules of this package (``wfkit.history.dialects.<engine>``, each with a
``DIALECT``); any other engine's comes from its plugin (``get_engine(name).history_dialect()``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import numpy as np

from wfkit._errors import HistoryFormatError, WfkitError

__all__ = ["HistoryDialect", "JsonHints", "JsonVariant", "available_dialects", "dialect_for_format",
           "get_dialect"]


@dataclass(frozen=True)
class JsonHints:
    """Evidence that a JSON event was written by a dialect's engine (used to detect a document's format)."""

    event_type_prefixes: tuple[str, ...] = ()
    """An ``eventType`` string starting with one of these is this engine's."""
    key_prefixes: tuple[str, ...] = ()
    """A top-level event key starting with one of these is this engine's."""
    attribute_prefixes: tuple[str, ...] = ()
    """A key inside ``*EventAttributes`` starting with one of these is this engine's."""
    attribute_suffixes: tuple[str, ...] = ()
    """A key inside ``*EventAttributes`` ending with one of these is this engine's."""

    def claims_attribute(self, key: str) -> bool:
        """Whether an attributes key is evidence for this engine."""
        return key.startswith(self.attribute_prefixes) or key.endswith(self.attribute_suffixes)


@dataclass(frozen=True)
class JsonVariant:
    """A JSON shape a dialect reads besides its native one (read into the native shape, event by event)."""

    name: str
    """The ``format=`` name (e.g. ``"temporal-legacy"``)."""
    to_native: Callable[[dict], dict]
    """One event in this shape -> the native event; raises ValueError/TypeError/OverflowError on a bad time."""
    time_field: str
    """The field named in the error when ``to_native`` cannot read an event's time."""


class HistoryDialect(Protocol):
    """One engine's way of recording histories (see the module docstring)."""

    # -- names --

    name: str
    """The engine name (``History.engine``), also the ``format=`` name of its native JSON."""
    event_type_numbers: Mapping[int, str]
    """Enum number -> engine event type name, for engines whose events carry a numeric type (else empty)."""
    extra_event_types: tuple[str, ...]
    """Event types only this engine has; they keep their own name as the canonical one (all must be in
    ``KNOWN_EVENT_TYPES``)."""

    def canonical_event_type(self, name: str) -> str:
        """The canonical (Temporal-style) name of one of this engine's event types."""
        ...

    def engine_event_type(self, canonical: str) -> str:
        """This engine's name of a canonical event type (inverse of :meth:`canonical_event_type`)."""
        ...

    # -- where the columns are --

    attempt_base: int
    """The number this engine gives a first attempt (canonical attempts count from 1)."""
    json_sources: Mapping[str, Mapping[str, str]]
    """Per event type of the native JSON: canonical column -> source (see ``_schema``)."""
    foreign_json_sources: Mapping[str, Mapping[str, str]]
    """Sources for event types of other engines carried into this engine's JSON by a conversion."""
    proto_sources: Mapping[str, Mapping[str, str]]
    """Per event type of the engine's protos: canonical column -> source (camelCase paths)."""
    generic_keys: Mapping[str, tuple[str, ...]]
    """Candidate sources per column for event types no table knows (first present key wins)."""

    def json_failure_text(self, failure: Any) -> str | None:
        """Short text of an ``F:`` failure object in the native JSON (TypeError when malformed)."""
        ...

    def proto_failure_text(self, failure: Any) -> str | None:
        """Short text of an ``F:`` failure message in the engine's protos."""
        ...

    # -- JSON --

    time_key: str
    """The native JSON's event time key."""
    time_json_type: Any
    """The msgspec type of that key's value (for the typed fast reader)."""
    hints: JsonHints
    """Evidence that a JSON event is this engine's."""
    array_document: bool
    """The native JSON document is a bare array of events (else ``{"events": [...]}``)."""
    variants: Mapping[str, JsonVariant]
    """Other JSON shapes of this engine, by ``format=`` name."""

    def parse_json_times(self, values: list) -> np.ndarray:
        """The native time values of all events -> int64 ns since the epoch (HistoryFormatError naming the
        first unreadable one)."""
        ...

    def detect_variant(self, doc: Any, first: dict) -> str:
        """The ``format=`` name (native or a variant) of a document known to be this engine's; ``first`` is
        its first event."""
        ...

    def native_envelope(self, event_id: int, time_text: str, time_ns: int, engine_event_type: str) -> dict:
        """The top-level fields of a native JSON event (used to read and write wfkit JSON)."""
        ...

    def json_document(self, events: list) -> Any:
        """The native JSON document holding ``events``."""
        ...

    def decode_json_payload(self, value: Any) -> Any:
        """The decoded value of a payload field of the native JSON."""
        ...

    # -- other engines --

    def event_to_canonical(self, event: dict) -> dict:
        """A native JSON event -> the canonical (Temporal proto-JSON) event (best effort)."""
        ...

    def event_from_canonical(self, event: dict) -> dict:
        """A canonical (Temporal proto-JSON) event -> a native JSON event (best effort)."""
        ...

    # -- protos --

    proto_event_name: str
    """Full name of the engine's ``HistoryEvent`` message."""

    def history_proto_class(self) -> Any:
        """The engine's ``History`` message class (from its plugin: the core imports no SDK)."""
        ...

    def proto_event_to_native(self, event: dict) -> dict:
        """A proto event as ``MessageToDict`` gives it -> the native JSON event."""
        ...

    def native_event_to_proto_json(self, event: dict) -> dict:
        """A native JSON event -> proto-JSON that ``ParseDict`` reads into the engine's ``HistoryEvent``."""
        ...

    def decode_proto_payload(self, message: Any) -> Any:
        """The decoded value of a payload field of a proto event."""
        ...


_DIALECTS: dict[str, HistoryDialect] = {}


@cache
def _builtin_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_dialect(name: str) -> HistoryDialect:
    """The history dialect of engine ``name``: a built-in one, else the one its engine plugin supplies.

    Raises:
        HistoryFormatError: no dialect for that engine (not built in, plugin missing or without one).
    """
    d = _DIALECTS.get(name)
    if d is not None:
        return d
    if name in _builtin_names():
        d = importlib.import_module(f"{__name__}.{name}").DIALECT
    else:
        from wfkit._engines import get_engine

        try:
            engine: Any = get_engine(name)
        except WfkitError as e:
            raise HistoryFormatError(f"no history dialect for engine {name!r}: {e}") from e
        if not hasattr(engine, "history_dialect"):
            raise HistoryFormatError(f"no history dialect for engine {name!r}: its plugin has no "
                                     f"history_dialect()")
        d = engine.history_dialect()
    _DIALECTS[name] = d
    return d


def available_dialects() -> list[HistoryDialect]:
    """The built-in dialects, then any other already looked up (what format detection asks)."""
    out = [get_dialect(n) for n in _builtin_names()]
    return out + [d for n, d in _DIALECTS.items() if d not in out]


def dialect_for_format(fmt: str) -> HistoryDialect | None:
    """The dialect owning a JSON ``format=`` name (native or variant), or None."""
    for d in available_dialects():
        if fmt == d.name or fmt in d.variants:
            return d
    return None
