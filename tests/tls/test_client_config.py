"""Temporal's own client configuration (``temporal.toml`` profiles and ``TEMPORAL_*`` variables, read by
temporalio's ``envconfig``) and wfkit's ``CADENCE_*`` variables, connecting through the TLS front with
certificates and API keys; explicit arguments win, environment variables win over the file."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import wfkit

from .conftest import SNI_NAME, Front, Pki
from .test_tls import _everything_shown, _secret_scan

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: no TEMPORAL_*, CADENCE_* or WFKIT_* variable of the user's, and a profiles file in a
    temporary folder (never the user's own)."""
    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "CADENCE_", "WFKIT_")) or name == "WORKFLOW_ENGINE_TYPE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))
    return monkeypatch


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toml(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string


@pytest.fixture
def profiles(env: pytest.MonkeyPatch, tmp_path: Path, pki: Pki, front_for: Callable[[str], Front]) -> Path:
    """A temporal.toml with profiles for the Temporal front's ``full`` variant (mTLS + API key + server name)."""
    front = front_for("temporal")
    full = f"127.0.0.1:{front.ports['full']}"
    tls_paths = (f"server_name = {_toml(SNI_NAME)}\nserver_ca_cert_path = {_toml(str(pki.ca))}\n"
                 f"client_cert_path = {_toml(str(pki.client_cert))}\nclient_key_path = {_toml(str(pki.client_key))}\n")
    tls_data = (f"server_name = {_toml(SNI_NAME)}\nserver_ca_cert_data = {_toml(pki.ca.read_text())}\n"
                f"client_cert_data = {_toml(pki.client_cert.read_text())}\n"
                f"client_key_data = {_toml(pki.client_key.read_text())}\n")
    text = f"""
[profile.default]
address = "127.0.0.1:{_dead_port()}"

[profile.prod]
address = "{full}"
namespace = "default"
api_key = {_toml(pki.api_key)}
[profile.prod.tls]
{tls_paths}
[profile.inline]
address = "{full}"
api_key = {_toml(pki.api_key)}
[profile.inline.tls]
{tls_data}
[profile.headers]
address = "127.0.0.1:{front.ports['apikey']}"
[profile.headers.tls]
server_ca_cert_path = {_toml(str(pki.ca))}
[profile.headers.grpc_meta]
authorization = {_toml("Bearer " + pki.api_key)}

[profile.elsewhere]
address = "127.0.0.1:{_dead_port()}"
namespace = "no-such-namespace"
api_key = {_toml(pki.api_key)}
[profile.elsewhere.tls]
{tls_paths}
"""
    path = tmp_path / "temporal.toml"
    path.write_text(text)
    env.setenv("TEMPORAL_CONFIG_FILE", str(path))
    return path


@pytest.fixture
def scan(pki: Pki, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    caplog.set_level("DEBUG")
    extra: list[str] = []
    yield extra
    out, err = capfd.readouterr()
    leaks = _secret_scan(pki, [caplog.text, out, err, *extra])
    assert not leaks, leaks


async def _connected(url: str | None, front: Front, scan: list[str], **kwargs: object) -> None:
    c = await wfkit.connect(url, connect_timeout=5, **kwargs)  # type: ignore[arg-type]
    try:
        assert c.address == front.address("full"), c.address
        await c.namespaces()
        scan += _everything_shown(None, c, c._config)
    finally:
        await c.close()


@pytest.mark.parametrize("profile", ["prod", "inline"])
async def test_a_temporal_toml_profile_connects(profiles: Path, front_for: Callable[[str], Front], scan: list[str],
                                                profile: str) -> None:
    """Address, namespace, API key, CA, client certificate and key, server name: all from the profile (paths, or
    the PEM data inline)."""
    await _connected("temporal://", front_for("temporal"), scan, profile=profile)


async def test_a_profiles_grpc_headers_are_sent(profiles: Path, front_for: Callable[[str], Front],
                                               scan: list[str]) -> None:
    """``grpc_meta`` (here the API key's header itself, which the front checks) goes with every call, unshown."""
    front = front_for("temporal")
    c = await wfkit.connect("temporal://", profile="headers", connect_timeout=5)
    try:
        assert c.address == front.address("apikey")
        await c.namespaces()
        scan += _everything_shown(None, c, c._config)
    finally:
        await c.close()


async def test_temporal_profile_and_variables_from_the_environment(
        profiles: Path, env: pytest.MonkeyPatch, front_for: Callable[[str], Front], scan: list[str]) -> None:
    """TEMPORAL_PROFILE picks the profile for ``temporal://``; TEMPORAL_* variables win over the file."""
    env.setenv("TEMPORAL_PROFILE", "elsewhere")
    env.setenv("TEMPORAL_ADDRESS", front_for("temporal").address("full"))
    env.setenv("TEMPORAL_NAMESPACE", "default")
    await _connected("temporal://", front_for("temporal"), scan)


async def test_temporal_variables_alone(env: pytest.MonkeyPatch, pki: Pki, front_for: Callable[[str], Front],
                                        scan: list[str]) -> None:
    """No profiles file: the TEMPORAL_* variables the CLI reads are enough."""
    for name, value in {"TEMPORAL_ADDRESS": front_for("temporal").address("full"), "TEMPORAL_NAMESPACE": "default",
                        "TEMPORAL_API_KEY": pki.api_key, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca),
                        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
                        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pki.client_key),
                        "TEMPORAL_TLS_SERVER_NAME": SNI_NAME}.items():
        env.setenv(name, value)
    await _connected("temporal://", front_for("temporal"), scan)


async def test_explicit_arguments_win_over_the_profile(profiles: Path, front_for: Callable[[str], Front],
                                                       scan: list[str]) -> None:
    """The profile ``elsewhere`` names a dead address and an unknown namespace; the URL and keywords win, its TLS
    settings and API key still apply."""
    front = front_for("temporal")
    await _connected(front.url("full"), front, scan, profile="elsewhere", namespace="default")


async def test_a_url_that_names_its_server_ignores_the_default_profile(
        profiles: Path, env: pytest.MonkeyPatch, server_for: Callable[[str], object]) -> None:
    """The default profile (a dead address) and TEMPORAL_* TLS variables do not touch a URL with a host."""
    env.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "/nonexistent/ca.pem")
    address = server_for("temporal").address  # type: ignore[attr-defined]
    c = await wfkit.connect(f"temporal://{address}", connect_timeout=5)
    assert c.address == address
    await c.close()


async def test_dev_servers_ignore_the_client_configuration(profiles: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("TEMPORAL_PROFILE", "elsewhere")
    env.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{_dead_port()}")
    env.setenv("TEMPORAL_TLS", "true")
    c = await wfkit.connect("temporal+dev://", connect_timeout=20)
    try:
        assert c.namespace == "default"
        await c.namespaces()
    finally:
        await c.close()


async def test_bad_profiles_say_which(profiles: Path, env: pytest.MonkeyPatch, pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(wfkit.WfkitError, match="profile 'nope'.*not found") as info:
        await wfkit.connect("temporal://", profile="nope")
    assert str(profiles) in str(info.value)
    broken = tmp_path / "broken.toml"  # an unterminated string holding the key: the message must not quote it
    broken.write_text(f'[profile.default]\napi_key = "{pki.api_key}\n')
    env.setenv("TEMPORAL_CONFIG_FILE", str(broken))
    with pytest.raises(wfkit.WfkitError, match="TOML parse error") as info:
        await wfkit.connect("temporal://")
    assert not _secret_scan(pki, _everything_shown(info.value))
    with pytest.raises(wfkit.WfkitError, match="embedded server"):
        await wfkit.connect("temporal+dev://", profile="prod")
    with pytest.raises(wfkit.UnsupportedFeature, match="cadence does not support client_profiles"):
        await wfkit.connect("cadence://", profile="prod")


async def test_magic_connect_with_a_profile(profiles: Path, front_for: Callable[[str], Front], scan: list[str]) -> None:
    """``%wf connect --profile NAME`` (the engine with profiles when no URL is given) and with a URL."""
    from IPython.core.interactiveshell import InteractiveShell

    from wfkit.notebook import connections

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext wfkit", store_history=False)
    try:
        for line, name in (("--profile prod --as tls-prod", "tls-prod"),
                           ("temporal:// --profile inline --as tls-inline", "tls-inline")):
            result = shell.run_line_magic("wf", f"connect {line}")
            assert result is connections.get(name)
            assert result.address == front_for("temporal").address("full")
            scan += _everything_shown(None, result)
    finally:
        for name in ("tls-prod", "tls-inline"):
            if name in [c.name for c in connections.list()]:
                connections.close(name)


async def test_cadence_variables(env: pytest.MonkeyPatch, pki: Pki, front_for: Callable[[str], Front],
                                 scan: list[str]) -> None:
    """wfkit's CADENCE_* variables, named after Temporal's, for ``cadence://``."""
    front = front_for("cadence")
    for name, value in {"CADENCE_ADDRESS": front.address("full"), "CADENCE_DOMAIN": "default",
                        "CADENCE_API_KEY": pki.api_key, "CADENCE_TLS_SERVER_CA_CERT_PATH": str(pki.ca),
                        "CADENCE_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
                        "CADENCE_TLS_CLIENT_KEY_PATH": str(pki.client_key),
                        "CADENCE_TLS_SERVER_NAME": SNI_NAME}.items():
        env.setenv(name, value)
    await _connected("cadence://", front, scan)
    env.setenv("CADENCE_TLS", "maybe")
    with pytest.raises(wfkit.WfkitError, match="CADENCE_TLS='maybe'"):
        await wfkit.connect("cadence://")
