"""``%wf connect --codec-key-file / --codec-server``: a notebook reads an encrypted history through a key file or
the team's codec server."""

from __future__ import annotations

import base64
import json
import os
import uuid

import wfkit
from wfkit._loop import run_sync
from wfkit.codecs import AESGCMCodec, serve
from wfkit.testing.conformance import workflows as w


def test_connect_with_codec_key_file_and_codec_server(ip, temporal_server, tmp_path):
    key = os.urandom(32)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": {"k1": base64.b64encode(key).decode()}}))
    enc = ip.run_line_magic("wf", f"connect {temporal_server.url} --as enc --codec-key-file {keys}")
    assert isinstance(enc, wfkit.Client)
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    with enc.sync.worker(task_queue=tq, workflows=[w.Hello], activities=[w.echo]):
        h = enc.sync.start(w.Hello, "notebook-secret", task_queue=tq)
        assert h.sync.result(timeout=30) == "hello notebook-secret"
    server = run_sync(serve(AESGCMCodec({"k1": key})))
    token = uuid.uuid4().hex
    guarded = run_sync(serve(AESGCMCodec({"k1": key}), token=token))
    try:
        viewer = ip.run_line_magic("wf", f"connect {temporal_server.url} --as viewer --codec-server {server.url}")
        frame = viewer.sync.handle(h.workflow_id).sync.history().to_dataframe()
        assert "notebook-secret" in repr(list(frame["payload"]))
        # a codec server that needs a token: the magic sends it from an environment variable, never the line
        os.environ["WFKIT_TEST_CODEC_TOKEN"] = token
        authed = ip.run_line_magic("wf", f"connect {temporal_server.url} --as authed --codec-server {guarded.url} "
                                         "--codec-auth-env WFKIT_TEST_CODEC_TOKEN")
        frame = authed.sync.handle(h.workflow_id).sync.history().to_dataframe()
        assert "notebook-secret" in repr(list(frame["payload"]))
        assert token not in repr(authed)
        plain = ip.run_line_magic("wf", f"connect {temporal_server.url} --as plain")
        frame = plain.sync.handle(h.workflow_id).sync.history().to_dataframe()
        assert "notebook-secret" not in repr(list(frame["payload"]))
    finally:
        os.environ.pop("WFKIT_TEST_CODEC_TOKEN", None)
        run_sync(server.stop())
        run_sync(guarded.stop())
        for name in ("enc", "viewer", "authed", "plain"):
            ip.run_line_magic("wf", f"close {name}")
