"""Session fixtures: real Temporal and Cadence servers started by the project itself, and clients on them.

Servers are started once per session and stopped at its end (and by wfkit's atexit/parent-death handling if
the session crashes); ``tests/test_servers.py`` asserts their processes are gone.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import wfkit
import wfkit.devserver

ENGINES = ["temporal", "cadence"]
STARTED_PIDS: list[int] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Run engine-parametrised tests grouped by engine so one server at a time does the heavy lifting.
    items.sort(key=lambda it: "cadence" in it.nodeid)


@pytest.fixture(scope="session")
def temporal_server() -> Any:
    server = wfkit.devserver.start("temporal")
    STARTED_PIDS.append(server.pid)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cadence_server() -> Any:
    server = wfkit.devserver.start("cadence")
    STARTED_PIDS.append(server.pid)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_for(request: pytest.FixtureRequest) -> Callable[[str], Any]:
    def get(engine: str) -> Any:
        return request.getfixturevalue(f"{engine}_server")

    return get


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
async def client(engine: str, server_for: Callable[[str], Any]) -> Any:
    server = server_for(engine)
    c = await wfkit.connect(server.url)
    yield c
    await c.close()


@pytest.fixture
def task_queue() -> str:
    """Each test its own task queue, so workers of different tests never steal each other's tasks."""
    return f"tq-{uuid.uuid4().hex[:12]}"


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 20, interval: float = 0.2) -> Any:
    """Poll an eventually-consistent condition (visibility) until it returns a truthy value, with a deadline."""
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


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0): look at its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every server the session started must be gone once its fixtures are torn down."""
    alive = [pid for pid in STARTED_PIDS if pid_alive(pid)]
    if alive:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"ERROR: server processes still alive after the session: {alive}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
