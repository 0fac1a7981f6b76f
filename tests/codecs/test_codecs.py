"""Payload codecs on the real servers: an encrypted workflow on both engines read through a local codec and
through a codec server the test starts, an SDK's own codec object, failures that frame as markers, migration
between two encrypted clusters, and no key in anything printed."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
import uuid
from typing import Any

import pytest

import wfkit
from wfkit import migrate
from wfkit.codecs import AESGCMCodec, RemoteCodec, decode_history, serve
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w

from ..migration import workflows as mw

KEY = os.urandom(32)
SECRET = "plaintext-ü-7f3a"


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["temporal", "cadence"])
def server(request: pytest.FixtureRequest, server_for: Any) -> Any:
    return server_for(request.param)


async def _encrypted_run(url: str, task_queue: str) -> tuple[Any, str, str]:
    """Runs Values with SECRET through an encrypting client and worker; (plain client, workflow ID, run ID)."""
    enc = await wfkit.connect(url, codec=AESGCMCodec({"k1": KEY}))
    try:
        async with enc.worker(task_queue=task_queue, workflows=[w.Values], activities=[w.move, w.double, w.echo]):
            h = await enc.start(w.Values, w.Point(1, 2, "p"), w.Money(amount=2.5, currency="EUR"),
                                {"secret": SECRET}, id=wid("enc"), task_queue=task_queue)
            out = await h.result(timeout=30)
        assert out["plain"] == {"secret": SECRET}
        return h.workflow_id, h.run_id, url
    finally:
        await enc.close()


def _texts(frame: Any) -> str:
    return repr(list(frame["payload"]))


async def test_history_through_a_codec_server(server, task_queue, tmp_path):
    workflow_id, run_id, url = await _encrypted_run(server.url, task_queue)
    codec_server = await serve(AESGCMCodec({"k1": KEY}))
    try:
        # the team's codec server, as the Web UI and CLI use it
        remote = await wfkit.connect(url, codec_server=codec_server.url)
        try:
            h = await remote.handle(workflow_id, run_id=run_id).history()
            assert SECRET in _texts(h.to_dataframe())
            acts = h.activities()
            assert len(acts) == 3 and (acts["status"] == "completed").all()
            assert "dataframe" in type(acts).__name__.lower()
            exported = h.to_json("wfkit")
            assert SECRET in exported  # exports carry the decoded values

            async def many() -> bool:  # the frame of many histories (client.histories) decodes too
                frame = await remote.histories(f"WorkflowId = '{workflow_id}'", progress=False)
                return SECRET in _texts(frame)

            await eventually(many, timeout=30)
        finally:
            await remote.close()
        # the shell's export, through the same codec server
        from wfkit.cli import main as cli

        out = tmp_path / "export.json"
        assert await asyncio.to_thread(cli, ["export", url, workflow_id, "--run-id", run_id, "--codec-server",
                                             codec_server.url, "-o", str(out)]) == 0
        assert SECRET in out.read_text()
        # {namespace} templating (the CLI's --codec-endpoint form) reaches the same routes
        templated = RemoteCodec(codec_server.url + "/{namespace}", namespace="default")
        plain = await wfkit.connect(url)
        try:
            encrypted = await plain.handle(workflow_id, run_id=run_id).history()
            assert SECRET not in _texts(encrypted.to_dataframe())
            assert SECRET in _texts((await decode_history(encrypted, templated)).to_dataframe())
        finally:
            await plain.close()
    finally:
        await codec_server.stop()
    # the codec server is gone: the history still frames, each payload saying why, within the timeout
    down = RemoteCodec(codec_server.url, timeout=3)
    plain = await wfkit.connect(url)
    try:
        encrypted = await plain.handle(workflow_id, run_id=run_id).history()
        t0 = time.monotonic()
        frame = (await decode_history(encrypted, down)).to_dataframe()
        assert time.monotonic() - t0 < 10
        text = _texts(frame)
        assert "cannot be reached" in text and SECRET not in text
    finally:
        await plain.close()


async def test_codec_server_cors_and_errors():
    import aiohttp

    async with await serve(AESGCMCodec({"k1": KEY})) as s, aiohttp.ClientSession() as http:
        async with http.options(s.url + "/default/decode", headers={
                "Origin": "http://localhost:8233", "Access-Control-Request-Method": "POST"}) as r:
            assert r.status == 200
            assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
            assert "x-namespace" in r.headers["Access-Control-Allow-Headers"]
        async with http.post(s.url + "/decode", data=b"not json") as r:
            assert r.status == 400
        # a payload under another key: the server answers 400 naming the key ID, and never the key
        other = await AESGCMCodec({"k9": os.urandom(32)}).encode([wfkit.codecs.Payload({"encoding": b"json/plain"},
                                                                                      b'"x"')])
        async with http.post(s.url + "/decode", json={"payloads": [p.to_json() for p in other]}) as r:
            body = await r.text()
            assert r.status == 400 and "key id k9 not available" in body


async def test_wrong_key_and_no_codec_frame_as_markers(server, task_queue):
    workflow_id, run_id, url = await _encrypted_run(server.url, task_queue)
    plain = await wfkit.connect(url)
    try:
        h = await plain.handle(workflow_id, run_id=run_id).history()
        none = _texts(h.to_dataframe())
        assert "encrypted, key id k1" in none and "no codec set" in none
        wrong = _texts((await decode_history(h, AESGCMCodec({"k1": os.urandom(32)}))).to_dataframe())
        assert "does not decrypt with this key" in wrong
        # reading the result without the codec: one clear error, not ciphertext taken for a value
        with pytest.raises(wfkit.WfkitError, match="codec"):
            await plain.handle(workflow_id, run_id=run_id).result(timeout=10)
    finally:
        await plain.close()


async def test_a_temporalio_codec_object_is_accepted_as_is(temporal_server, task_queue):
    """The SDK samples' encryption codec (a temporalio ``PayloadCodec``) on wfkit's client and worker; wfkit's
    AESGCMCodec reads what it wrote (the same format), and the other way round."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from temporalio.api.common.v1 import Payload
    from temporalio.converter import PayloadCodec

    class SampleEncryptionCodec(PayloadCodec):
        def __init__(self, key_id: str, key: bytes):
            self.key_id, self.cipher = key_id, AESGCM(key)

        async def encode(self, payloads: Any) -> list[Payload]:
            out = []
            for p in payloads:
                nonce = os.urandom(12)
                out.append(Payload(metadata={"encoding": b"binary/encrypted",
                                             "encryption-key-id": self.key_id.encode()},
                                   data=nonce + self.cipher.encrypt(nonce, p.SerializeToString(), None)))
            return out

        async def decode(self, payloads: Any) -> list[Payload]:
            out = []
            for p in payloads:
                if p.metadata.get("encoding", b"").decode() != "binary/encrypted":
                    out.append(p)
                    continue
                assert p.metadata["encryption-key-id"].decode() == self.key_id
                out.append(Payload.FromString(self.cipher.decrypt(p.data[:12], p.data[12:], None)))
            return out

    sample = SampleEncryptionCodec("k1", KEY)
    enc = await wfkit.connect(temporal_server.url, codec=sample)
    try:
        async with enc.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
            h = await enc.start(w.Hello, SECRET, id=wid("sample"), task_queue=task_queue)
            assert await h.result(timeout=30) == f"hello {SECRET}"
        assert SECRET in _texts((await h.history()).to_dataframe())
    finally:
        await enc.close()
    plain = await wfkit.connect(temporal_server.url)
    try:
        encrypted = await plain.handle(h.workflow_id).history()
        assert SECRET not in _texts(encrypted.to_dataframe())
        assert SECRET in _texts((await decode_history(encrypted, AESGCMCodec({"k1": KEY}))).to_dataframe())
    finally:
        await plain.close()
    # and wfkit's codec's payloads decrypt with the sample's
    ours = await AESGCMCodec({"k1": KEY}).encode([wfkit.codecs.Payload({"encoding": b"json/plain"}, b'"v"')])
    back = await sample.decode([Payload(metadata=dict(p.metadata), data=p.data) for p in ours])
    assert back[0].data == b'"v"' and back[0].metadata["encoding"] == b"json/plain"


@pytest.mark.parametrize("path", ["cadence->temporal", "temporal->cadence"])
async def test_migration_between_encrypted_clusters(path, server_for, task_queue):
    """Codecs on both sides: the source's histories are decoded with its codec, the copies started encrypted
    by the target's (a different key: the target client's codec does the encoding)."""
    src_engine, tgt_engine = path.split("->")
    target_key = os.urandom(32)
    source = await wfkit.connect(server_for(src_engine).url, codec=AESGCMCodec({"src": KEY}))
    target = await wfkit.connect(server_for(tgt_engine).url, codec=AESGCMCodec({"tgt": target_key}))
    plain_target = await wfkit.connect(server_for(tgt_engine).url)
    prefix = f"codec-mig-{uuid.uuid4().hex[:8]}-"
    try:
        async with source.worker(task_queue=task_queue, workflows=mw.WORKFLOWS, activities=mw.ACTIVITIES), \
                target.worker(task_queue=task_queue, workflows=mw.WORKFLOWS, activities=mw.ACTIVITIES):
            wfid = f"{prefix}0"
            await source.start(mw.Cart, mw.CartState(SECRET, ["apple"]), id=wfid, task_queue=task_queue)
            query = f"WorkflowId STARTS_WITH '{prefix}'"

            async def listed() -> bool:
                return len(await source.list(f"ExecutionStatus='Running' AND ({query})", limit=None)) == 1

            await eventually(listed, timeout=30)
            # readiness: a source client without the codec cannot read the inputs; with it, nothing blocks
            plain_source = await wfkit.connect(server_for(src_engine).url)
            try:
                blocked = await migrate.readiness(plain_source, query=query, workflows=[mw.Cart])
                assert "cannot decode" in " ".join(blocked["blockers"].iloc[0])
            finally:
                await plain_source.close()
            ready = await migrate.readiness(source, query=query, workflows=[mw.Cart])
            assert ready["ready"].iloc[0], ready["blockers"].iloc[0]
            plan = await migrate.plan(source, target, query=query, strategy="restart", workflows=[mw.Cart])
            report = await plan.run(progress=False)
            assert report.stats.successful == 1, report.frame
            moved = target.handle(wfid)
            await moved.signal("checkout")
            result = await moved.result(timeout=60)
            assert result["customer"] == SECRET and result["items"] == ["apple"]
        # on the target cluster the copy's payloads are encrypted under the target's key
        text = _texts((await plain_target.handle(wfid).history()).to_dataframe())
        assert SECRET not in text and "key id tgt" in text
    finally:
        for c in (source, target, plain_target):
            await c.close()


async def test_no_key_in_anything_printed(server, task_queue, caplog, capsys):
    """Reprs, errors and logs of codecs, clients and failures (a worker holding the wrong key, whose workflow
    tasks fail) never show a key (raw, hex or base64)."""
    caplog.set_level(logging.DEBUG)
    codec = AESGCMCodec({"k1": KEY})
    wrong_key = os.urandom(32)
    texts = [repr(codec), str(codec)]
    enc = await wfkit.connect(server.url, codec=codec)
    wrong = await wfkit.connect(server.url, codec=AESGCMCodec({"k1": wrong_key}))
    try:
        texts += [repr(enc), str(enc.engine_client)]
        async with enc.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
            h = await enc.start(w.Hello, "x", id=wid("scan"), task_queue=task_queue)
            await h.result(timeout=30)
        texts.append(repr(await h.history()))
        other_tq = task_queue + "-wrong"
        stuck = await enc.start(w.Hello, "y", id=wid("scan-wrong"), task_queue=other_tq)
        async with wrong.worker(task_queue=other_tq, workflows=[w.Hello], activities=[w.echo]):
            async def failed_task_logged() -> bool:
                return "does not decrypt with this key" in caplog.text

            await eventually(failed_task_logged, timeout=30)
        await stuck.terminate(reason="scan done")
    finally:
        await enc.close()
        await wrong.close()
    for bad in (lambda: AESGCMCodec({"k1": KEY[:7]}), lambda: AESGCMCodec({"k1": KEY}, encrypt_with="nope")):
        with pytest.raises(wfkit.WfkitError) as e:
            bad()
        texts += [str(e.value), repr(e.value)]
    remote = RemoteCodec("http://127.0.0.1:9/", headers={"Authorization": "Bearer " + KEY.hex()}, timeout=1)
    with pytest.raises(wfkit.codecs.CodecUnavailable) as e:
        await remote.decode([wfkit.codecs.Payload({}, b"x")])
    texts += [str(e.value), repr(remote)]
    # a codec server URL with credentials (user part and query): never in reprs, errors, markers or exports
    viewer = await wfkit.connect(server.url, codec_server="http://user:s3cretpw@127.0.0.1:9/x?token=t0ken")
    try:
        hist = await viewer.handle(h.workflow_id, run_id=h.run_id).history()
        texts += [repr(viewer), repr(viewer.engine_client), repr(hist), repr(list(hist.to_dataframe()["payload"])),
                  hist.to_json("wfkit")]
    finally:
        await viewer.close()
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text]
    blob = "\n".join(texts)
    for key in (KEY, wrong_key):
        for form in (key.hex(), base64.b64encode(key).decode(), repr(key)[2:-1]):
            assert form not in blob
    assert "cannot be reached" in blob  # the markers were there to scan
    for secret in ("s3cretpw", "t0ken"):
        assert secret not in blob
    assert "key_ids=['k1']" in repr(codec)


async def test_cadence_envelope_is_what_other_readers_see(cadence_server, task_queue):
    """On Cadence the encoded bytes are wfkit's marked envelope: a Cadence client without the codec gets a
    clear error from result(), and the envelope holds the codec's payloads in proto-JSON form."""
    import json

    from wfkit._loop import on_loop
    from wfkit.codecs._apply import ENVELOPE_PREFIX

    enc = await wfkit.connect(cadence_server.url, codec=AESGCMCodec({"k1": KEY}))
    try:
        async with enc.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
            h = await enc.start(w.Hello, SECRET, id=wid("env"), task_queue=task_queue)
            assert await h.result(timeout=30) == f"hello {SECRET}"
    finally:
        await enc.close()
    plain = await wfkit.connect(cadence_server.url)
    try:
        raw_events = await on_loop(plain._inner.history_events(h.workflow_id, h.run_id))  # type: ignore[attr-defined]
        with pytest.raises(wfkit.WfkitError, match="encoded by a payload codec"):
            await plain.handle(h.workflow_id).result(timeout=10)
    finally:
        await plain.close()
    started = raw_events[0].workflow_execution_started_event_attributes.input.data
    assert started.startswith(ENVELOPE_PREFIX)
    doc = json.loads(started)
    meta = doc["payloads"][0]["metadata"]
    assert base64.b64decode(meta["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(meta["encryption-key-id"]) == b"k1"


async def test_history_file_with_a_codec(server, task_queue, tmp_path):
    """An exported (still encrypted) history read back from a file with the codec, in every JSON dialect."""
    workflow_id, run_id, url = await _encrypted_run(server.url, task_queue)
    plain = await wfkit.connect(url)
    try:
        encrypted = await plain.handle(workflow_id, run_id=run_id).history()
    finally:
        await plain.close()
    for fmt in ("wfkit", server.url.split("+")[0].split(":")[0]):
        path = tmp_path / f"h-{fmt}.json"
        encrypted.to_json(fmt, path=path)
        assert SECRET not in path.read_text()
        back = await asyncio.to_thread(wfkit.History.from_json, path, codec=AESGCMCodec({"k1": KEY}))
        assert SECRET in _texts(back.to_dataframe()), fmt
        assert len(back.activities()) == 3


async def test_codec_server_command(tmp_path):
    """``wfkit codec-server --key-file``: a real process serving the key file's codec; the key never printed."""
    import json
    import subprocess
    import sys

    from wfkit.devserver import free_port

    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"encrypt_with": "k1", "keys": {"k1": base64.b64encode(KEY).decode()}}))
    port = free_port()
    token = base64.b64encode(os.urandom(12)).decode()
    proc = subprocess.Popen([sys.executable, "-m", "wfkit.cli", "codec-server", "--key-file", str(keys),
                             "--port", str(port), "--auth-token-env", "CODEC_TOKEN"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "CODEC_TOKEN": token})
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)  # type: ignore[union-attr]
        assert f"codec server on http://127.0.0.1:{port}" in line and "bearer token required" in line
        encoded = await AESGCMCodec({"k1": KEY}).encode([wfkit.codecs.Payload({"encoding": b"json/plain"}, b'"v"')])
        with pytest.raises(wfkit.codecs.CodecUnavailable, match="HTTP 401"):
            await RemoteCodec(f"http://127.0.0.1:{port}").decode(encoded)
        remote = RemoteCodec(f"http://127.0.0.1:{port}/{{namespace}}", namespace="default",
                             headers={"Authorization": f"Bearer {token}"})
        assert (await remote.decode(encoded))[0].data == b'"v"'
        again = await remote.encode([wfkit.codecs.Payload({"encoding": b"json/plain"}, b'"w"')])
        assert again[0].metadata["encryption-key-id"] == b"k1"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    for form in (KEY.hex(), base64.b64encode(KEY).decode(), token):
        assert form not in line + out + err


async def test_export_with_a_codec_key_file(server, task_queue, tmp_path):
    """``wfkit export --codec-key-file`` (as ``%wf connect`` has it) decrypts what it writes."""
    import json

    from wfkit.cli import main as cli

    workflow_id, run_id, url = await _encrypted_run(server.url, task_queue)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": {"k1": base64.b64encode(KEY).decode()}}))
    out = tmp_path / "export.json"
    assert await asyncio.to_thread(cli, ["export", url, workflow_id, "--run-id", run_id, "--codec-key-file",
                                         str(keys), "-o", str(out)]) == 0
    assert SECRET in out.read_text()


async def test_cadence_history_of_many_pages_is_decoded_once(cadence_server, task_queue, monkeypatch):
    """A history of several pages on Cadence: decoded once, whole, by the client's codec (before: each page by
    the channel's interceptor, then again the payloads it had marked), so a codec server that never answers costs
    about one timeout per history, not one per page and one more."""
    import wfkit_cadence._client as cadence_client

    monkeypatch.setattr(cadence_client, "HISTORY_PAGE_SIZE", 4)
    workflow_id, run_id, url = await _encrypted_run(cadence_server.url, task_queue)
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accepts, never answers

    hung = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    codec_server = await serve(AESGCMCodec({"k1": KEY}))
    try:
        ok = await wfkit.connect(url, codec=RemoteCodec(codec_server.url))
        try:
            h = await ok.handle(workflow_id, run_id=run_id).history()
            assert len(h) > 3 * 4  # several pages
            assert SECRET in _texts(h.to_dataframe())
        finally:
            await ok.close()
        down = await wfkit.connect(url, codec=RemoteCodec(f"http://127.0.0.1:{port}", timeout=1))
        try:
            t0 = time.monotonic()
            h = await down.handle(workflow_id, run_id=run_id).history()
            took = time.monotonic() - t0
            assert "did not answer within 1 s" in _texts(h.to_dataframe())
            assert took < 2.5, f"{took:.1f} s for one history of {len(h)} events, {len(h) // 4 + 1} pages"
        finally:
            await down.close()
    finally:
        await codec_server.stop()
        for writer in held:
            writer.close()
        hung.close()
        await hung.wait_closed()
