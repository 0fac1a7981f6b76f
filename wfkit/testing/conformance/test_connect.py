"""Connecting: URLs, environment, failures within the connect timeout, secrets never shown."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

import wfkit
from wfkit._engines import available, get_engine

SECRET = "sk-wfkit-TOPSECRET-0123456789"


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_dead_port_fails_fast(engine):
    port = _dead_port()
    t0 = time.monotonic()
    with pytest.raises(wfkit.ConnectionFailed) as info:
        await wfkit.connect(f"{engine}://127.0.0.1:{port}", connect_timeout=3, api_key=SECRET)
    assert time.monotonic() - t0 < 6
    assert str(port) in str(info.value) and SECRET not in str(info.value)


@pytest.fixture
def http_server():
    """A plain HTTP/1 server on loopback: what a wrong port often is."""
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("case", ["refused", "http", "dns", "tls_to_plaintext", "bad_pem_key"])
async def test_connection_errors_say_which(engine, server_for, http_server, case):
    """Each way of not reaching a server fails well before the timeout, naming what is wrong."""
    timeout = 8
    kwargs: dict[str, Any]
    if case in ("refused", "http", "dns") and wfkit.Capability.IN_PROCESS in get_engine(engine).capabilities:
        pytest.skip(f"{engine} runs in-process: there is no network endpoint to fail on")
    if case == "refused":
        url, kwargs, expect = f"{engine}://127.0.0.1:{_dead_port()}", {}, "refused"
    elif case == "http":
        url, kwargs, expect = f"{engine}://127.0.0.1:{http_server}", {}, "not a grpc server"
    elif case == "dns":
        url, kwargs, expect = f"{engine}://no-such-host.invalid:7000", {}, "not found"
    elif case == "tls_to_plaintext":
        url, kwargs, expect = server_for(engine).url, {"tls": True}, "tls"
    else:
        bad_key = "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n"
        url, kwargs, expect = server_for(engine).url, {"tls_key": bad_key}, "not a pem private key"
    t0 = time.monotonic()
    with pytest.raises(wfkit.ConnectionFailed) as info:
        await wfkit.connect(url, connect_timeout=timeout, api_key=SECRET, **kwargs)
    assert time.monotonic() - t0 < timeout / 2, info.value
    assert expect in str(info.value).lower(), info.value
    assert SECRET not in str(info.value)


async def test_silent_host_fails_within_timeout(engine):
    # A host that accepts TCP but never answers: what an unreachable server looks like to a client.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(wfkit.ConnectionFailed):
            await wfkit.connect(f"{engine}://127.0.0.1:{port}", connect_timeout=2)
        assert time.monotonic() - t0 < 5


async def test_unknown_namespace_fails(engine, server_for):
    server = server_for(engine)
    key = get_engine(engine).namespace_term
    with pytest.raises(wfkit.ConnectionFailed) as info:
        await wfkit.connect(f"{engine}://{server.address}?{key}=no-such-ns-{engine}", connect_timeout=5)
    assert f"no-such-ns-{engine}" in str(info.value)


async def test_client_identity(client, server_for):
    server = server_for(client.engine)
    assert client.engine in available()
    assert client.address == server.address
    assert client.namespace == "default"
    assert "query" in client.capabilities
    assert repr(client) == f"<wfkit.Client {client.engine} {server.address} namespace='default'>"


async def test_secret_never_shown(engine, server_for, caplog):
    server = server_for(engine)
    caplog.set_level(logging.DEBUG)
    c = await wfkit.connect(server.url, api_key=SECRET, connect_timeout=10)
    try:
        assert SECRET not in repr(c) and SECRET not in str(c) and SECRET not in c.url
        assert SECRET not in repr(c._config) and SECRET not in repr(c._config.api_key)
        # the SDK's own objects, as wfkit hands them out, show no secret at any depth
        seen: list[str] = []
        _walk(c.engine_client, 3, seen)
        assert seen and not [s for s in seen if SECRET in s]
        with pytest.raises(wfkit.WorkflowNotFound) as info:
            await c.handle("no-such-workflow").describe()
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    finally:
        await c.close()
    assert SECRET not in caplog.text


def _walk(obj, depth, seen):
    seen.append(repr(obj))
    seen.append(str(obj))
    if depth == 0:
        return
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001 - a property that cannot be read here shows nothing
            continue
        if callable(value) or isinstance(value, (int, float, bool)) or value is None:
            continue
        _walk(value, depth - 1, seen)


async def test_connect_from_env(engine, server_for, monkeypatch):
    server = server_for(engine)
    monkeypatch.delenv("WFKIT_URL", raising=False)
    monkeypatch.setenv("WORKFLOW_ENGINE_TYPE", engine)
    monkeypatch.setenv(f"{engine.upper()}_SERVER_URL", server.address)
    monkeypatch.setenv(f"{engine.upper()}_NAMESPACE", "default")
    c = await wfkit.connect()
    assert c.engine == engine and c.address == server.address
    await c.close()
