"""``wfkit devserver ENGINE``: the README's way to run a server for workers written with other SDKs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

import wfkit
from wfkit.devserver import free_port


def _run_devserver(engine: str, port: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "wfkit.cli", "devserver", engine, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("connect with:"):
            return proc, lines
    proc.kill()
    raise AssertionError("the dev server did not start:\n" + "\n".join(lines))


@pytest.mark.parametrize("engine", ["temporal", "cadence"])
def test_devserver_cli_serves_until_stopped_and_prints_its_ports(engine):
    port = free_port()
    proc, lines = _run_devserver(engine, port, dict(os.environ))
    try:
        url = re.search(r"server running: (\S+)", "\n".join(lines)).group(1)
        assert f"127.0.0.1:{port}" in url
        assert f"frontend_grpc: 127.0.0.1:{port}" in lines
        if engine == "cadence":  # foreign Cadence clients may speak TChannel
            assert any(ln.startswith("frontend_tchannel: 127.0.0.1:") for ln in lines)
        time.sleep(2)  # it keeps serving (it used to crash right after printing its URL)
        assert proc.poll() is None, "\n".join(lines + [proc.stdout.read()])
        with wfkit.connect_sync(url) as client:
            assert client.sync.count() >= 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0 and "stopped" in out, out


def test_temporal_devserver_ignores_the_users_temporal_client_settings(tmp_path):
    """A TEMPORAL_API_KEY meant for a cloud namespace turned TLS on for the health probe: the server never
    became healthy. Servers and probes run with an environment of their own."""
    env = dict(os.environ, TEMPORAL_API_KEY="key-for-some-cloud-namespace", TEMPORAL_ADDRESS="nowhere.invalid:7233",
               TEMPORAL_TLS="true")
    code = ("import wfkit; s = wfkit.devserver.start('temporal');"
            "c = wfkit.connect_sync(s.url, api_key=None); print('ok', c.sync.count()); c.sync.close(); s.stop()")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("ok"), out.stdout + out.stderr
