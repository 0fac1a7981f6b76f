"""Testing workflows and engines with wfkit.

- :func:`eventually`: poll an eventually consistent condition (visibility) with a deadline.
- :class:`WorkflowEnvironment`: an engine for users' own tests (``"local"``, in-process, optionally with time
  skipping; or an installed engine's embedded server), a connected client, workers and time control.
- ``wfkit.testing.plugin``: a pytest plugin with real dev servers per engine (``server_for``), an ``engine``
  fixture parametrised over the installed engine plugins, a connected ``client`` and a fresh ``task_queue`` per
  test. Load it with ``-p wfkit.testing.plugin`` (or ``pytest_plugins = ["wfkit.testing.plugin"]`` in the root
  ``conftest.py``).
- ``wfkit.testing.conformance``: the behaviour every engine must show, as test modules an engine plugin's own
  test suite imports (see that package's docstring).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["DEFAULT_ENGINE", "WorkflowEnvironment", "eventually"]


def __getattr__(name: str) -> Any:
    if name in ("WorkflowEnvironment", "DEFAULT_ENGINE"):
        from . import _environment

        return getattr(_environment, name)
    raise AttributeError(f"module 'wfkit.testing' has no attribute {name!r}")


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 20, interval: float = 0.2) -> Any:
    """Await ``check()`` until it returns a truthy value (an ``AssertionError`` counts as not yet), at most
    ``timeout`` seconds; then raise ``AssertionError`` with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")
        await asyncio.sleep(interval)
