"""Fixtures of the interop tests: foreign clients (the Go client on Cadence, temporalio and the ``temporal`` CLI
on Temporal) next to wfkit, on the session's servers."""

from __future__ import annotations

from typing import Any

import pytest

import wfkit

from .gocadence import GoCadence, build


@pytest.fixture(scope="session")
def gocadence(cadence_server: Any) -> GoCadence:
    """The Go client (and worker) on the session's Cadence server."""
    return GoCadence(build(), f"127.0.0.1:{cadence_server.ports['frontend_grpc']}", "default")


@pytest.fixture
async def cadence(cadence_server: Any) -> Any:
    async with await wfkit.connect(cadence_server.url) as c:
        yield c


@pytest.fixture
async def temporal(temporal_server: Any) -> Any:
    async with await wfkit.connect(temporal_server.url) as c:
        yield c


@pytest.fixture(scope="session")
def cadence_cli(cadence_server: Any) -> Any:
    """``cadence_cli(*args)``: the Cadence CLI (built from its module) on the session's server, over gRPC."""
    from .gocadence import cadence_cli as run

    exe, address = build("cadence-cli"), f"127.0.0.1:{cadence_server.ports['frontend_grpc']}"
    return lambda *args: run(exe, address, "default", *args)
