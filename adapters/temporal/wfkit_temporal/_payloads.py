"""The payload conversion of wfkit's Temporal clients and workers: temporalio's defaults, except that
``json/protobuf`` payloads (what other SDKs write for protobuf messages) decode to plain JSON values, like every
other value wfkit hands out, instead of SDK proto objects (which need the message class to be imported)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import temporalio.api.common.v1
import temporalio.converter as tc


class PlainJSONProtoPayloadConverter(tc.JSONProtoPayloadConverter):
    """Writes protobuf messages as temporalio does; reads ``json/protobuf`` payloads as plain JSON."""

    def from_payload(self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None) -> Any:
        return json.loads(payload.data)


class WfkitPayloadConverter(tc.CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(*(PlainJSONProtoPayloadConverter() if isinstance(c, tc.JSONProtoPayloadConverter) else c
                           for c in tc.DefaultPayloadConverter.default_encoding_payload_converters))


DATA_CONVERTER = dataclasses.replace(tc.DataConverter.default, payload_converter_class=WfkitPayloadConverter)
"""What wfkit's Temporal clients (and so their workers) convert payloads with."""
