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
    try:
        viewer = ip.run_line_magic("wf", f"connect {temporal_server.url} --as viewer --codec-server {server.url}")
        frame = viewer.sync.handle(h.workflow_id).sync.history().to_dataframe()
        assert "notebook-secret" in repr(list(frame["payload"]))
        plain = ip.run_line_magic("wf", f"connect {temporal_server.url} --as plain")
        frame = plain.sync.handle(h.workflow_id).sync.history().to_dataframe()
        assert "notebook-secret" not in repr(list(frame["payload"]))
    finally:
        run_sync(server.stop())
        for name in ("enc", "viewer", "plain"):
            ip.run_line_magic("wf", f"close {name}")
