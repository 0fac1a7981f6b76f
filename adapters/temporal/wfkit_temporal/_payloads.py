"""The payload conversion of wfkit's Temporal clients and workers: temporalio's defaults, except that
``json/protobuf`` payloads (what other SDKs write for protobuf messages) decode to plain JSON values, like every
other value wfkit hands out, instead of SDK proto objects (which need the message class to be imported)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import temporalio.api.common.v1
import temporalio.converter as tc

from wfkit.engine import CodecError, Payload, PayloadCodec


class PlainJSONProtoPayloadConverter(tc.JSONProtoPayloadConverter):
    """Writes protobuf messages as temporalio does; reads ``json/protobuf`` payloads as plain JSON."""

    def from_payload(self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None) -> Any:
        return json.loads(payload.data)


class WfkitPayloadConverter(tc.CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(*(PlainJSONProtoPayloadConverter() if isinstance(c, tc.JSONProtoPayloadConverter) else c
                           for c in tc.DefaultPayloadConverter.default_encoding_payload_converters))

    def from_payloads(self, payloads: Any, type_hints: Any = None) -> list[Any]:
        for p in payloads:  # say what is missing, instead of temporalio's KeyError on the encoding
            enc = p.metadata.get("encoding", b"")
            if enc not in self.converters:
                key = p.metadata.get("encryption-key-id", b"").decode("utf-8", "replace")
                what = f"encrypted (key id {key})" if key or b"encrypted" in enc else \
                    f"of encoding {enc.decode('utf-8', 'replace') or '(none)'}"
                raise CodecError(f"a payload is {what} and this client has no codec that decodes it "
                                 "(wfkit.connect(..., codec=...) or codec_server=...)")
        return super().from_payloads(payloads, type_hints)


DATA_CONVERTER = dataclasses.replace(tc.DataConverter.default, payload_converter_class=WfkitPayloadConverter)
"""What wfkit's Temporal clients (and so their workers) convert payloads with."""


class FromTemporalio(PayloadCodec):
    """A temporalio ``PayloadCodec`` as a wfkit payload codec (for history reading and migration): wfkit
    payloads become temporalio's ``Payload`` messages and back."""

    def __init__(self, inner: tc.PayloadCodec):
        self.inner = inner

    def __repr__(self) -> str:
        return f"<temporalio codec {type(self.inner).__name__}>"

    async def encode(self, payloads: Any) -> list[Any]:
        return _to_wfkit(await self.inner.encode(_to_proto(payloads)))

    async def decode(self, payloads: Any) -> list[Any]:
        return _to_wfkit(await self.inner.decode(_to_proto(payloads)))


class ToTemporalio(tc.PayloadCodec):
    """A wfkit payload codec as temporalio's ``PayloadCodec`` (what the client's data converter runs)."""

    def __init__(self, inner: Any):
        self.inner = inner

    async def encode(self, payloads: Any) -> list[temporalio.api.common.v1.Payload]:
        return _to_proto(await self.inner.encode(_to_wfkit(payloads)))

    async def decode(self, payloads: Any) -> list[temporalio.api.common.v1.Payload]:
        return _to_proto(await self.inner.decode(_to_wfkit(payloads)))


def _to_proto(payloads: Any) -> list[temporalio.api.common.v1.Payload]:
    return [p if isinstance(p, temporalio.api.common.v1.Payload) else
            temporalio.api.common.v1.Payload(metadata=dict(p.metadata), data=p.data) for p in payloads]


def _to_wfkit(payloads: Any) -> list[Any]:
    return [Payload(dict(p.metadata), bytes(p.data)) for p in payloads]


def adapt_codec(codec: Any) -> Any:
    """``codec`` as a wfkit codec when it is temporalio's (else None)."""
    if isinstance(codec, FromTemporalio):
        return codec
    if isinstance(codec, tc.PayloadCodec):
        return FromTemporalio(codec)
    return None


def data_converter(codec: Any) -> tc.DataConverter:
    """wfkit's data converter, with ``codec`` (a wfkit codec, possibly wrapping temporalio's) when given."""
    if codec is None:
        return DATA_CONVERTER
    inner = codec.inner if isinstance(codec, FromTemporalio) else ToTemporalio(codec)
    return dataclasses.replace(DATA_CONVERTER, payload_codec=inner)
