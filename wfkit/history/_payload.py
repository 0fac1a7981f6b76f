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
    if "encryption-key-id" in metadata or "encrypted" in enc:
        return _marker("encrypted", len(data))
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
        return _marker(f"protobuf {mt_s}".strip(), len(data))
    if enc == "binary/plain":
        return _marker("binary", len(data))
    return _marker(enc or "binary", len(data))


def decode_values(values: list[Any]) -> Any:
    """One value -> that value; several -> a list; none -> None (the shape of workflow/activity args)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return values


def decode_cadence_bytes(data: bytes) -> Any:
    """Decode Cadence payload bytes: JSON (the Go/Java/Python clients' default), newline-separated for several
    arguments; anything else is opaque."""
    if not data:
        return None
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
