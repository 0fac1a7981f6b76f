"""Helpers the conformance test modules share (not tests themselves)."""

from __future__ import annotations

from typing import Any

import wfkit


async def query_answers(h: Any, name: str, value: Any) -> bool:
    """True once the workflow answers query ``name`` with ``value``; a query that fails (no worker has taken the
    workflow task yet) is "not yet", for ``eventually``."""
    try:
        return bool(await h.query(name, timeout=5) == value)
    except wfkit.QueryFailed:
        return False
