"""Codec machinery without a server: finding payloads in engine protos, the envelope, key files, bad input."""

from __future__ import annotations

import base64
import json
import logging
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


def _payloads_messages(payloads: list[Payload]) -> list[object]:
    from temporalio.api.common.v1 import Payloads

    out = []
    for p in payloads:
        msg = Payloads()
        msg.payloads.add(metadata=dict(p.metadata), data=p.data)
        out.append(msg)
    return out


async def test_a_big_history_decodes_through_a_codec_server_in_batches():
    """2,000 payloads of 1 KB (about 3 MB of JSON): the codec server's default limit takes them, and a server
    that keeps aiohttp's 1 MiB limit gets them in batches (before: one request, HTTP 413, every payload a
    marker)."""
    from wfkit.codecs import serve

    key = os.urandom(32)
    plain = [Payload({"encoding": b"json/plain"}, json.dumps(f"{i:04d}" + "x" * 1000).encode()) for i in range(2000)]
    enc = await AESGCMCodec({"k1": key}).encode(plain)
    for limit in (None, 1024 * 1024):
        kwargs = {} if limit is None else {"max_request_bytes": limit}
        async with await serve(AESGCMCodec({"k1": key}), **kwargs) as s:
            msgs = _payloads_messages(enc)
            assert await decode_messages(msgs, RemoteCodec(s.url), tolerant=True) == 2000
            assert [m.payloads[0].data for m in msgs] == [p.data for p in plain]  # in order
    batches = RemoteCodec("http://127.0.0.1:9", batch_bytes=1000, batch_size=3)
    from wfkit.codecs._remote import _batches

    docs = [p.to_json() for p in enc[:10]]
    cut = _batches(docs, batches.batch_bytes, batches.batch_size)
    assert [d for b in cut for d in b] == docs and all(len(b) <= 3 for b in cut)


async def test_one_bad_payload_through_a_codec_server_leaves_the_others_decoded(caplog):
    """Payloads under a known and an unknown key, and one too short to be AES-GCM: through the codec server as
    locally, the good one decodes and each bad one says why (before: HTTP 400 for the batch, none decoded; the
    short one a bare ValueError, HTTP 500 and a traceback)."""
    from wfkit.codecs import serve

    k1, k2 = os.urandom(32), os.urandom(32)
    good = await AESGCMCodec({"k1": k1}).encode([Payload({"encoding": b"json/plain"}, b'"good"')])
    other = await AESGCMCodec({"k2": k2}).encode([Payload({"encoding": b"json/plain"}, b'"other"')])
    short = [Payload({"encoding": b"binary/encrypted", "encryption-key-id": b"k1"}, b"abc")]
    with pytest.raises(wfkit.codecs.CodecError, match="shorter than a nonce and a tag"):
        await AESGCMCodec({"k1": k1}).decode(short)
    caplog.set_level(logging.DEBUG)
    async with await serve(AESGCMCodec({"k1": k1})) as s:
        for codec in (AESGCMCodec({"k1": k1}), RemoteCodec(s.url)):
            msgs = _payloads_messages(good + other + short)
            assert await decode_messages(msgs, codec, tolerant=True) == 1, codec
            assert msgs[0].payloads[0].data == b'"good"'
            assert b"key id k2 not available" in msgs[1].payloads[0].metadata["wfkit-codec-error"]
            assert b"shorter than a nonce" in msgs[2].payloads[0].metadata["wfkit-codec-error"]
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


async def test_codec_server_urls_keep_their_query_and_never_show_credentials():
    remote = RemoteCodec("http://user:s3cretpw@127.0.0.1:9/x?token=t0ken", timeout=1)
    assert remote.url("decode") == "http://user:s3cretpw@127.0.0.1:9/x/decode?token=t0ken"
    assert RemoteCodec("http://h:1/{namespace}/?a=b").for_namespace("ns 1").url("encode") == \
        "http://h:1/ns%201/encode?a=b"
    with pytest.raises(wfkit.codecs.CodecUnavailable) as e:
        await remote.decode([Payload({}, b"x")])
    msgs = _payloads_messages(await AESGCMCodec({"k1": os.urandom(32)}).encode([Payload({}, b"x")]))
    await decode_messages(msgs, remote.for_namespace("default"), tolerant=True)
    texts = [repr(remote), str(remote), str(e.value), repr(e.value), remote.endpoint,
             msgs[0].payloads[0].metadata["wfkit-codec-error"].decode()]
    blob = "\n".join(texts)
    assert "s3cretpw" not in blob and "t0ken" not in blob and "user" not in blob
    assert "127.0.0.1:9/x/decode" in str(e.value)


async def test_codec_server_token(caplog, monkeypatch):
    """serve(token=...): requests without the bearer token are refused (401); the shell's --codec-auth-env sends
    it from an environment variable; a non-loopback address without a token is warned about."""
    import argparse

    import aiohttp

    from wfkit.codecs import serve
    from wfkit.codecs._options import add_codec_arguments, codec_options

    key = os.urandom(32)
    enc = await AESGCMCodec({"k1": key}).encode([Payload({"encoding": b"json/plain"}, b'"v"')])
    async with await serve(AESGCMCodec({"k1": key}), token="tok-123") as s:
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": "Bearer nope"}):
                async with http.post(s.url + "/decode", json={"payloads": [p.to_json() for p in enc]},
                                     headers=headers) as r:
                    assert r.status == 401
        with pytest.raises(wfkit.codecs.CodecUnavailable, match="HTTP 401"):
            await RemoteCodec(s.url).decode(enc)
        p = argparse.ArgumentParser()
        add_codec_arguments(p)
        monkeypatch.setenv("CODEC_TOKEN", "tok-123")
        codec = codec_options(p.parse_args(["--codec-server", s.url, "--codec-auth-env", "CODEC_TOKEN"]))["codec"]
        assert (await codec.decode(enc))[0].data == b'"v"'
        monkeypatch.setenv("CODEC_HDR", "Bearer tok-123")
        codec = codec_options(p.parse_args(["--codec-server", s.url, "--codec-header",
                                            "Authorization=env:CODEC_HDR"]))["codec"]
        assert (await codec.decode(enc))[0].data == b'"v"'
        assert "tok-123" not in repr(codec)
        with pytest.raises(wfkit.codecs.CodecError, match="NAME=env:VAR"):
            codec_options(p.parse_args(["--codec-server", s.url, "--codec-header", "Authorization=Bearer x"]))
    caplog.set_level(logging.WARNING, logger="wfkit.codecs")
    async with await serve(AESGCMCodec({"k1": key}), host="0.0.0.0"):
        pass
    assert "without a token" in caplog.text
    caplog.clear()
    async with await serve(AESGCMCodec({"k1": key}), host="0.0.0.0", token="tok-123"):
        pass
    assert "without a token" not in caplog.text


def test_the_marker_key_and_the_envelope_prefix_are_defined_once():
    """Frames and codecs read the same ``wfkit-codec-error`` key and envelope prefix: one definition of each."""
    from pathlib import Path

    root = Path(wfkit.__file__).parent
    for literal in ('"wfkit-codec-error"', "b'{\"wfkit-codec\":1"):
        where = [str(p.relative_to(root)) for p in root.rglob("*.py") if literal in p.read_text()]
        assert where == ["codecs/_apply.py"], (literal, where)


async def test_one_bad_payload_among_many_costs_a_few_codec_calls_not_one_per_event():
    """1,000 events, one payload under an unknown key: the codec (a codec server: one request per call) is called
    about 2 log2(1000) times, not 1,000 times, and every other payload decodes."""
    k1 = os.urandom(32)
    good = await AESGCMCodec({"k1": k1}).encode([Payload({"encoding": b"json/plain"}, b'"g"')] * 1000)
    bad = await AESGCMCodec({"k2": os.urandom(32)}).encode([Payload({"encoding": b"json/plain"}, b'"b"')])
    inner = AESGCMCodec({"k1": k1})
    calls: list[int] = []

    class Counting(wfkit.codecs.PayloadCodec):
        async def encode(self, payloads):
            return await inner.encode(payloads)

        async def decode(self, payloads):
            calls.append(len(payloads))
            return await inner.decode(payloads)

    msgs = _payloads_messages(good[:700] + bad + good[700:])
    assert await decode_messages(msgs, Counting(), tolerant=True) == 1000
    assert b"key id k2 not available" in msgs[700].payloads[0].metadata["wfkit-codec-error"]
    assert len(calls) <= 25, len(calls)
