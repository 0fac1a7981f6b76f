"""The engine-neutral payload and the codec interface.

A :class:`Payload` is what a codec sees: metadata (``encoding`` and whatever a codec adds, such as
``encryption-key-id``) and bytes. Its wire form is the same protobuf message layout every Temporal SDK uses
(``map<string, bytes> metadata = 1; bytes data = 2``), so a codec that encrypts serialized payloads (as the
SDK samples do) reads and writes what those samples read and write.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from wfkit._errors import WfkitError


class CodecError(WfkitError):
    """A payload codec failed (a missing key, a codec server that cannot be reached or refused)."""


class CodecUnavailable(CodecError):
    """The codec could not be used at all (a remote codec server down or timing out): every payload of the
    batch is undecodable for the same reason, so they are not retried one by one."""


@dataclasses.dataclass(frozen=True)
class Payload:
    """One encoded value: ``metadata`` (text keys, bytes values) and ``data``."""

    metadata: Mapping[str, bytes]
    """``encoding`` (``json/plain``, ``binary/encrypted`` …) and what codecs add (``encryption-key-id``)."""
    data: bytes
    """The encoded value."""

    def __repr__(self) -> str:  # never the bytes themselves: they may be secret or large
        enc = self.metadata.get("encoding", b"").decode("utf-8", "replace")
        return f"Payload(encoding={enc!r}, {len(self.data)} bytes)"

    def SerializeToString(self) -> bytes:  # noqa: N802 - the protobuf spelling, so SDK-style codecs work as is
        """The payload as the protobuf message every Temporal SDK writes (what encrypting codecs encrypt)."""
        msg = _message_class()(data=self.data)
        for k, v in self.metadata.items():
            msg.metadata[k] = bytes(v)
        return msg.SerializeToString()

    @classmethod
    def FromString(cls, data: bytes) -> Payload:  # noqa: N802 - the protobuf spelling
        """The payload serialized by :meth:`SerializeToString` (or by any SDK)."""
        try:
            msg = _message_class().FromString(data)
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and others
            raise CodecError(f"not a serialized payload: {exc}") from None
        return cls(dict(msg.metadata), bytes(msg.data))

    def to_json(self) -> dict[str, Any]:
        """The proto-JSON form (base64 data and metadata values), as codec servers exchange payloads."""
        return {"metadata": {k: base64.b64encode(bytes(v)).decode() for k, v in self.metadata.items()},
                "data": base64.b64encode(self.data).decode()}

    @classmethod
    def from_json(cls, obj: Any) -> Payload:
        """A payload from its proto-JSON form."""
        if not isinstance(obj, Mapping):
            raise CodecError(f"a payload must be a JSON object, not {type(obj).__name__}")
        meta = obj.get("metadata") or {}
        if not isinstance(meta, Mapping):
            raise CodecError("a payload's metadata must be a JSON object")
        try:
            return cls({str(k): base64.b64decode(v, validate=True) for k, v in meta.items()},
                       base64.b64decode(obj.get("data") or "", validate=True))
        except (ValueError, TypeError) as exc:
            raise CodecError(f"a payload's data and metadata values must be base64: {exc}") from None


@functools.cache
def _message_class() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="wfkit/codecs/payload.proto", package="wfkit.codecs",
                                             syntax="proto3")
    msg = fdp.message_type.add(name="Payload")
    entry = msg.nested_type.add(name="MetadataEntry")
    entry.options.map_entry = True
    F = descriptor_pb2.FieldDescriptorProto  # noqa: N806 - a class
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    msg.field.add(name="metadata", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                  type_name=".wfkit.codecs.Payload.MetadataEntry")
    msg.field.add(name="data", number=2, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("wfkit.codecs.Payload"))


class PayloadCodec(abc.ABC):
    """Turns lists of payloads into other lists of payloads and back (encryption, compression).

    The same interface as the engine SDKs' codecs (``async encode(payloads)``, ``async decode(payloads)``): a
    codec set on ``wfkit.connect(url, codec=...)`` runs in the client (inputs, results, signals, queries),
    the workers, history reading and migration. ``decode`` must pass through payloads it did not encode.
    """

    @abc.abstractmethod
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encode each payload (the result may have a different length)."""

    @abc.abstractmethod
    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decode each payload; ones this codec did not encode come back unchanged."""


@runtime_checkable
class _CodecLike(Protocol):
    async def encode(self, payloads: Sequence[Any]) -> list[Any]: ...

    async def decode(self, payloads: Sequence[Any]) -> list[Any]: ...


class _DuckCodec(PayloadCodec):
    """Any object with async ``encode``/``decode`` over payload-like objects (``.metadata``, ``.data``)."""

    def __init__(self, inner: Any):
        self.inner = inner

    def __repr__(self) -> str:
        return f"<codec {type(self.inner).__name__}>"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [as_payload(p) for p in await self.inner.encode(list(payloads))]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [as_payload(p) for p in await self.inner.decode(list(payloads))]


def as_payload(p: Any) -> Payload:
    """A :class:`Payload` from anything with ``.metadata`` (a mapping) and ``.data`` (an SDK's message)."""
    if isinstance(p, Payload):
        return p
    try:
        return Payload({str(k): bytes(v) for k, v in p.metadata.items()}, bytes(p.data))
    except (AttributeError, TypeError) as exc:
        raise CodecError(f"a codec returned {type(p).__name__}, not a payload") from exc


def as_codec(codec: Any) -> PayloadCodec | None:
    """``codec`` as a wfkit :class:`PayloadCodec`: one already, an engine SDK's codec (the engine plugins
    adapt their own with ``adapt_codec``), or any object with async ``encode``/``decode``. None stays None.

    Raises:
        WfkitError: ``codec`` has no async ``encode``/``decode``.
    """
    if codec is None or isinstance(codec, PayloadCodec):
        return codec
    from wfkit._engines import available, get_engine

    for name in available():
        try:
            plugin = get_engine(name)
        except WfkitError:  # a broken plugin is reported when it is used, not here
            continue
        adapt = getattr(plugin, "adapt_codec", None)
        adapted = adapt(codec) if adapt is not None else None
        if adapted is not None:
            return adapted
    if isinstance(codec, _CodecLike):
        return _DuckCodec(codec)
    raise WfkitError(f"codec must be a payload codec (async encode(payloads) and decode(payloads)), not "
                     f"{type(codec).__name__}")
