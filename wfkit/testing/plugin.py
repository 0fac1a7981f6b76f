"""pytest plugin: real dev servers per engine, an ``engine`` fixture over the installed engine plugins, clients.

Load it with ``-p wfkit.testing.plugin`` (pytest ``addopts``) or ``pytest_plugins = ["wfkit.testing.plugin"]`` in
the root ``conftest.py``. ``--wfkit-engine NAME`` (repeatable) picks the engines the ``engine`` fixture runs over
(default: every installed one); an engine plugin's own suite overrides the ``engine`` fixture with its name.

Each server is started once per session, when a test first asks for it, and stopped at the session's end; the
session fails if any of their processes outlives it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import wfkit
import wfkit.devserver
from wfkit._engines import available

_STARTED_PIDS: list[int] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--wfkit-engine", action="append", default=None,
                     help="an engine the conformance suite runs on (repeatable; default: every installed one)")


def _engine_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("engine") if callspec is not None else None
    return name if isinstance(name, str) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("--wfkit-engine")
    if chosen:
        keep = [it for it in items if _engine_of(it) in (None, *chosen)]
        config.hook.pytest_deselected(items=[it for it in items if it not in keep])
        items[:] = keep
    # Engine-parametrised tests run grouped by engine, so one server at a time does the heavy lifting.
    order = {name: i for i, name in enumerate(available())}
    items.sort(key=lambda it: order.get(_engine_of(it) or "", -1))


@pytest.fixture(scope="session")
def server_for(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Any]]:
    """``server_for(engine)``: that engine's embedded dev server, started on first use, stopped at the end."""
    servers: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in servers:
            servers[name] = wfkit.devserver.start(name)
            _STARTED_PIDS.append(servers[name].pid)
        return servers[name]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session", params=available())
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a test runs on: each installed engine plugin in turn (an engine's own suite overrides this
    fixture with its name)."""
    return str(request.param)


@pytest.fixture(scope="session")
async def _clients_by_engine() -> AsyncIterator[dict[str, wfkit.Client]]:
    clients: dict[str, wfkit.Client] = {}
    yield clients
    for c in clients.values():
        await c.close()


@pytest.fixture
async def client(engine: str, server_for: Callable[[str], Any],
                 _clients_by_engine: dict[str, wfkit.Client]) -> wfkit.Client:
    """A client on ``engine``'s dev server, shared by the session's tests on that engine. (Not a session
    fixture itself: pytest would keep the first module's client for every module, so an adapter suite that
    overrides ``engine`` would run on the engine of the suite collected before it.)"""
    if engine not in _clients_by_engine:
        _clients_by_engine[engine] = await wfkit.connect(server_for(engine).url)
    return _clients_by_engine[engine]


@pytest.fixture
def task_queue() -> str:
    """Each test its own task queue, so workers of different tests never steal each other's tasks."""
    return f"tq-{uuid.uuid4().hex[:12]}"


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every server the session started must be gone once its fixtures are torn down."""
    alive = [pid for pid in _STARTED_PIDS if pid_alive(pid)]
    if alive:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"ERROR: server processes still alive after the session: {alive}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
