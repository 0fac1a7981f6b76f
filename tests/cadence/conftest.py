"""Fixtures of the Cadence-only tests: a client on the session's Cadence server."""

from __future__ import annotations

import pytest

import wfkit


@pytest.fixture(scope="session")
async def cclient(cadence_server):
    c = await wfkit.connect(cadence_server.url)
    yield c
    await c.close()


@pytest.fixture
def tq(task_queue: str) -> str:
    return task_queue
