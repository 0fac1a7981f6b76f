"""Why a gRPC endpoint cannot be reached, in a few words: for connection errors that say which (unknown host,
refused, not gRPC, TLS mismatch) instead of only "not reachable within N s". Engine-neutral: it speaks TCP, TLS
and the first bytes of HTTP/2, never an engine's protocol."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import ssl
import tempfile
from typing import TYPE_CHECKING

from ._config import _shown_path, tls_material

if TYPE_CHECKING:
    from ._config import ConnectConfig
    from ._errors import ConnectionFailed

_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + an empty SETTINGS


async def probe_endpoint(host: str, port: int, *, tls: bool, timeout: float = 2.0) -> str | None:
    """The reason ``host:port`` cannot serve gRPC (``"connection refused"``, ``"host not found"``, ``"not a gRPC
    server: it answers HTTP/1"``, ``"TLS mismatch: …"``), or None when it looks like one (or did not answer in
    ``timeout`` seconds, which says nothing certain)."""
    try:
        await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except socket.gaierror:
        return f"host not found ({host!r} does not resolve)"
    except (TimeoutError, OSError):
        return None
    try:
        if tls:
            return await asyncio.wait_for(_tls_probe(host, port), timeout)
        reason = await asyncio.wait_for(_plain_probe(host, port), timeout)
        if reason is not None and reason.startswith("not a gRPC server"):
            # a TLS port answers plaintext with an HTTP/1 error page (nginx) or a reset: does it speak TLS?
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                if await asyncio.wait_for(_tls_probe(host, port), timeout) is None:
                    return ("TLS mismatch: the server speaks TLS (connect with tls=1, and tls_ca= if its CA is not "
                            "a public one)")
        return reason
    except ConnectionRefusedError:
        return "connection refused (nothing listens on that port)"
    except TimeoutError:
        return None
    except OSError as exc:
        return f"cannot connect ({exc.strerror or type(exc).__name__})"


async def _plain_probe(host: str, port: int) -> str | None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_H2_PREFACE)
        await writer.drain()
        try:
            data = await reader.read(64)
        except ConnectionResetError:
            return "not a gRPC server (it reset the connection at the HTTP/2 preface)"
    finally:
        writer.close()
    if data.startswith(b"HTTP/") or b"<html" in data.lower() or b"<!doctype" in data.lower():
        return "not a gRPC server: it answers HTTP/1 (a web server?)"
    if data[:1] in (b"\x15", b"\x16"):
        return "TLS mismatch: the server speaks TLS (connect with tls=1)"
    if len(data) >= 9 and data[3] == 0x04:
        return None  # an HTTP/2 SETTINGS frame: it speaks gRPC's transport
    if not data:
        return "not a gRPC server (it closed the connection at the HTTP/2 preface)"
    return "not a gRPC server (it answered something other than HTTP/2)"


async def _tls_probe(host: str, port: int) -> str | None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only the protocol is probed here; the real channel verifies
    ctx.set_alpn_protocols(["h2"])
    try:
        _, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
    except ssl.SSLError as exc:
        text = f"{exc.reason or exc}".lower()
        if "wrong_version" in text or "record" in text or "packet_length" in text or "http_request" in text:
            return "TLS mismatch: the server does not speak TLS (connect without tls)"
        return f"TLS handshake failed ({exc.reason or exc})"
    except (ConnectionResetError, asyncio.IncompleteReadError):
        return "TLS mismatch: the server closed the connection during the TLS handshake (does it speak TLS?)"
    writer.close()
    return None


def probe_failure(where: str, reason: str) -> ConnectionFailed:
    """``ConnectionFailed`` for a reason :func:`probe_endpoint` gave (``TLSError`` for a TLS mismatch)."""
    from ._errors import ConnectionFailed, TLSError

    kind = TLSError if reason.startswith("TLS") else ConnectionFailed
    return kind(f"could not connect to {where}: {reason}")


# OpenSSL's verify codes and what to do about each (the server's certificate)
_UNTRUSTED = {2, 18, 19, 20, 21, 24, 27, 28}
_EXPIRED, _NOT_YET_VALID, _HOSTNAME = 10, 9, 62


async def check_tls(cfg: ConnectConfig, *, where: str, timeout: float) -> None:
    """Set up TLS with ``cfg``'s server as its gRPC channel would (the CA, the client certificate and key, the
    server name), and raise ``TLSError`` naming the setting to fix when that fails: an untrusted, expired or
    misnamed server certificate, a client certificate the server wants or refuses, a server that does not speak
    TLS. Returns quietly when the handshake works (or the server did not answer within ``timeout``, which the
    channel will report); errors never hold a key."""
    ca, cert, key = tls_material(cfg)
    if cert is not None and key is None or key is not None and cert is None:
        missing = "tls_key" if key is None else "tls_cert"
        raise _tls_error(where, f"a client certificate needs both tls_cert and tls_key ({missing} is not set)")
    _check_not_expired(cfg, cert, where)
    ctx = ssl.create_default_context(cadata=ca.decode("ascii", "replace") if ca is not None else None)
    if ca is None:  # the SDKs bring CA bundles of their own: trust certifi's as well as the system's, when present
        with contextlib.suppress(ImportError, OSError, ssl.SSLError):
            import certifi

            ctx.load_verify_locations(certifi.where())
    ctx.set_alpn_protocols(["h2"])
    if cert is not None and key is not None:
        _load_client_pair(ctx, cert, key, where)
    name = cfg.server_name or cfg.host
    port = cfg.port or 0
    fix_ca = (f"the CA in tls_ca {_shown_path(cfg.tls_ca)} did not sign it: set tls_ca to the CA that did"
              if cfg.tls_ca else
              "set tls_ca to the CA certificate that signed it (a private CA is not in the system's trust store)")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(cfg.host, port, ssl=ctx, server_hostname=name), timeout)
    except ssl.SSLCertVerificationError as exc:
        code, text = exc.verify_code, exc.verify_message or exc.reason or "verification failed"
        if code in _UNTRUSTED:
            raise _tls_error(where, f"the server's certificate is not trusted ({text}): {fix_ca}") from None
        if code == _EXPIRED:
            raise _tls_error(where, "the server's certificate has expired: the server must present a renewed "
                                    "certificate (wfkit never skips verification)") from None
        if code == _NOT_YET_VALID:
            raise _tls_error(where, "the server's certificate is not valid yet (check this machine's clock)") from None
        if code == _HOSTNAME:
            raise _tls_error(where, f"the server's certificate is not valid for the name {name!r}: set server_name "
                                    "to a name the certificate holds (it is also sent as SNI)") from None
        raise _tls_error(where, f"the server's certificate was refused ({text}): {fix_ca}") from None
    except ssl.SSLError as exc:
        raise _handshake_error(where, exc, cert is not None) from None
    except (ConnectionResetError, asyncio.IncompleteReadError):
        raise _tls_error(where, "TLS mismatch: the server closed the connection during the TLS handshake (does it "
                                "speak TLS? connect without tls)") from None
    except (TimeoutError, OSError):
        return  # unreachable or slow: the channel's own connect says what
    try:  # TLS 1.3 servers refuse a client certificate (or its absence) after the handshake: read their answer
        writer.write(_H2_PREFACE)
        await writer.drain()
        await asyncio.wait_for(reader.read(64), min(timeout, 1.0))
    except ssl.SSLError as exc:
        raise _handshake_error(where, exc, cert is not None) from None
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def _handshake_error(where: str, exc: ssl.SSLError, sent_cert: bool) -> ConnectionFailed:
    text = f"{exc.reason or exc}".lower()
    if "wrong_version" in text or "record" in text or "packet_length" in text or "http_request" in text:
        return _tls_error(where, "TLS mismatch: the server does not speak TLS (connect without tls)")
    if "certificate_required" in text or "certificate required" in text or (
            not sent_cert and "handshake_failure" in text):
        return _tls_error(where, "the server requires a client certificate: set tls_cert and tls_key")
    if sent_cert and ("certificate" in text or "unknown_ca" in text or "alert" in text):
        return _tls_error(where, f"the server refused the client certificate ({exc.reason or 'TLS alert'}): it may "
                                 "have expired or not be signed by a CA the server trusts: check tls_cert and tls_key")
    return _tls_error(where, f"TLS handshake failed ({exc.reason or type(exc).__name__})")


def _load_client_pair(ctx: ssl.SSLContext, cert: bytes, key: bytes, where: str) -> None:
    """Load a client certificate and key given as bytes (``ssl`` reads only files: a private temporary folder,
    removed at once)."""
    with tempfile.TemporaryDirectory(prefix="wfkit-tls-") as folder:
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            mismatch = "mismatch" in f"{exc.reason or exc}".lower()
            raise _tls_error(where, ("tls_key is not the private key of tls_cert" if mismatch else
                                    "tls_cert/tls_key could not be loaded (the key is not shown)")) from None


def _check_not_expired(cfg: ConnectConfig, cert: bytes | None, where: str) -> None:
    """The client certificate's validity dates, checked here when ``cryptography`` is installed (a server
    behind a TLS proxy often says only "bad request")."""
    if cert is None:
        return
    try:
        from cryptography import x509
    except ImportError:
        return
    import datetime

    with contextlib.suppress(ValueError):
        first = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", cert, re.DOTALL)
        parsed = x509.load_pem_x509_certificate(first.group(0) if first else cert)
        now = datetime.datetime.now(datetime.UTC)
        if parsed.not_valid_after_utc < now:
            raise _tls_error(where, f"the client certificate tls_cert {_shown_path(cfg.tls_cert)} expired on "
                                    f"{parsed.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: renew it")
        if parsed.not_valid_before_utc > now:
            raise _tls_error(where, f"the client certificate tls_cert {_shown_path(cfg.tls_cert)} is not valid before "
                                    f"{parsed.not_valid_before_utc:%Y-%m-%d %H:%M} UTC (check this machine's clock)")


_HTTP_STATUS = re.compile(r"(?:status:? |status code:? )(\d{3})\b", re.IGNORECASE)


def rejection(cfg: ConnectConfig, where: str, text: str, *, code: str | None = None) -> ConnectionFailed | None:
    """The wfkit error for a request the server or a proxy in front of it refused, from the engine SDK's error
    ``text`` and gRPC status ``code`` name (``UNAUTHENTICATED``, ``PERMISSION_DENIED``): ``AuthenticationFailed``
    for credentials, ``TLSError`` for a TLS front that refused the client certificate (HTTP 400 after the
    handshake, as nginx answers); None when it is neither."""
    from ._errors import AuthenticationFailed

    m = _HTTP_STATUS.search(text)
    status = int(m.group(1)) if m else None
    code = (code or "").upper().replace("_", "")
    if status == 401 or code == "UNAUTHENTICATED":
        if cfg.api_key is None:
            return AuthenticationFailed(f"{where} wants credentials (UNAUTHENTICATED): set api_key= (or the "
                                        "API key environment variable)")
        return AuthenticationFailed(f"{where} refused the API key (UNAUTHENTICATED; the key is not shown): check "
                                    "api_key")
    if status == 403 or code == "PERMISSIONDENIED":
        what = "the API key" if cfg.api_key is not None else "the client certificate" if cfg.tls_cert else "this client"
        return AuthenticationFailed(f"{where} denied access (PERMISSION_DENIED): {what} has no access to "
                                    f"{cfg.namespace!r}")
    if status in (400, 495, 496) and cfg.tls:
        if cfg.tls_cert is None:
            return _tls_error(where, f"its TLS front refused the request (HTTP {status}): it requires a client "
                                     "certificate: set tls_cert and tls_key")
        return _tls_error(where, f"its TLS front refused the client certificate tls_cert "
                                 f"{_shown_path(cfg.tls_cert)} (HTTP {status}): it may have expired or not be signed "
                                 "by a CA the server trusts")
    return None


def _tls_error(where: str, text: str) -> ConnectionFailed:
    from ._errors import TLSError

    return TLSError(f"could not connect to {where}: {text}")
