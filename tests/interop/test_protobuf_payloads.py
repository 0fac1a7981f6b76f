"""Payload formats of other SDKs in frames: ``binary/protobuf`` payloads written by temporalio's own converter
decode to JSON-friendly values when the message type is registered, and stay labelled bytes otherwise."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from wfkit.history import History, register_protobuf
from wfkit.history._payload import Opaque

from . import temporalio_workflows as tw


def _binary_first_converter() -> Any:
    """temporalio's data converter writing protobuf messages as ``binary/protobuf`` (as the Go and Java SDKs
    can be configured to): the binary proto converter ahead of the JSON one."""
    import temporalio.converter as tc

    class BinaryFirst(tc.CompositePayloadConverter):
        def __init__(self) -> None:
            convs = list(tc.DefaultPayloadConverter.default_encoding_payload_converters)
            binary = [c for c in convs if isinstance(c, tc.BinaryProtoPayloadConverter)]
            rest = [c for c in convs if not isinstance(c, tc.BinaryProtoPayloadConverter)]
            super().__init__(*rest[:2], *binary, *rest[2:])

    return dataclasses.replace(tc.DataConverter.default, payload_converter_class=BinaryFirst)


async def test_binary_protobuf_payloads_of_a_temporalio_worker(temporal_server, temporal):
    from temporalio.api.common.v1 import WorkflowType
    from temporalio.client import Client
    from temporalio.worker import Worker

    tq = f"bproto-{uuid.uuid4().hex[:8]}"
    raw = await Client.connect(f"127.0.0.1:{temporal_server.port}", namespace="default",
                               data_converter=_binary_first_converter())
    async with Worker(raw, task_queue=tq, workflows=[tw.ProtoEcho]):
        started = await raw.start_workflow(tw.ProtoEcho.run, WorkflowType(name="b"), id=f"bproto-{uuid.uuid4().hex}",
                                           task_queue=tq)
        assert (await started.result()).name == "b-seen"
    history = await temporal.handle(started.id).history()
    wire = history.to_proto().events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert wire.metadata["encoding"] == b"binary/protobuf"  # what temporalio wrote
    assert history.input() == {"name": "b"} and history.result() == {"name": "b-seen"}
    payloads = history.to_dataframe()["payload"].dropna().tolist()
    assert {"name": "b"} in payloads and {"name": "b-seen"} in payloads


def _history_with_input(payload: Any) -> History:
    from temporalio.api.history.v1 import History as HistoryProto

    h = HistoryProto()
    ev = h.events.add(event_id=1, event_type=1)
    attrs = ev.workflow_execution_started_event_attributes
    attrs.workflow_type.name = "W"
    attrs.input.payloads.append(payload)
    return History.from_proto(h, engine="temporal", workflow_id="w")


def test_unregistered_message_type_stays_labelled_bytes():
    import temporalio.converter as tc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    # a message type of another team's protos, in a pool of its own (not importable here)
    fdp = descriptor_pb2.FileDescriptorProto(name="acme/billing.proto", package="acme.billing", syntax="proto3")
    m = fdp.message_type.add(name="Order")
    m.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    Order = message_factory.GetMessageClass(pool.FindMessageTypeByName("acme.billing.Order"))  # noqa: N806 - a class
    payload = tc.BinaryProtoPayloadConverter().to_payload(Order(id="o-1"))
    assert payload is not None and payload.metadata["messageType"] == b"acme.billing.Order"
    value = _history_with_input(payload).input()
    assert isinstance(value, Opaque)
    assert value == f"<binary/protobuf acme.billing.Order, {len(payload.data)} bytes: type not registered>"
    register_protobuf(Order)  # the notebook's way to say "I have this type"
    assert _history_with_input(payload).input() == {"id": "o-1"}
    with pytest.raises(TypeError):
        register_protobuf("not a module")
