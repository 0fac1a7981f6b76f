"""A codec server: any payload codec behind the HTTP protocol of the Temporal Web UI and CLI (aiohttp).

Routes: ``POST /encode``, ``POST /decode`` and the same under a namespace segment (``/{namespace}/decode``,
for the CLI's ``--codec-endpoint`` templating); ``OPTIONS`` answers CORS preflights for the origins given (the
Web UI calls the codec server from the browser).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from wfkit._config import Secret

from ._payload import CodecError, Payload, as_codec

logger = logging.getLogger("wfkit.codecs")

DEFAULT_CORS_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
"""The Web UI of a local dev server (``temporal server start-dev``)."""
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""The largest request body :func:`serve` accepts by default (aiohttp's own default is 1 MiB)."""


def _loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class CodecServer:
    """A running codec server (from :func:`serve`): ``url``, and ``await stop()`` (or ``async with``)."""

    def __init__(self, runner: Any, url: str):
        self._runner = runner
        self.url = url

    def __repr__(self) -> str:
        return f"<CodecServer {self.url}>"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> CodecServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve(codec: Any, *, host: str = "127.0.0.1", port: int = 0,
                cors_origins: Sequence[str] = DEFAULT_CORS_ORIGINS, token: str | Secret | None = None,
                max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> CodecServer:
    """Serve ``codec`` over the codec server protocol on ``host:port`` (0: a free port) from the running loop.

    Args:
        token: when given, every request must carry ``Authorization: Bearer <token>`` (else HTTP 401); without
            one, anyone who reaches the address can decrypt, so binding a non-loopback ``host`` without a token
            logs a warning.
        max_request_bytes: the largest request body accepted (HTTP 413 above it; :class:`RemoteCodec` splits
            its requests into batches well below the default).

    Example::

        server = await wfkit.codecs.serve(wfkit.codecs.AESGCMCodec({"k1": key}), port=8081)
        # temporal workflow show --codec-endpoint http://127.0.0.1:8081/{namespace} ...
        await server.stop()
    """
    import hmac

    from aiohttp import web

    inner = as_codec(codec)
    if inner is None:
        raise CodecError("serve: a codec is required")
    if max_request_bytes < 1:
        raise CodecError(f"serve: max_request_bytes must be >= 1, got {max_request_bytes}")
    secret = token.text() if isinstance(token, Secret) else token
    if secret is not None and not secret:
        raise CodecError("serve: the token is empty")
    if secret is None and not _loopback(host):
        logger.warning("codec server on %s without a token: anyone who reaches it can decrypt payloads "
                       "(give serve(token=...), or wfkit codec-server --auth-token-env VAR)", host)
    expected = f"Bearer {secret}".encode() if secret is not None else None
    origins = set(cors_origins)

    def cors(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and origin in origins:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = "POST"
            resp.headers["Access-Control-Allow-Headers"] = "content-type,x-namespace,authorization"
            if expected is not None:
                resp.headers["Access-Control-Allow-Credentials"] = "true"
        return resp

    def authorized(request: web.Request) -> bool:
        if expected is None:
            return True
        given = request.headers.get("Authorization", "").encode()
        return hmac.compare_digest(given, expected)

    def handler(op: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not authorized(request):
                return cors(request, web.json_response(
                    {"error": "this codec server needs Authorization: Bearer <token>"}, status=401,
                    headers={"WWW-Authenticate": "Bearer"}))
            try:
                doc = json.loads(await request.read())
                payloads = [Payload.from_json(p) for p in doc["payloads"]]
            except (ValueError, KeyError, TypeError, CodecError) as exc:
                return cors(request, web.json_response({"error": f"expected {{\"payloads\": [...]}}: {exc}"},
                                                       status=400))
            try:
                out = await (inner.encode(payloads) if op == "encode" else inner.decode(payloads))
            except Exception as exc:  # noqa: BLE001 - whatever the codec raised: these payloads, not the server
                reason = str(exc) if isinstance(exc, CodecError) else f"{type(exc).__name__}: {exc}"
                logger.debug("codec server: %s of %d payloads refused: %s", op, len(payloads), reason)
                return cors(request, web.json_response({"error": reason}, status=400))
            return cors(request, web.json_response({"payloads": [p.to_json() for p in out]}))
        return handle

    async def preflight(request: web.Request) -> web.StreamResponse:
        return cors(request, web.Response())

    app = web.Application(client_max_size=max_request_bytes)
    for prefix in ("", "/{namespace}"):
        for op in ("encode", "decode"):
            app.router.add_post(f"{prefix}/{op}", handler(op))
            app.router.add_route("OPTIONS", f"{prefix}/{op}", preflight)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return CodecServer(runner, f"http://{host}:{bound}")


def run_forever(*, key_file: str, host: str = "127.0.0.1", port: int = 8081,
                cors_origins: Sequence[str] | None = None, token_env: str | None = None,
                max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> int:
    """``wfkit codec-server``: serve an :class:`AESGCMCodec` from ``key_file`` until interrupted (with
    ``token_env``, requests must carry ``Authorization: Bearer <the value of that environment variable>``)."""
    import asyncio
    import os

    from ._aesgcm import AESGCMCodec

    token = None
    if token_env is not None:
        value = os.environ.get(token_env)
        if not value:
            raise CodecError(f"codec-server: the environment variable {token_env} (the auth token) is not set")
        token = Secret(value)
    codec = AESGCMCodec.from_key_file(key_file)

    async def run() -> None:
        server = await serve(codec, host=host, port=port, cors_origins=cors_origins or DEFAULT_CORS_ORIGINS,
                             token=token, max_request_bytes=max_request_bytes)
        auth = "bearer token required" if token is not None else "no authentication"
        print(f"codec server on {server.url} ({codec!r}, {auth}): POST /encode, /decode, /{{namespace}}/decode",
              flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


__all__ = ["CodecServer", "run_forever", "serve"]
