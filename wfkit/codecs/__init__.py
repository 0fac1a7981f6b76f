"""Payload codecs: encryption (or compression) of workflow data, on both engines.

A codec turns payloads into other payloads and back (``async encode(payloads)``, ``async decode(payloads)``, the
interface of the engine SDKs' codecs, whose codec objects are accepted as they are). Set one on connect and it
runs everywhere values cross the wire: the client (inputs, results, signals, queries), workers, history frames,
exports and migration::

    codec = wfkit.codecs.AESGCMCodec({"k1": key})
    client = await wfkit.connect("temporal://localhost:7233", codec=codec)
    # or decode through the team's codec server (the one the Web UI and CLI use):
    client = await wfkit.connect("temporal://…", codec_server="https://codec.example.com")

- :class:`AESGCMCodec`: AES-GCM with key IDs (``cryptography``), in the SDK samples' format.
- :class:`RemoteCodec`: a codec server over HTTP (``POST {endpoint}/decode``, ``/encode``).
- :func:`serve`: a codec server for any codec (``wfkit codec-server --key-file keys.json`` from the shell).
- :func:`decode_history`: a history with its payloads decoded (what ``handle.history()`` does with a codec).

``pip install 'wfkit[codecs]'`` installs ``cryptography`` and ``aiohttp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._payload import CodecError, CodecUnavailable, Payload, PayloadCodec, as_codec

if TYPE_CHECKING:
    from wfkit.history import History

__all__ = ["AESGCMCodec", "CodecError", "CodecServer", "CodecUnavailable", "Payload", "PayloadCodec",
           "RemoteCodec", "as_codec", "decode_history", "serve"]


async def decode_history(history: History, codec: Any) -> History:
    """A copy of ``history`` with every payload decoded by ``codec``. Never raises for a payload: one that
    cannot be decoded (a missing key, a codec server down) stays encoded and its frame cell says why."""
    from wfkit.history import History

    from ._apply import decode_messages

    inner = as_codec(codec)
    if inner is None:
        return history
    proto = history.to_proto()
    copy = type(proto)()
    copy.CopyFrom(proto)
    await decode_messages(copy.events, inner, tolerant=True)
    return History.from_proto(copy, engine=history.engine, workflow_id=history.workflow_id, run_id=history.run_id)


def __getattr__(name: str) -> Any:
    if name == "AESGCMCodec":
        from ._aesgcm import AESGCMCodec

        return AESGCMCodec
    if name == "RemoteCodec":
        from ._remote import RemoteCodec

        return RemoteCodec
    if name in ("serve", "CodecServer"):
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module 'wfkit.codecs' has no attribute {name!r}")
