"""Clients on the session's real servers, and helpers shared by the migration tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

import wfkit
from wfkit.examples import orders
from wfkit.testing import eventually

from . import workflows as mw

ALL_WORKFLOWS = [*orders.WORKFLOWS, *mw.WORKFLOWS]
ALL_ACTIVITIES = [*orders.ACTIVITIES, *mw.ACTIVITIES]


@pytest.fixture(scope="session")
async def cadence(cadence_server: Any) -> Any:
    c = await wfkit.connect(cadence_server.url)
    yield c
    await c.close()


@pytest.fixture(scope="session")
async def temporal(temporal_server: Any) -> Any:
    c = await wfkit.connect(temporal_server.url)
    yield c
    await c.close()


@pytest.fixture(params=["cadence->temporal", "temporal->cadence"])
def direction(request: pytest.FixtureRequest, cadence: Any, temporal: Any) -> tuple[Any, Any]:
    """(source, target): every migration test runs both ways."""
    return (cadence, temporal) if request.param == "cadence->temporal" else (temporal, cadence)


@pytest.fixture
def prefix() -> str:
    """Each test its own workflow-ID prefix, so its plan's query sees only its workflows."""
    return f"mig-{uuid.uuid4().hex[:10]}-"


def query_for(prefix: str) -> str:
    return f"WorkflowId STARTS_WITH '{prefix}'"


async def wait_listed(client: Any, query: str, n: int, *, running: bool = True) -> None:
    """Wait until visibility lists ``n`` (running) executions for ``query``."""
    q = f"ExecutionStatus='Running' AND ({query})" if running else query

    async def check() -> bool:
        return len(await client.list(q, limit=None)) >= n

    await eventually(check, timeout=30)


@contextlib.asynccontextmanager
async def carts_running(source: Any, target: Any, task_queue: str, prefix: str, n: int) -> AsyncIterator[list[str]]:
    """Workers on both engines and ``n`` Carts (IDs ``<prefix>00`` …) running on ``source``, listed there; yields
    their IDs (the workers stop on leaving)."""
    ids = [f"{prefix}{i:02d}" for i in range(n)]
    async with source.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES), \
            target.worker(task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        for wid in ids:
            await source.start(mw.Cart, mw.CartState(wid, ["apple"]), id=wid, task_queue=task_queue)
        await wait_listed(source, query_for(prefix), n)
        yield ids


async def wait_status(handle: Any, status: str) -> None:
    async def check() -> bool:
        try:
            return await handle.query("status", timeout=5) == status
        except wfkit.QueryFailed:
            return False

    await eventually(check, timeout=30)


async def runs_of(client: Any, workflow_id: str) -> list[Any]:
    """Every run of ``workflow_id`` the engine lists (a duplicate start shows up as a second run)."""
    return list(await client.list(f"WorkflowId='{workflow_id}'", limit=None))
