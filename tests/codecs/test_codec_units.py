"""Codec machinery without a server: finding payloads in engine protos, the envelope, key files, bad input."""

from __future__ import annotations

import base64
import json
import os

import pytest

import wfkit
from wfkit.codecs import AESGCMCodec, Payload, RemoteCodec, as_codec
from wfkit.codecs._apply import (
    DECODE_SKIP,
    ENCODE_SKIP,
    decode_messages,
    encode_messages,
    is_envelope,
    join_values,
    payload_messages,
    split_values,
)


def test_payload_messages_follow_oneofs_maps_and_repeated_fields_and_skip_search_attributes():
    from temporalio.api.history.v1 import History

    h = History()
    ev = h.events.add(event_id=1)
    a = ev.workflow_execution_started_event_attributes
    a.input.payloads.add(data=b'"in"')
    a.memo.fields["m"].data = b'"memo"'
    a.header.fields["h"].data = b'"header"'
    a.search_attributes.indexed_fields["s"].data = b'"sa"'
    a.continued_failure.encoded_attributes.data = b'"failure"'
    a.continued_failure.cause.encoded_attributes.data = b'"cause"'
    h.events.add(event_id=2).activity_task_completed_event_attributes.result.payloads.add(data=b'"out"')
    found = sorted(p.data for p in payload_messages(h.events, DECODE_SKIP))
    assert found == [b'"cause"', b'"failure"', b'"header"', b'"in"', b'"memo"', b'"out"']
    assert b'"sa"' not in [p.data for p in payload_messages(h.events, ENCODE_SKIP)]


async def test_envelope_round_trip_on_metadata_free_payloads():
    from cadence.api.v1 import history_pb2

    ev = history_pb2.HistoryEvent(event_id=1)
    ev.workflow_execution_started_event_attributes.input.data = b'"a"\n{"b": [1, 2]}\n'
    ev.workflow_execution_started_event_attributes.memo.fields["m"].data = b'"memo"'
    codec = AESGCMCodec({"k1": os.urandom(32)})
    await encode_messages([ev], codec)
    data = ev.workflow_execution_started_event_attributes.input.data
    assert is_envelope(data) and b'"a"' not in data
    assert ev.workflow_execution_started_event_attributes.memo.fields["m"].data == b'"memo"'  # never encoded
    await encode_messages([ev], codec)  # encoding twice changes nothing
    assert ev.workflow_execution_started_event_attributes.input.data == data
    assert await decode_messages([ev], codec) == 1
    assert ev.workflow_execution_started_event_attributes.input.data == b'"a"\n{"b":[1,2]}\n'
    assert join_values(split_values(b"\xff\x00")) == b"\xff\x00"  # bytes that are not JSON travel as one payload


async def test_strict_decode_raises_and_tolerant_decode_marks():
    from temporalio.api.common.v1 import Payloads

    enc = await AESGCMCodec({"k1": os.urandom(32)}).encode([Payload({"encoding": b"json/plain"}, b'"x"')])
    msg = Payloads()
    msg.payloads.add(metadata=dict(enc[0].metadata), data=enc[0].data)
    other = AESGCMCodec({"k2": os.urandom(32)})
    with pytest.raises(wfkit.codecs.CodecError, match="key id k1 not available"):
        await decode_messages([msg], other)
    assert await decode_messages([msg], other, tolerant=True) == 0
    assert msg.payloads[0].metadata["wfkit-codec-error"].startswith(b"key id k1 not available")


def test_key_file_and_bad_input(tmp_path):
    key = os.urandom(16)
    f = tmp_path / "keys.json"
    f.write_text(json.dumps({"old": base64.b64encode(os.urandom(32)).decode(), "new": base64.b64encode(key).decode()}))
    assert AESGCMCodec.from_key_file(f).key_id == "old"  # the first key encrypts when none is named
    f.write_text(json.dumps({"encrypt_with": "new", "keys": {"new": base64.b64encode(key).decode()}}))
    assert repr(AESGCMCodec.from_key_file(f)) == "AESGCMCodec(key_ids=['new'], encrypt_with='new')"
    f.write_text(json.dumps({"keys": {"k": "not base64!"}}))
    with pytest.raises(wfkit.codecs.CodecError, match="key 'k' is not base64"):
        AESGCMCodec.from_key_file(f)
    with pytest.raises(wfkit.codecs.CodecError, match="cannot read the key file"):
        AESGCMCodec.from_key_file(tmp_path / "missing.json")
    with pytest.raises(wfkit.WfkitError, match="must be a payload codec"):
        as_codec(object())
    with pytest.raises(wfkit.codecs.CodecError, match="http:// or https://"):
        RemoteCodec("codec.example.com")
    assert repr(Payload({"encoding": b"binary/encrypted"}, b"secret-bytes")) == \
        "Payload(encoding='binary/encrypted', 12 bytes)"


async def test_a_codec_server_that_never_answers_is_a_marker_within_its_timeout():
    import asyncio
    import time

    from temporalio.api.common.v1 import Payloads

    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accepts, reads nothing back, never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    enc = await AESGCMCodec({"k1": os.urandom(32)}).encode([Payload({"encoding": b"json/plain"}, b'"x"')] * 3)
    msg = Payloads()
    for p in enc:
        msg.payloads.add(metadata=dict(p.metadata), data=p.data)
    try:
        t0 = time.monotonic()
        assert await decode_messages([msg], RemoteCodec(f"http://127.0.0.1:{port}", timeout=1), tolerant=True) == 0
        assert time.monotonic() - t0 < 5  # one request for the batch, not one per payload
        reasons = {p.metadata["wfkit-codec-error"] for p in msg.payloads}
        assert reasons == {f"codec server http://127.0.0.1:{port}/decode did not answer within 1 s".encode()}
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()
