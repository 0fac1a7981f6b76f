"""AES-GCM payload encryption with key IDs, in the format of the SDK samples' encryption codec."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wfkit._config import Secret

from ._payload import CodecError, Payload, PayloadCodec

ENCODING = b"binary/encrypted"
"""The ``encoding`` of an encrypted payload."""
KEY_ID = "encryption-key-id"
"""The metadata key naming the key a payload was encrypted with."""
_NONCE = 12
_TAG = 16


class AESGCMCodec(PayloadCodec):
    """Encrypts each payload (its serialized form: metadata and data) with AES-GCM under a named key.

    An encrypted payload has ``encoding: binary/encrypted``, ``encryption-key-id: <id>`` and data
    ``nonce (12 bytes) + ciphertext`` — what the SDK samples' ``EncryptionCodec`` writes, so either reads the
    other's payloads. Decoding looks the key up by the payload's key ID, so keys can be rotated: encrypt with
    the newest, keep the older ones to read old histories. Keys never appear in a repr, an error or a log.

    Args:
        keys: key ID -> key (16, 24 or 32 bytes; or a ``wfkit.Secret`` holding them).
        encrypt_with: the key ID new payloads are encrypted with (default: the first of ``keys``).

    Example::

        codec = wfkit.codecs.AESGCMCodec({"k2": key2, "k1": key1})   # encrypts with k2, reads k1 and k2
        client = await wfkit.connect("temporal://localhost:7233", codec=codec)
    """

    def __init__(self, keys: Mapping[str, bytes | Secret], *, encrypt_with: str | None = None):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not keys:
            raise CodecError("AESGCMCodec needs at least one key")
        self._ciphers: dict[str, Any] = {}
        for key_id, key in keys.items():
            raw = key.get() if isinstance(key, Secret) else key
            if not isinstance(raw, (bytes, bytearray)) or len(raw) not in (16, 24, 32):
                raise CodecError(f"key {key_id!r} must be 16, 24 or 32 bytes (AES-128/192/256)")
            self._ciphers[str(key_id)] = AESGCM(bytes(raw))
        self.key_id = encrypt_with if encrypt_with is not None else next(iter(self._ciphers))
        if self.key_id not in self._ciphers:
            raise CodecError(f"encrypt_with={self.key_id!r} is not one of the key IDs {sorted(self._ciphers)}")

    @classmethod
    def from_key_file(cls, path: str | os.PathLike[str]) -> AESGCMCodec:
        """Keys from a JSON file: ``{"encrypt_with": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`` (or just
        the ``keys`` object; then the first key encrypts)."""
        where = Path(path)
        try:
            doc = json.loads(where.read_text())
        except (OSError, ValueError) as exc:
            raise CodecError(f"cannot read the key file {str(where)!r}: {type(exc).__name__}") from None
        keys_doc = doc.get("keys", doc) if isinstance(doc, dict) else None
        if not isinstance(keys_doc, dict) or not keys_doc:
            raise CodecError(f"key file {str(where)!r}: expected a JSON object of key ID -> base64 key")
        keys: dict[str, bytes | Secret] = {}
        for key_id, text in keys_doc.items():
            if key_id == "encrypt_with":
                continue
            try:
                keys[key_id] = Secret(base64.b64decode(str(text), validate=True))
            except ValueError:
                raise CodecError(f"key file {str(where)!r}: key {key_id!r} is not base64") from None
        return cls(keys, encrypt_with=doc.get("encrypt_with") if "keys" in doc else None)

    def __repr__(self) -> str:
        return f"AESGCMCodec(key_ids={sorted(self._ciphers)}, encrypt_with={self.key_id!r})"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.key_id]
        out = []
        for p in payloads:
            nonce = os.urandom(_NONCE)
            out.append(Payload({"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                               nonce + cipher.encrypt(nonce, p.SerializeToString(), None)))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        from cryptography.exceptions import InvalidTag

        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise CodecError(f"key id {key_id or '(none)'} not available (this codec has "
                                 f"{', '.join(sorted(self._ciphers))})")
            if len(p.data) < _NONCE + _TAG:
                raise CodecError(f"key id {key_id}: the payload is {len(p.data)} bytes, shorter than a nonce and a "
                                 f"tag ({_NONCE + _TAG} bytes): it was cut or is not AES-GCM")
            try:
                plain = cipher.decrypt(p.data[:_NONCE], p.data[_NONCE:], None)
            except InvalidTag:
                raise CodecError(f"key id {key_id}: the payload does not decrypt with this key (wrong key, or the "
                                 "payload was altered)") from None
            except ValueError as exc:
                raise CodecError(f"key id {key_id}: the payload cannot be decrypted: {exc}") from None
            out.append(Payload.FromString(plain))
        return out
