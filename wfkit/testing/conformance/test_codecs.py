"""Payload codecs: values round-trip encrypted through client, worker, signals, queries and activities; the
server holds only ciphertext; histories decode with the codec and show why without it
(``Capability.PAYLOAD_CODEC``)."""

from __future__ import annotations

import os
import uuid

import pytest

import wfkit
from wfkit.codecs import AESGCMCodec, decode_history
from wfkit.testing import eventually

from . import workflows as w
from ._helpers import query_answers

KEY = os.urandom(32)


def _codec_or_skip(client: wfkit.Client) -> AESGCMCodec:
    if wfkit.Capability.PAYLOAD_CODEC.value not in client.capabilities:
        pytest.skip(f"{client.engine} has no capability {wfkit.Capability.PAYLOAD_CODEC.value}")
    return AESGCMCodec({"k1": KEY})


async def test_codec_needs_the_capability(client):
    """An engine that declares payload codecs takes one on connect; any other names the capability it lacks."""
    if wfkit.Capability.PAYLOAD_CODEC.value in client.capabilities:
        enc = await wfkit.connect(client.url, codec=AESGCMCodec({"k1": KEY}))
        await enc.close()
        return
    with pytest.raises(wfkit.UnsupportedFeature, match="payload_codec"):
        await wfkit.connect(client.url, codec=AESGCMCodec({"k1": KEY}))


async def test_codec_round_trip(client, task_queue):
    codec = _codec_or_skip(client)
    enc = await wfkit.connect(client.url, codec=codec)
    try:
        async with enc.worker(task_queue=task_queue, workflows=[w.Values, w.Waiter],
                              activities=[w.move, w.double, w.echo]):
            h = await enc.start(w.Values, w.Point(1, 2, "p"), w.Money(amount=2.5, currency="EUR"),
                                {"secret": "ü-plaintext"}, id=f"codec-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
            out = await h.result(timeout=30)
            assert out["moved"] == {"x": 3, "y": 2, "label": "p"}
            assert out["plain"] == {"secret": "ü-plaintext"}

            waiter = await enc.start(w.Waiter, 2, id=f"codec-w-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
            await waiter.signal("add", "first-secret")
            await eventually(lambda: query_answers(waiter, "count", 1), timeout=20)
            assert await waiter.query("peek", 0) == "first-secret"
            await waiter.signal("add", "second-secret")
            assert await waiter.result(timeout=30) == ["first-secret", "second-secret"]
            if wfkit.Capability.SIGNAL_WITH_START.value in enc.capabilities:
                sws = await enc.signal_with_start(w.Waiter, 1, signal="add", signal_args=["sws-secret"],
                                                  id=f"codec-s-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
                assert await sws.result(timeout=30) == ["sws-secret"]

        decoded = (await h.history()).to_dataframe()
        assert {"secret": "ü-plaintext"} in [v for v in decoded["payload"] if isinstance(v, dict)] or \
            any(isinstance(v, list) and {"secret": "ü-plaintext"} in v for v in decoded["payload"])
        # a client without the codec: the server holds only ciphertext, and the frame says so
        plain_h = await client.handle(h.workflow_id, run_id=h.run_id).history()
        frame = plain_h.to_dataframe()
        texts = [str(v) for v in frame["payload"] if v is not None]
        assert not any("ü-plaintext" in t for t in texts)
        assert any("encrypted, key id k1" in t and "no codec set" in t for t in texts), texts
        # the codec applied to that history afterwards, and a wrong key: decoded, and a marker naming the key
        again = (await decode_history(plain_h, codec)).to_dataframe()
        assert str(list(again["payload"])).count("ü-plaintext") == str(list(decoded["payload"])).count("ü-plaintext")
        wrong = (await decode_history(plain_h, AESGCMCodec({"k2": os.urandom(32)}))).to_dataframe()
        assert any("key id k1 not available" in str(v) for v in wrong["payload"])
        acts = (await h.history()).activities()
        assert len(acts) == 3
    finally:
        await enc.close()


async def test_codec_through_children_continue_as_new_side_effects_and_failures(client, task_queue):
    codec = _codec_or_skip(client)
    enc = await wfkit.connect(client.url, codec=codec)
    try:
        async with enc.worker(task_queue=task_queue, workflows=[w.Parent, w.Child, w.Looping, w.Deterministic,
                                                                w.Failing],
                              activities=[w.echo, w.fail_with]):
            parent = await enc.start(w.Parent, 4, id=f"codec-p-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
            loop = await enc.start(w.Looping, 3, 0, id=f"codec-l-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
            det = await enc.start(w.Deterministic, id=f"codec-d-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
            assert await parent.result(timeout=60) == 41
            assert await loop.result(timeout=60) == 6
            out = await det.result(timeout=60)
            assert out["side_effect"] == 42 and out["timed_out"]
            failing = await enc.start(w.Failing, "Custom", True, True, id=f"codec-f-{uuid.uuid4().hex[:8]}",
                                      task_queue=task_queue)
            with pytest.raises(wfkit.WorkflowFailed):
                await failing.result(timeout=60)
        frame = (await parent.history()).to_dataframe()
        assert 40 in list(frame["payload"])  # the child's result, decoded
    finally:
        await enc.close()
