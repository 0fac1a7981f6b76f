"""A codec that is a remote codec server: the HTTP protocol the Temporal Web UI and CLI speak.

``POST {endpoint}/encode`` and ``POST {endpoint}/decode`` with ``{"payloads": [...]}`` in proto-JSON form (base64
data and metadata values); the answer has the same shape. ``{namespace}`` in the endpoint is replaced by the
namespace (the CLI's ``--codec-endpoint`` templating), and the namespace is sent as ``X-Namespace`` (what the
Web UI sends).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from wfkit._config import Secret

from ._payload import CodecError, CodecUnavailable, Payload, PayloadCodec


class RemoteCodec(PayloadCodec):
    """Encodes and decodes through a codec server (the team's existing one, or :func:`wfkit.codecs.serve`).

    Args:
        endpoint: the server's base URL, e.g. ``https://codec.example.com`` or ``http://127.0.0.1:8081/{namespace}``.
        namespace: sent as ``X-Namespace`` and put in place of ``{namespace}`` in the endpoint (default: the
            namespace of the connection the codec is set on, else ``default``).
        headers: extra HTTP headers (e.g. ``{"Authorization": "Bearer …"}``; values are never shown).
        timeout: seconds before a request counts as failed (the server being down never hangs a notebook).
    """

    def __init__(self, endpoint: str, *, namespace: str | None = None,
                 headers: Mapping[str, str | Secret] | None = None, timeout: float = 10.0):
        if not endpoint.startswith(("http://", "https://")):
            raise CodecError(f"codec server endpoint must be an http:// or https:// URL, not {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.namespace = namespace
        self._headers = {k: v if isinstance(v, Secret) else Secret(v) for k, v in (headers or {}).items()}
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RemoteCodec({self.endpoint!r}, namespace={self.namespace!r})"

    def for_namespace(self, namespace: str) -> RemoteCodec:
        """This codec for ``namespace`` when it names none itself."""
        if self.namespace is not None:
            return self
        out = RemoteCodec(self.endpoint, namespace=namespace, timeout=self.timeout)
        out._headers = self._headers
        return out

    def url(self, op: str) -> str:
        ns = self.namespace or "default"
        return f"{self.endpoint.replace('{namespace}', ns)}/{op}"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._post("encode", payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._post("decode", payloads)

    async def _post(self, op: str, payloads: Sequence[Payload]) -> list[Payload]:
        import aiohttp

        if not payloads:
            return []
        url = self.url(op)
        headers = {"Content-Type": "application/json", "X-Namespace": self.namespace or "default"}
        headers.update({k: v.text() for k, v in self._headers.items()})
        body = json.dumps({"payloads": [p.to_json() for p in payloads]})
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session, \
                    session.post(url, data=body, headers=headers) as resp:
                text = await resp.text()
                status = resp.status
        except TimeoutError:
            raise CodecUnavailable(f"codec server {url} did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise CodecUnavailable(f"codec server {url} cannot be reached: {type(exc).__name__}: "
                                   f"{_no_secrets(str(exc), self._headers)}") from None
        if status != 200:
            raise CodecUnavailable(f"codec server {url} answered HTTP {status}: {_short(text)}")
        try:
            doc: Any = json.loads(text)
            out = [Payload.from_json(p) for p in doc["payloads"]]
        except (ValueError, KeyError, TypeError, CodecError) as exc:
            raise CodecError(f"codec server {url} answered something that is not {{\"payloads\": [...]}}: "
                             f"{exc}") from None
        return out


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _no_secrets(text: str, headers: Mapping[str, Secret]) -> str:
    for v in headers.values():
        s = v.text()
        if s:
            text = text.replace(s, "***")
    return text
