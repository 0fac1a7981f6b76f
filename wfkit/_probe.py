"""Why a gRPC endpoint cannot be reached, in a few words: for connection errors that say which (unknown host,
refused, not gRPC, TLS mismatch) instead of only "not reachable within N s". Engine-neutral: it speaks TCP, TLS
and the first bytes of HTTP/2, never an engine's protocol."""

from __future__ import annotations

import asyncio
import socket
import ssl

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
        return await asyncio.wait_for(_tls_probe(host, port) if tls else _plain_probe(host, port), timeout)
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
