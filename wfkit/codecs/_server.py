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

from ._payload import CodecError, Payload, as_codec

logger = logging.getLogger("wfkit.codecs")

DEFAULT_CORS_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
"""The Web UI of a local dev server (``temporal server start-dev``)."""


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
                cors_origins: Sequence[str] = DEFAULT_CORS_ORIGINS) -> CodecServer:
    """Serve ``codec`` over the codec server protocol on ``host:port`` (0: a free port) from the running loop.

    Example::

        server = await wfkit.codecs.serve(wfkit.codecs.AESGCMCodec({"k1": key}), port=8081)
        # temporal workflow show --codec-endpoint http://127.0.0.1:8081/{namespace} ...
        await server.stop()
    """
    from aiohttp import web

    inner = as_codec(codec)
    if inner is None:
        raise CodecError("serve: a codec is required")
    origins = set(cors_origins)

    def cors(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and origin in origins:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = "POST"
            resp.headers["Access-Control-Allow-Headers"] = "content-type,x-namespace,authorization"
            resp.headers["Access-Control-Allow-Credentials"] = "true"
        return resp

    def handler(op: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                doc = json.loads(await request.read())
                payloads = [Payload.from_json(p) for p in doc["payloads"]]
            except (ValueError, KeyError, TypeError, CodecError) as exc:
                return cors(request, web.json_response({"error": f"expected {{\"payloads\": [...]}}: {exc}"},
                                                       status=400))
            try:
                out = await (inner.encode(payloads) if op == "encode" else inner.decode(payloads))
            except CodecError as exc:
                return cors(request, web.json_response({"error": str(exc)}, status=400))
            return cors(request, web.json_response({"payloads": [p.to_json() for p in out]}))
        return handle

    async def preflight(request: web.Request) -> web.StreamResponse:
        return cors(request, web.Response())

    app = web.Application()
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
                cors_origins: Sequence[str] | None = None) -> int:
    """``wfkit codec-server``: serve an :class:`AESGCMCodec` from ``key_file`` until interrupted."""
    import asyncio

    from ._aesgcm import AESGCMCodec

    codec = AESGCMCodec.from_key_file(key_file)

    async def run() -> None:
        server = await serve(codec, host=host, port=port, cors_origins=cors_origins or DEFAULT_CORS_ORIGINS)
        print(f"codec server on {server.url} ({codec!r}): POST /encode, /decode, /{{namespace}}/decode", flush=True)
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
