"""Running a codec over protobuf messages: requests, responses, history events.

Two payload shapes are found by structure, whatever the engine:

- a ``Payload`` message with ``metadata`` and ``data``: one codec payload, decoded in place;
- a ``Payload`` message with only ``data`` (engines without payload metadata): its bytes are JSON values, one
  per argument, newline-delimited. Encoded, they become an *envelope*: ``{"wfkit-codec":1,"payloads":[...]}``
  (the codec's output in proto-JSON form, base64 data and metadata), which a reader recognises by its first
  bytes. Each JSON value is one ``json/plain`` payload inside, so a codec server sees ordinary payloads.

A payload that cannot be decoded while reading a history keeps its encoded bytes and gets the reason attached
(``wfkit-codec-error`` metadata, or ``"error"`` in the envelope), which frames show as a marker.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from ._payload import CodecError, CodecUnavailable, Payload, PayloadCodec

logger = logging.getLogger("wfkit.codecs")

ENVELOPE_PREFIX = b'{"wfkit-codec":1,"payloads":'
"""The first bytes of a codec-encoded payload of an engine without payload metadata."""
ERROR_KEY = "wfkit-codec-error"
"""Metadata key a history reader attaches to a payload it could not decode (the reason, as UTF-8)."""
JSON_PLAIN = b"json/plain"

DECODE_SKIP = frozenset({"search_attributes", "indexed_fields"})
"""Fields never decoded (search attributes are indexed by the server, so never encoded)."""
ENCODE_SKIP = frozenset({"search_attributes", "indexed_fields", "memo", "header"})
"""Fields never encoded (the server or wfkit's listing reads them)."""


# --- the envelope -----------------------------------------------------------------------------------------------

def is_envelope(data: bytes) -> bool:
    return data[:len(ENVELOPE_PREFIX)] == ENVELOPE_PREFIX


def wrap(payloads: Sequence[Payload], error: str | None = None) -> bytes:
    doc: dict[str, Any] = {"wfkit-codec": 1, "payloads": [p.to_json() for p in payloads]}
    if error is not None:
        doc["error"] = error
    return json.dumps(doc, separators=(",", ":")).encode()


def unwrap(data: bytes) -> tuple[list[Payload], str | None]:
    """The payloads of an envelope, and the reason a reader could not decode them (None: not tried)."""
    try:
        doc = json.loads(data)
        return [Payload.from_json(p) for p in doc["payloads"]], doc.get("error")
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"malformed codec envelope: {exc}") from None


def split_values(data: bytes) -> list[Payload]:
    """Newline-delimited JSON values as ``json/plain`` payloads (bytes that are not JSON: one ``binary/plain``)."""
    from wfkit._converter import json_values

    try:
        values = json_values(data)
    except ValueError:
        return [Payload({"encoding": b"binary/plain"}, bytes(data))]
    return [Payload({"encoding": JSON_PLAIN}, json.dumps(v, separators=(",", ":")).encode()) for v in values]


def join_values(payloads: Sequence[Payload]) -> bytes:
    """The inverse of :func:`split_values`."""
    if len(payloads) == 1 and payloads[0].metadata.get("encoding") == b"binary/plain":
        return payloads[0].data
    out = bytearray()
    for p in payloads:
        enc = p.metadata.get("encoding", b"")
        if enc != JSON_PLAIN:
            raise CodecError(f"the codec left a payload of encoding {enc.decode('utf-8', 'replace') or '(none)'} "
                             "where JSON was expected (does it decode what it encoded?)")
        out += p.data + b"\n"
    return bytes(out)


# --- finding payload messages -----------------------------------------------------------------------------------

def payload_messages(messages: Iterable[Any], skip: frozenset[str]) -> list[Any]:
    """Every ``Payload`` message inside ``messages`` (set fields only), outside fields named in ``skip``. Only
    the fields whose types can hold a payload are visited (a plan per message type, computed once)."""
    out: list[Any] = []
    stack = list(messages)
    while stack:
        msg = stack.pop()
        for name, mode, is_payload in _plan(msg.DESCRIPTOR, skip):
            if mode == "single":
                if not msg.HasField(name):
                    continue
                items: Iterable[Any] = (getattr(msg, name),)
            elif mode == "oneof":  # one lookup for a oneof of many message fields (a history event's attributes)
                which = msg.WhichOneof(name)
                entry = _oneof_fields(msg.DESCRIPTOR, skip).get(which) if which else None
                if entry is None:
                    continue
                if entry:
                    out.append(getattr(msg, which))
                else:
                    stack.append(getattr(msg, which))
                continue
            elif mode == "map":
                items = getattr(msg, name).values()
            else:
                items = getattr(msg, name)
            if is_payload:
                out.extend(items)
            else:
                stack.extend(items)
    return out


def _is_payload(desc: Any) -> bool:
    return bool(desc.name == "Payload")


@functools.cache
def _reaches_payload(desc: Any) -> bool:
    """Whether messages of this type can hold a ``Payload`` (recursive types: through their other fields)."""
    return _search(desc, set())


def _search(desc: Any, visiting: set[Any]) -> bool:
    visiting.add(desc)
    for field in desc.fields:
        sub = _value_type(field)
        if sub is not None and sub not in visiting and (_is_payload(sub) or _search(sub, visiting)):
            return True
    return False


def _value_type(field: Any) -> Any:
    mt = field.message_type
    if mt is not None and mt.GetOptions().map_entry:
        return mt.fields_by_name["value"].message_type
    return mt


def _relevant(desc: Any, field: Any, skip: frozenset[str]) -> bool:
    sub = _value_type(field)
    return sub is not None and field.name not in skip and (_is_payload(sub) or sub is desc or _reaches_payload(sub))


@functools.cache
def _oneof_fields(desc: Any, skip: frozenset[str]) -> dict[str, bool]:
    """The relevant singular message fields that belong to a oneof: name -> whether it is a payload."""
    return {f.name: _is_payload(f.message_type) for o in desc.oneofs for f in o.fields if _relevant(desc, f, skip)}


@functools.cache
def _plan(desc: Any, skip: frozenset[str]) -> tuple[tuple[str, str, bool], ...]:
    plan = []
    in_oneof = _oneof_fields(desc, skip)
    for o in desc.oneofs:
        if any(f.name in in_oneof for f in o.fields):
            plan.append((o.name, "oneof", False))
    for field in desc.fields:
        if field.name in in_oneof or not _relevant(desc, field, skip):
            continue
        mode = "map" if field.message_type.GetOptions().map_entry else ("repeated" if _repeated(field) else "single")
        plan.append((field.name, mode, _is_payload(_value_type(field))))
    return tuple(plan)


def _repeated(field: Any) -> bool:
    is_repeated = getattr(field, "is_repeated", None)  # protobuf >= 6 (label() is deprecated there)
    return bool(is_repeated) if is_repeated is not None else field.label == field.LABEL_REPEATED


def _has_metadata(msg: Any) -> bool:
    return "metadata" in msg.DESCRIPTOR.fields_by_name


def _set(msg: Any, p: Payload) -> None:
    msg.Clear()
    for k, v in p.metadata.items():
        msg.metadata[k] = v
    msg.data = p.data


# --- decoding and encoding --------------------------------------------------------------------------------------

async def decode_messages(messages: Iterable[Any], codec: PayloadCodec, *, tolerant: bool = False) -> int:
    """Decode, in place, every encoded payload inside ``messages``; the number of payloads decoded.

    Args:
        tolerant: a payload that cannot be decoded keeps its bytes and gets the reason attached (for reading
            histories) instead of raising ``CodecError`` (for workers and clients, which must not go on with
            values they cannot read).
    """
    groups: list[tuple[Any, list[Payload]]] = []
    for msg in payload_messages(messages, DECODE_SKIP):
        if _has_metadata(msg):
            groups.append((msg, [Payload(dict(msg.metadata), bytes(msg.data))]))
        elif is_envelope(msg.data):
            try:
                groups.append((msg, unwrap(msg.data)[0]))
            except CodecError:
                if not tolerant:
                    raise
    if not groups:
        return 0
    if tolerant:
        results = await _decode_tolerant(codec, [ps for _, ps in groups])
    else:
        try:
            results = [(got, None) for got in await _decode_all(codec, [ps for _, ps in groups])]
        except CodecUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a codec may raise anything; said as a wfkit error
            raise CodecError(f"payloads could not be decoded: {_reason(exc)}") from None
    decoded = 0
    for (msg, ps), (got, error) in zip(groups, results, strict=True):
        if got is not None and _has_metadata(msg):
            if len(got) != 1:
                error, got = f"the codec decoded one payload into {len(got)}", None
            else:
                _set(msg, got[0])
                decoded += 1
                continue
        elif got is not None:
            try:
                msg.data = join_values(got)
                decoded += 1
                continue
            except CodecError as exc:
                if not tolerant:
                    raise
                error = str(exc)
        if _has_metadata(msg):
            msg.metadata[ERROR_KEY] = (error or "undecodable").encode()
        else:
            msg.data = wrap(ps, error or "undecodable")
    return decoded


async def _decode_all(codec: PayloadCodec, groups: Sequence[list[Payload]]) -> list[list[Payload]]:
    """One ``decode`` call for the payloads of every group, cut back into the groups."""
    flat = [p for ps in groups for p in ps]
    out = await codec.decode(flat)
    if len(out) != len(flat):
        raise CodecError(f"the codec decoded {len(flat)} payloads into {len(out)}")
    cut, i = [], 0
    for ps in groups:
        cut.append(list(out[i:i + len(ps)]))
        i += len(ps)
    return cut


async def _decode_tolerant(codec: PayloadCodec,
                           groups: Sequence[list[Payload]]) -> list[tuple[list[Payload] | None, str | None]]:
    """Each group decoded, or the reason it is not: when the codec refuses a call, the groups are halved until the
    ones it refuses stand alone (a few calls per bad group, not one per group); a codec that is unavailable marks
    every group not decoded yet with its reason, without another call."""
    results: list[tuple[list[Payload] | None, str | None]] = [(None, None)] * len(groups)
    pending = [(0, len(groups))]
    unavailable: str | None = None
    while pending:
        lo, hi = pending.pop()
        if unavailable is not None:
            results[lo:hi] = [(None, unavailable)] * (hi - lo)
            continue
        try:
            got = await _decode_all(codec, groups[lo:hi])
        except CodecUnavailable as exc:
            unavailable = str(exc)
            results[lo:hi] = [(None, unavailable)] * (hi - lo)
            continue
        except Exception as exc:  # noqa: BLE001 - a codec may raise anything; the reason goes into the frame cell
            if hi - lo == 1:
                results[lo] = (None, _reason(exc))
            else:
                mid = (lo + hi) // 2
                pending += [(mid, hi), (lo, mid)]  # the first half next: calls in the history's order
            continue
        results[lo:hi] = [(ps, None) for ps in got]
    return results


async def encode_messages(messages: Iterable[Any], codec: PayloadCodec) -> None:
    """Encode, in place, every payload inside ``messages`` (outside :data:`ENCODE_SKIP`); envelope payloads and
    empty ones stay as they are."""
    groups: list[tuple[Any, list[Payload]]] = []
    for msg in payload_messages(messages, ENCODE_SKIP):
        if _has_metadata(msg):
            groups.append((msg, [Payload(dict(msg.metadata), bytes(msg.data))]))
        elif msg.data and not is_envelope(msg.data):
            groups.append((msg, split_values(msg.data)))
    if not groups:
        return
    for msg, ps in groups:  # one call per payload message: the output of each is stored on its own
        try:
            out = await codec.encode(ps)
        except CodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the codec raised, said as a wfkit error
            raise CodecError(f"payloads could not be encoded: {_reason(exc)}") from None
        if _has_metadata(msg):
            if len(out) != 1:
                raise CodecError(f"the codec encoded one payload into {len(out)}")
            _set(msg, out[0])
        else:
            msg.data = wrap(out)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, CodecError) else f"{type(exc).__name__}: {text}"


def describe_undecodable(metadata: dict[str, bytes], size: int) -> str:
    """The marker text of a payload that stays encoded: its encoding, key ID and why."""
    enc = metadata.get("encoding", b"").decode("utf-8", "replace") or "binary"
    key = metadata.get("encryption-key-id", b"").decode("utf-8", "replace")
    why = metadata.get(ERROR_KEY, b"").decode("utf-8", "replace")
    what = "encrypted" if ("encrypted" in enc or key) else enc
    parts = [what] + ([f"key id {key}"] if key else []) + [f"{size} bytes"]
    text = ", ".join(parts)
    return f"<{text}: {why}>" if why else f"<{text}: no codec set>"
