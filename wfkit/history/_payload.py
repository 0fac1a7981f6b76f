"""Payload decoding and the lazy cell values of history frames.

Decoding never raises: a payload that cannot be turned into a Python value becomes an :class:`Opaque` marker
string such as ``<binary 120 bytes>``, so a frame always renders.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import msgspec

from wfkit.codecs._apply import ENVELOPE_PREFIX as _ENVELOPE_PREFIX
from wfkit.codecs._apply import ERROR_KEY as _ERROR_KEY

_json_decode = msgspec.json.decode


class Opaque(str):
    """Marker for a payload wfkit cannot decode (binary, encrypted, unknown encoding).

    It is a ``str`` (so frames render it) whose text says what it is, e.g. ``<encrypted 64 bytes>``.
    """

    __slots__ = ()


def _marker(kind: str, size: int) -> Opaque:
    return Opaque(f"<{kind} {size} bytes>")


def b64(text: Any) -> bytes:
    """Base64 (standard or URL-safe, padding optional) to bytes; raises ValueError when it is not base64."""
    if not isinstance(text, str):
        raise ValueError("not a base64 string")  # noqa: TRY004 - callers treat every unreadable value alike
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as e:
            raise ValueError("not valid base64") from e


def _json_value(data: bytes) -> Any:
    return _json_decode(data)


def decode_one(metadata: Mapping[str, bytes], data: bytes) -> Any:
    """Decode one Temporal payload (metadata values and data already raw bytes)."""
    enc_raw = metadata.get("encoding", b"")
    try:
        enc = enc_raw.decode() if isinstance(enc_raw, (bytes, bytearray)) else str(enc_raw)
    except UnicodeDecodeError:
        return _marker("binary", len(data))
    if _ERROR_KEY in metadata or "encryption-key-id" in metadata or "encrypted" in enc:
        from wfkit.codecs._apply import describe_undecodable

        return Opaque(describe_undecodable(dict(metadata), len(data)))
    if enc in ("json/plain", "json/protobuf"):
        try:
            return _json_value(data)
        except (msgspec.DecodeError, ValueError):
            return _marker(f"undecodable {enc}", len(data))
    if enc == "binary/null":
        return None
    if enc == "binary/protobuf":
        mt = metadata.get("messageType", b"")
        try:
            mt_s = mt.decode() if isinstance(mt, (bytes, bytearray)) else str(mt)
        except UnicodeDecodeError:
            mt_s = ""
        return decode_protobuf(mt_s, data)
    if enc == "binary/plain":
        return _marker("binary", len(data))
    return _marker(enc or "binary", len(data))


def decode_protobuf(message_type: str, data: bytes) -> Any:
    """A ``binary/protobuf`` payload as JSON-friendly values (``MessageToDict``) when its message type is
    registered in protobuf's default pool (its ``_pb2`` module was imported, or see
    :func:`wfkit.history.register_protobuf`); otherwise a marker naming the type and size."""
    from google.protobuf import descriptor_pool, json_format, message_factory

    cls = None
    if message_type:
        try:
            cls = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(message_type))
        except KeyError:
            cls = None
    if cls is None:
        why = "type not registered" if message_type else "no messageType"
        return Opaque(f"<binary/protobuf {message_type or '?'}, {len(data)} bytes: {why}>")
    try:
        return json_format.MessageToDict(cls.FromString(data), preserving_proto_field_name=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        return Opaque(f"<binary/protobuf {message_type}, {len(data)} bytes: does not parse: {type(exc).__name__}>")


def register_protobuf(*modules_or_classes: Any) -> None:
    """Make ``binary/protobuf`` payloads of these message types decode in frames: pass the generated ``_pb2``
    modules (or message classes). Importing such a module registers its types already; this is for modules
    generated into a pool of their own, and to say so in a notebook."""
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.Default()
    for m in modules_or_classes:
        desc = getattr(m, "DESCRIPTOR", None)
        file = getattr(desc, "file", desc)
        if file is None or not hasattr(file, "serialized_pb"):
            raise TypeError(f"register_protobuf takes generated _pb2 modules or message classes, not {m!r}")
        try:
            pool.FindFileByName(file.name)
        except KeyError:
            from google.protobuf import descriptor_pb2

            pool.Add(descriptor_pb2.FileDescriptorProto.FromString(file.serialized_pb))


def decode_values(values: list[Any]) -> Any:
    """One value -> that value; several -> a list; none -> None (the shape of workflow/activity args)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return values


def decode_cadence_bytes(data: bytes) -> Any:
    """Decode Cadence payload bytes: JSON (the Go/Java/Python clients' default), newline-separated for several
    arguments; anything else is opaque. Codec-encoded bytes (wfkit's envelope) are a marker saying why they
    were not decoded."""
    if not data:
        return None
    if data[:len(_ENVELOPE_PREFIX)] == _ENVELOPE_PREFIX:
        return _envelope_marker(data)
    try:
        return _json_value(data)
    except (msgspec.DecodeError, ValueError):
        pass
    parts = [p for p in data.split(b"\n") if p.strip()]
    if len(parts) > 1:
        try:
            return [_json_value(p) for p in parts]
        except (msgspec.DecodeError, ValueError):
            pass
    return _marker("binary", len(data))


def _envelope_marker(data: bytes) -> Opaque:
    from wfkit.codecs._apply import describe_undecodable, unwrap
    from wfkit.codecs._payload import CodecError

    try:
        payloads, error = unwrap(data)
    except CodecError:
        return _marker("malformed codec envelope", len(data))
    meta = dict(payloads[0].metadata) if payloads else {}
    if error:
        meta[_ERROR_KEY] = error.encode()
    return Opaque(describe_undecodable(meta, sum(len(p.data) for p in payloads)))


# --- JSON shapes ------------------------------------------------------------------------------------------------

def _temporal_payload_json(p: Any) -> Any:
    if not isinstance(p, Mapping):
        return _marker("malformed", 0)
    meta_in = p.get("metadata") or {}
    meta: dict[str, bytes] = {}
    if isinstance(meta_in, Mapping):
        for k, v in meta_in.items():
            try:
                meta[k] = b64(v)
            except ValueError:
                meta[k] = str(v).encode()
    try:
        data = b64(p.get("data", "") or "")
    except ValueError:
        return _marker("malformed", len(str(p.get("data"))))
    return decode_one(meta, data)


def decode_temporal_json(value: Any) -> Any:
    """Decode a Temporal proto-JSON ``Payloads`` (``{"payloads": [...]}``), ``Payload`` or ``map<string,
    Payloads>`` (marker details) value."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        if "payloads" in value:
            ps = value.get("payloads") or []
            if not isinstance(ps, list):
                return _marker("malformed", 0)
            return decode_values([_temporal_payload_json(p) for p in ps])
        if isinstance(value.get("data", ""), str) and isinstance(value.get("metadata", {}), Mapping) and \
                ("data" in value or "metadata" in value):
            return _temporal_payload_json(value)
        # map<string, Payloads> (MarkerRecorded.details)
        return {k: decode_temporal_json(v) for k, v in value.items()}
    return _marker("malformed", 0)


def decode_cadence_json(value: Any) -> Any:
    """Decode a Cadence CLI JSON payload (base64 bytes)."""
    if value is None or value == "":
        return None
    try:
        return decode_cadence_bytes(b64(value))
    except ValueError:
        return _marker("malformed", len(str(value)))


# --- proto shapes -----------------------------------------------------------------------------------------------

def decode_temporal_proto(msg: Any) -> Any:
    """Decode a temporal ``Payloads``/``Payload`` message or a ``map<string, Payloads>``."""
    name = getattr(getattr(msg, "DESCRIPTOR", None), "name", None)
    if name == "Payloads":
        return decode_values([decode_one(dict(p.metadata), p.data) for p in msg.payloads])
    if name == "Payload":
        return decode_one(dict(msg.metadata), msg.data)
    if hasattr(msg, "items"):
        return {k: decode_temporal_proto(v) for k, v in msg.items()}
    return _marker("unknown", 0)


def decode_cadence_proto(msg: Any) -> Any:
    """Decode a ``cadence.api.v1.Payload`` message."""
    return decode_cadence_bytes(bytes(getattr(msg, "data", b"")))
