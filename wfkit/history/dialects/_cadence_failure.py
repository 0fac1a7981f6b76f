"""One reader of Cadence failures (a ``reason`` and ``details`` bytes), whoever wrote them. ``handle.result()``
(through the Cadence plugin) and the history frames, ``activities()`` and ``wfkit.analytics`` all read failures
through it, so they say the same thing.

The shapes:

- wfkit: ``details`` is wfkit's JSON failure document (``message``, ``type``, ``wfkit``, ``cause``, ...).
- the Go client: ``errors.New("…")`` is reason ``cadenceInternal:Generic`` with the message as plain-text
  details; a ``cadence.NewCustomError(reason, details...)`` is its reason with its details JSON-encoded (one
  JSON value per argument, newline-separated); a Go timeout is ``cadenceInternal:Timeout <KIND>``.
- the Java client: reason is the exception's class name, details the exception as JSON (``detailMessage`` or
  ``message``, ``stackTrace`` as text or a list, sometimes ``class``/``className`` and a ``cause``).
- the Python SDK: ``message: …\\nstacktrace: …``, or a traceback.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import msgspec

from wfkit._converter import json_values

GO_GENERIC_REASON = "cadenceInternal:Generic"
"""The reason the Go client gives a plain Go error (its message is the details, as text)."""
TIMEOUT_REASON_PREFIX = "cadenceInternal:Timeout "
NON_RETRYABLE_REASON = "wfkit:NonRetryable"
_JSON_STARTS = frozenset('{["-0123456789tfn')


@dataclasses.dataclass(frozen=True, slots=True)
class CadenceFailure:
    """A Cadence failure as wfkit reads it."""

    reason: str
    type: str | None
    """The error's type: wfkit's ``type``, the Java class, or the reason."""
    message: str
    details: tuple[Any, ...] = ()
    """The JSON values a custom error carries (Go's ``NewCustomError`` details, other JSON)."""
    document: dict[str, Any] | None = None
    """wfkit's own failure document (then the plugin rebuilds the whole error from it)."""
    stack: str | None = None
    timeout_kind: str | None = None

    @property
    def text(self) -> str | None:
        """One line for frames and analytics: ``type: message`` (or the details when the message is only the
        type, as for a Go custom error)."""
        if self.timeout_kind is not None and self.document is None:
            return self.reason or None
        message = self.message
        if (not message or message == self.type) and self.details:
            one = self.details[0] if len(self.details) == 1 else list(self.details)
            message = one if isinstance(one, str) else _compact(one)
        if self.type and message and message != self.type:
            return f"{self.type}: {message}"
        return message or self.type or None


def _compact(value: Any) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return json.dumps(value, separators=(",", ":"), default=str)


def _printable(text: str) -> bool:
    return bool(text) and text.replace("\n", " ").replace("\t", " ").isprintable()


def _java_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return None


def read_failure(reason: str | None, details: bytes | str | None) -> CadenceFailure:
    """Read a Cadence failure written by wfkit, the Go, Java or Python client, or the server (timeouts)."""
    reason = reason or ""
    binary = False
    if isinstance(details, (bytes, bytearray)):
        try:
            raw = bytes(details).decode("utf-8")
        except UnicodeDecodeError:
            raw, binary = bytes(details).decode("utf-8", errors="replace"), True
    else:
        raw = details or ""
    text = raw.strip()
    values: list[Any] | None = None
    if text and text[0] in _JSON_STARTS:  # (plain text, Go's errors.New, is not parsed at all)
        try:
            values = [msgspec.json.decode(text)]
        except msgspec.DecodeError:
            try:
                values = json_values(text)  # several values, newline-separated
            except ValueError:
                values = None
    doc = values[0] if values and len(values) == 1 else None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str) and ("wfkit" in doc or "type" in doc):
        typ = doc.get("type") if isinstance(doc.get("type"), str) else None
        typ = typ or (reason if reason != NON_RETRYABLE_REASON else None)
        return CadenceFailure(reason, typ, doc["message"], document=doc,
                              stack=doc.get("stack") if isinstance(doc.get("stack"), str) else None)
    if reason.startswith(TIMEOUT_REASON_PREFIX):
        kind = reason[len(TIMEOUT_REASON_PREFIX):].strip().lower()
        return CadenceFailure(reason, None, f"{kind} timeout", timeout_kind=kind)
    if isinstance(doc, dict) and ("detailMessage" in doc or "stackTrace" in doc):  # the Java client's exception
        message = doc.get("detailMessage", doc.get("message"))
        typ = doc.get("class") or doc.get("className") or reason
        return CadenceFailure(reason, typ if isinstance(typ, str) else reason,
                              message if isinstance(message, str) else reason,
                              stack=_java_text(doc.get("stackTrace")))
    if values is not None:  # a custom error's JSON details (Go's NewCustomError, any JSON)
        return CadenceFailure(reason, reason or None, reason, details=tuple(values))
    if raw.startswith("message: "):  # the Python SDK
        message, _, stack = raw[len("message: "):].partition("\nstacktrace: ")
        return CadenceFailure(reason, reason or None, message, stack=stack or None)
    if raw.startswith("Traceback (most recent call last)"):
        lines = [ln for ln in raw.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        return CadenceFailure(reason, reason or None, last.split(": ", 1)[1] if ": " in last else last,
                              stack=raw)
    if not binary and _printable(text):  # a worker's own words: Go's errors.New, a failed decision task
        return CadenceFailure(reason, reason or None, text)
    return CadenceFailure(reason, reason or None, reason)
