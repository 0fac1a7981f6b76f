"""Engine-neutral value conversions shared by the dialects: times, durations, int64 text, enum spellings.

The conversions between JSON shapes (an engine's variants, cross-engine rules) are each dialect's own, in
:mod:`wfkit.history.dialects`. All functions take and return plain JSON values and never import an SDK.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from wfkit.history._schema import pascal, screaming

# --- time and duration ------------------------------------------------------------------------------------------

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:?\d{2})$")


def ns_to_rfc3339(ns: int) -> str:
    """Integer nanoseconds since the epoch -> RFC 3339 UTC text with 0, 3, 6 or 9 fractional digits (the
    protobuf JSON convention)."""
    sec, frac = divmod(int(ns), 1_000_000_000)
    base = (_EPOCH + _dt.timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return base + "Z"
    if frac % 1_000_000 == 0:
        return f"{base}.{frac // 1_000_000:03d}Z"
    if frac % 1_000 == 0:
        return f"{base}.{frac // 1_000:06d}Z"
    return f"{base}.{frac:09d}Z"


def rfc3339_to_ns(text: str) -> int:
    """RFC 3339 text -> integer nanoseconds since the epoch; raises ValueError when unreadable."""
    m = _RFC3339.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    dt = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=_dt.UTC)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        tz = tz[1:].replace(":", "")
        dt -= sign * _dt.timedelta(hours=int(tz[:2]), minutes=int(tz[2:]))
    delta = dt - _EPOCH
    ns = (delta.days * 86400 + delta.seconds) * 1_000_000_000
    if frac:
        ns += int(frac.ljust(9, "0"))
    return ns


def duration_to_seconds(text: Any) -> float:
    """Proto-JSON duration (``"1.5s"``) -> seconds; raises ValueError when unreadable."""
    if not isinstance(text, str) or not text.endswith("s"):
        raise ValueError(f"not a duration: {text!r}")
    return float(text[:-1])


def seconds_to_duration(seconds: float) -> str:
    """Seconds -> proto-JSON duration text (``"10s"``, ``"0.100s"``)."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.9f}".rstrip("0") + "s"


def _to_int(v: Any) -> Any:
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


def _to_str_int(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


def _enum_p2t(value: Any, prefix: str, pascal_names: bool) -> Any:
    if isinstance(value, str) and value.startswith(prefix):
        rest = value[len(prefix):]
        return pascal(rest) if pascal_names else rest
    return value


def _enum_t2p(value: Any, prefix: str) -> Any:
    if isinstance(value, str) and value and not value.startswith(prefix):
        return prefix + screaming(value)
    return value


def _strict_int(v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError("boolean is not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
        return int(v)
    raise ValueError(f"not an integer: {v!r}")
