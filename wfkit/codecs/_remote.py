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

from wfkit._config import Secret, redact_url

from ._payload import CodecError, CodecUnavailable, Payload, PayloadCodec


class RemoteCodec(PayloadCodec):
    """Encodes and decodes through a codec server (the team's existing one, or :func:`wfkit.codecs.serve`).

    Args:
        endpoint: the server's base URL, e.g. ``https://codec.example.com`` or ``http://127.0.0.1:8081/{namespace}``.
        namespace: sent as ``X-Namespace`` and put in place of ``{namespace}`` in the endpoint (default: the
            namespace of the connection the codec is set on, else ``default``).
        headers: extra HTTP headers (e.g. ``{"Authorization": "Bearer …"}``; values are never shown).
        timeout: seconds before a request counts as failed (the server being down never hangs a notebook).
        batch_bytes, batch_size: a request holds at most ``batch_size`` payloads and about ``batch_bytes`` of
            JSON; more payloads go in several requests, in order (servers limit request bodies: aiohttp to 1 MiB).

    The endpoint may carry credentials (``https://user:pw@…``, ``?token=…``): they are sent, and shown as ``***``
    in the repr, ``endpoint`` and every error. An HTTP 4xx answer about the payloads is a ``CodecError`` (a
    history reader then halves the events until the refused ones stand alone); no answer, a 5xx, 413, or one
    about the server or its credentials is a ``CodecUnavailable``.
    """

    def __init__(self, endpoint: str, *, namespace: str | None = None,
                 headers: Mapping[str, str | Secret] | None = None, timeout: float = 10.0,
                 batch_bytes: int = 512 * 1024, batch_size: int = 1000):
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise CodecError(f"codec server endpoint must be an http:// or https:// URL, not {redact_url(endpoint)}")
        if batch_bytes < 1 or batch_size < 1:
            raise CodecError("RemoteCodec: batch_bytes and batch_size must be >= 1")
        self._endpoint = Secret(endpoint.rstrip("/"))
        self.endpoint = redact_url(self._endpoint.text())
        """The endpoint as it may be shown (credentials and option values replaced by ``***``)."""
        self.namespace = namespace
        self._headers = {k: v if isinstance(v, Secret) else Secret(v) for k, v in (headers or {}).items()}
        self.timeout = timeout
        self.batch_bytes = batch_bytes
        self.batch_size = batch_size
        self._url_secrets = _url_secrets(self._endpoint.text())

    def __repr__(self) -> str:
        return f"RemoteCodec({self.endpoint!r}, namespace={self.namespace!r})"

    def for_namespace(self, namespace: str) -> RemoteCodec:
        """This codec for ``namespace`` when it names none itself."""
        if self.namespace is not None:
            return self
        out = RemoteCodec(self._endpoint.text(), namespace=namespace, timeout=self.timeout,
                          batch_bytes=self.batch_bytes, batch_size=self.batch_size)
        out._headers = self._headers
        return out

    def url(self, op: str) -> str:
        """The URL of ``op`` (``encode`` or ``decode``): ``/{op}`` added to the endpoint's path, its query kept."""
        return _op_url(self._endpoint.text(), self.namespace or "default", op)

    def shown_url(self, op: str) -> str:
        """:meth:`url` as it may be shown."""
        return redact_url(self.url(op))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._post("encode", payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._post("decode", payloads)

    async def _post(self, op: str, payloads: Sequence[Payload]) -> list[Payload]:
        import aiohttp

        if not payloads:
            return []
        url = self.url(op)
        shown = self.shown_url(op)
        headers = {"Content-Type": "application/json", "X-Namespace": self.namespace or "default"}
        headers.update({k: v.text() for k, v in self._headers.items()})
        out: list[Payload] = []
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
                for batch in _batches([p.to_json() for p in payloads], self.batch_bytes, self.batch_size):
                    out += await self._post_batch(session, url, shown, batch, headers)
        except TimeoutError:
            raise CodecUnavailable(f"codec server {shown} did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise CodecUnavailable(f"codec server {shown} cannot be reached: {type(exc).__name__}: "
                                   f"{self._no_secrets(str(exc))}") from None
        if len(out) != len(payloads):
            raise CodecError(f"codec server {shown} answered {len(out)} payloads for {len(payloads)}")
        return out

    async def _post_batch(self, session: Any, url: str, shown: str, batch: list[dict[str, Any]],
                          headers: dict[str, str]) -> list[Payload]:
        body = json.dumps({"payloads": batch})
        async with session.post(url, data=body, headers=headers) as resp:
            text = await resp.text()
            status = resp.status
        if status != 200:
            message = f"codec server {shown} answered HTTP {status}: {self._no_secrets(_short(text))}"
            if status >= 500 or status in _UNAVAILABLE:
                raise CodecUnavailable(message)
            raise CodecError(message)  # the server read the request and refused these payloads: try fewer
        try:
            doc: Any = json.loads(text)
            got = [Payload.from_json(p) for p in doc["payloads"]]
        except (ValueError, KeyError, TypeError, CodecError) as exc:
            raise CodecError(f"codec server {shown} answered something that is not {{\"payloads\": [...]}}: "
                             f"{self._no_secrets(str(exc))}") from None
        if len(got) != len(batch):
            raise CodecError(f"codec server {shown} answered {len(got)} payloads for {len(batch)}")
        return got

    def _no_secrets(self, text: str) -> str:
        return _no_secrets(text, self._headers, self._url_secrets)


_UNAVAILABLE = frozenset({401, 403, 404, 405, 407, 408, 413, 429})
"""Answers (besides 5xx) that say nothing about the payloads: the server, its address or its credentials are
wrong, or it is overloaded, so trying the payloads one by one would only repeat the answer."""


def _batches(docs: list[dict[str, Any]], max_bytes: int, max_count: int) -> list[list[dict[str, Any]]]:
    """``docs`` in order, cut into requests of at most ``max_count`` payloads and about ``max_bytes`` of JSON
    (a single payload larger than that goes alone)."""
    out: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for doc in docs:
        n = len(doc.get("data", "")) + sum(len(k) + len(v) + 8 for k, v in doc.get("metadata", {}).items()) + 32
        if batch and (size + n > max_bytes or len(batch) >= max_count):
            out.append(batch)
            batch, size = [], 0
        batch.append(doc)
        size += n
    if batch:
        out.append(batch)
    return out


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _op_url(endpoint: str, namespace: str, op: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/").replace("{namespace}", quote(namespace, safe=""))
    path = path.replace("%7Bnamespace%7D", quote(namespace, safe=""))
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/{op}", parts.query, ""))


def _url_secrets(endpoint: str) -> list[str]:
    """The parts of ``endpoint`` never shown: its user part and its query values, as written and unquoted."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(endpoint)
    found: list[str] = []
    if "@" in parts.netloc:
        user = parts.netloc.rsplit("@", 1)[0]
        found += [user, *user.split(":", 1)]
    found += [v for _, v in parse_qsl(parts.query, keep_blank_values=False)]
    found += [raw.partition("=")[2] for raw in parts.query.split("&")]
    found += [parts.fragment]
    out = {t for f in found if f for t in (f, unquote(f))}
    return sorted((t for t in out if len(t) >= 3), key=len, reverse=True)


def _no_secrets(text: str, headers: Mapping[str, Secret], more: Sequence[str] = ()) -> str:
    for s in [*(v.text() for v in headers.values()), *more]:
        if s:
            text = text.replace(s, "***")
    return text
