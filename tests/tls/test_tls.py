"""TLS, mutual TLS and API keys on both engines, through a real TLS front (nginx; see conftest.py): what works,
and each way it fails as one clear wfkit error within the connect timeout, with no secret in any output."""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from typing import Any

import pytest

import wfkit

from .conftest import FORBIDDEN_KEY, SNI_NAME, Front, Pki

pytestmark = pytest.mark.timeout(120)

CONNECT_TIMEOUT = 5.0


@wfkit.activity
async def shout(text: str) -> str:
    return text.upper()


@wfkit.workflow
class Shout:
    @wfkit.run
    async def run(self, text: str) -> str:
        return await wfkit.execute_activity(shout, text, start_to_close_timeout=10)


def _secret_scan(pki: Pki, texts: list[str]) -> list[str]:
    """The secrets of ``pki`` found in ``texts`` (empty when none shows)."""
    found = []
    for text in texts:
        raw = text.encode(errors="replace")
        found += [f"{s[:6]!r}… in {text[:80]!r}" for s in pki.secrets() if s and s in raw]
    return found


def _everything_shown(exc: BaseException | None, *objects: Any) -> list[str]:
    """Every text a user may see of an error and of objects: str, repr and the whole chained traceback; for a
    client, the reprs of its SDK client's attributes too, four levels deep (``client.engine_client.…``)."""
    from wfkit.testing.conformance.test_connect import _walk

    texts: list[str] = []
    if exc is not None:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        cause = exc.__cause__ or exc.__context__
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__ or cause.__context__
    for obj in objects:
        texts += [repr(obj), str(obj)]
        if isinstance(obj, wfkit.Client):
            _walk(obj.engine_client, 4, texts)
    return texts


@pytest.fixture
def scan(pki: Pki, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]):
    """Everything logged (every logger, DEBUG) or written to stdout/stderr (file descriptors: the SDKs' native
    logs too) during the test, plus what the test adds, searched for the API key and the private keys at the end."""
    caplog.set_level(logging.DEBUG)
    extra: list[str] = []
    yield extra
    out, err = capfd.readouterr()
    leaks = _secret_scan(pki, [caplog.text, out, err, *extra])
    assert not leaks, leaks


def _ok_cases(pki: Pki, front: Front) -> dict[str, tuple[str, dict[str, Any]]]:
    client_pair = {"tls_cert": str(pki.client_cert), "tls_key": str(pki.client_key)}
    return {
        "server TLS, custom CA": (front.url("tls"), {"tls_ca": str(pki.ca)}),
        "server TLS, options in the URL": (f"{front.url('tls')}?tls_ca={pki.ca}", {}),
        "SNI/server name override": (front.url("tls"), {"tls_ca": str(pki.ca), "server_name": SNI_NAME}),
        "mTLS, key file": (front.url("mtls"), {"tls_ca": str(pki.ca), **client_pair}),
        "mTLS, key as PEM text": (front.url("mtls"), {"tls_ca": str(pki.ca), "tls_cert": str(pki.client_cert),
                                                      "tls_key": pki.client_key.read_text()}),
        "API key": (front.url("apikey"), {"tls_ca": str(pki.ca), "api_key": pki.api_key}),
        "mTLS + API key + server name": (front.url("full"), {"tls_ca": str(pki.ca), "server_name": SNI_NAME,
                                                             "api_key": pki.api_key, **client_pair}),
    }


OK_CASES = ["server TLS, custom CA", "server TLS, options in the URL", "SNI/server name override", "mTLS, key file",
            "mTLS, key as PEM text", "API key", "mTLS + API key + server name"]


@pytest.mark.parametrize("case", OK_CASES)
async def test_connects(engine: str, front: Front, pki: Pki, scan: list[str], case: str) -> None:
    url, kwargs = _ok_cases(pki, front)[case]
    c = await wfkit.connect(url, connect_timeout=CONNECT_TIMEOUT, **kwargs)
    try:
        assert c.engine == engine and c.address == front.address(_variant(front, url))
        await c.namespaces()  # a real call through the front
        scan += _everything_shown(None, c, c._config)
    finally:
        await c.close()


def _variant(front: Front, url: str) -> str:
    port = int(url.split("?")[0].rsplit(":", 1)[1])
    return next(v for v, p in front.ports.items() if p == port)


def _fail_cases(pki: Pki, front: Front, plain: str) -> dict[str, tuple[str, dict[str, Any], type, str]]:
    ca = {"tls_ca": str(pki.ca)}
    return {
        "wrong CA": (front.url("tls"), {"tls_ca": str(pki.other_ca)}, wfkit.TLSError, "set tls_ca"),
        "private CA not given": (front.url("tls"), {"tls": True}, wfkit.TLSError, "set tls_ca"),
        "wrong server name": (front.url("tls"), {**ca, "server_name": "other.wfkit.test"}, wfkit.TLSError,
                              "set server_name"),
        "missing client cert": (front.url("mtls"), ca, wfkit.TLSError, "set tls_cert and tls_key"),
        "expired client cert": (front.url("mtls"), {**ca, "tls_cert": str(pki.expired_client_cert),
                                                   "tls_key": str(pki.expired_client_key)}, wfkit.TLSError,
                                "renew it"),
        "client cert of another CA": (front.url("mtls"), {**ca, "tls_cert": str(pki.foreign_client_cert),
                                                         "tls_key": str(pki.foreign_client_key)}, wfkit.TLSError,
                                      "refused the client certificate"),
        "client key not the cert's": (front.url("mtls"), {**ca, "tls_cert": str(pki.client_cert),
                                                         "tls_key": str(pki.foreign_client_key)}, wfkit.TLSError,
                                      "tls_key is not the private key of tls_cert"),
        "expired server cert": (front.url("expired"), ca, wfkit.TLSError, "certificate has expired"),
        "wrong API key": (front.url("apikey"), {**ca, "api_key": "wfk-wrong-" + pki.api_key[::-1]},
                          wfkit.AuthenticationFailed, "check api_key"),
        "missing API key": (front.url("apikey"), ca, wfkit.AuthenticationFailed, "set api_key"),
        "API key without access": (front.url("apikey"), {**ca, "api_key": FORBIDDEN_KEY}, wfkit.AuthenticationFailed,
                                   "denied access (PERMISSION_DENIED): the API key has no access"),
        "plaintext client, TLS server": (front.url("tls"), {}, wfkit.TLSError, "connect with tls=1"),
        "TLS client, plaintext server": (plain, ca, wfkit.TLSError, "connect without tls"),
    }


FAIL_CASES = ["wrong CA", "private CA not given", "wrong server name", "missing client cert", "expired client cert",
              "client cert of another CA", "client key not the cert's", "expired server cert", "wrong API key",
              "missing API key", "API key without access", "plaintext client, TLS server",
              "TLS client, plaintext server"]


@pytest.mark.parametrize("case", FAIL_CASES)
async def test_failure_is_one_clear_error(engine: str, front: Front, pki: Pki, server_for: Any, scan: list[str],
                                          case: str) -> None:
    plain = f"{engine}://{server_for(engine).address}"
    url, kwargs, kind, fix = _fail_cases(pki, front, plain)[case]
    t0 = time.monotonic()
    with pytest.raises(wfkit.ConnectionFailed) as info:
        await wfkit.connect(url, connect_timeout=CONNECT_TIMEOUT, **kwargs)
    elapsed = time.monotonic() - t0
    assert elapsed < CONNECT_TIMEOUT, f"{elapsed:.1f} s: {info.value}"
    assert type(info.value) is kind, repr(info.value)
    assert fix in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
    scan += _everything_shown(info.value)


async def test_workflow_runs_through_the_front(engine: str, front: Front, pki: Pki, scan: list[str],
                                               task_queue: str) -> None:
    """A worker and a client through mTLS + API key + server-name override: start, activity, result, history."""
    c = await wfkit.connect(front.url("full"), tls_ca=str(pki.ca), server_name=SNI_NAME, api_key=pki.api_key,
                            tls_cert=str(pki.client_cert), tls_key=pki.client_key.read_bytes(),
                            connect_timeout=CONNECT_TIMEOUT)
    try:
        async with c.worker(task_queue=task_queue, workflows=[Shout], activities=[shout]):
            h = await c.start(Shout, "through nginx", id=f"tls-{uuid.uuid4().hex[:8]}", task_queue=task_queue)
            assert await h.result(timeout=60) == "THROUGH NGINX"
        frame = (await h.history()).activities()
        assert list(frame["activity_type"]) == ["shout"]
        scan += _everything_shown(None, c, c._config, h)
    finally:
        await c.close()


def test_the_scan_finds_what_it_looks_for(pki: Pki) -> None:
    """The secrets scan is not vacuous: the key, a private key and a line of one are found."""
    key_line = pki.client_key.read_text().splitlines()[1]
    for text in (f"auth {pki.api_key}!", pki.client_key.read_text(), f"... {key_line} ..."):
        assert _secret_scan(pki, [text]), text
    assert not _secret_scan(pki, ["Secret('***')", str(pki.client_cert)])
