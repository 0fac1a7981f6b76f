"""A real IPython shell with ``%load_ext wfkit``, and a clean default connections registry per test module; helpers
that wait for visibility from synchronous tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from wfkit.notebook import connections
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w


def wait_listed(client: Any, query: str, n: int) -> None:
    """Wait until ``query`` lists ``n`` executions (visibility is eventually consistent)."""

    async def listed() -> bool:
        return len(await client.list(query)) == n

    asyncio.run(eventually(listed))


def search_until_listed(browser: Any, n: int = 1, timeout: float = 20) -> None:
    """Click a ``WorkflowBrowser``'s search until it lists ``n`` executions (visibility lags), ``timeout`` seconds
    at most (the caller asserts on what it then shows)."""
    deadline = time.monotonic() + timeout
    while True:
        browser.search_button.click()
        if len(browser.executions or ()) == n or time.monotonic() > deadline:
            return
        time.sleep(0.3)


def completed_hellos(client: Any, prefix: str, n: int = 2) -> str:
    """Run ``n`` Hello workflows (IDs ``<prefix>-0`` …) to completion and wait until they are listed; the query
    that lists them."""
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    with client.sync.worker(task_queue=tq, workflows=[w.Hello], activities=[w.echo]):
        for i in range(n):
            client.sync.start(w.Hello, str(i), id=f"{prefix}-{i}", task_queue=tq).sync.result(timeout=30)
    query = " OR ".join(f"WorkflowId = '{prefix}-{i}'" for i in range(n))
    wait_listed(client, query, n)
    return query


@pytest.fixture(scope="module", autouse=True)
def fresh_connections():
    """The default registry is the process's: each module starts and ends with it empty."""
    connections.close_all()
    yield connections.default
    connections.close_all()


@pytest.fixture(scope="module")
def ip():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext wfkit", store_history=False)
    return shell


@pytest.fixture(scope="module")
def magic(ip):
    return ip.magics_manager.registry["WfMagic"]
