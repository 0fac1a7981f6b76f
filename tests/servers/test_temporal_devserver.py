"""The Temporal CLI dev server as wfkit starts it: real process, real SDK, clean stop, one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

import wfkit
from wfkit.testing.plugin import pid_alive
from wfkit_temporal.devserver import TemporalDevServer


async def test_official_sdk_talks_to_it(temporal_server):
    import temporalio.api.workflowservice.v1 as ws
    from temporalio.client import Client

    raw = await Client.connect(temporal_server.address, namespace="default")
    ns = await raw.workflow_service.describe_namespace(ws.DescribeNamespaceRequest(namespace="default"))
    assert ns.namespace_info.name == "default"
    from datetime import timedelta

    from google.protobuf.duration_pb2 import Duration

    retention = Duration()
    retention.FromTimedelta(timedelta(days=1))
    await raw.workflow_service.register_namespace(
        ws.RegisterNamespaceRequest(namespace="wfkit-extra", workflow_execution_retention_period=retention))
    got = await raw.workflow_service.describe_namespace(ws.DescribeNamespaceRequest(namespace="wfkit-extra"))
    assert got.namespace_info.name == "wfkit-extra"


def test_file_backed_server_keeps_state(tmp_path):
    db = tmp_path / "temporal.db"
    server = TemporalDevServer.start(db=db)
    try:
        client = wfkit.connect_sync(server.url)
        h = client.sync.start("NobodyServesThis", id="kept", task_queue="none")
        client.sync.close()
    finally:
        server.stop()
    assert not pid_alive(server.pid)
    server = TemporalDevServer.start(db=db, port=server.port)
    try:
        client = wfkit.connect_sync(server.url)
        d = client.sync.handle("kept").sync.describe()
        assert d.run_id == h.run_id and d.status == "running"
        client.sync.close()
    finally:
        server.stop()


def test_port_in_use_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(wfkit.DevServerError) as info:
            TemporalDevServer.start(port=port)
    msg = str(info.value)
    assert msg == f"port {port} on 127.0.0.1 is in use: pick another with --port"


def test_missing_binary_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("WFKIT_TEMPORAL_CLI", str(tmp_path / "no-such-temporal"))
    with pytest.raises(wfkit.DevServerError) as info:
        TemporalDevServer.start()
    assert "\n" not in str(info.value) and "WFKIT_TEMPORAL_CLI" in str(info.value)


def test_cli_devserver_runs_and_stops_on_sigint():
    proc = subprocess.Popen([sys.executable, "-m", "wfkit.cli", "devserver", "temporal"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("temporal server running: temporal://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        client = wfkit.connect_sync(url)
        assert client.namespace == "default"
        client.sync.close()
    finally:
        proc.send_signal(2)  # Ctrl-C
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out
