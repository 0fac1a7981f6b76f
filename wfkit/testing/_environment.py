"""``WorkflowEnvironment``: one fixture-style API for users' own test suites, on any installed engine."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import TracebackType
from typing import Any

import wfkit

DEFAULT_ENGINE = "local"
"""The engine a ``WorkflowEnvironment`` runs on when none is named: the in-process one (no server to start)."""


class WorkflowEnvironment:
    """An engine to test workflows on: the engine plugin's embedded server started (the in-process engine needs
    none), a connected client, workers, and explicit time control.

    ::

        @pytest.fixture
        async def env():
            async with wfkit.testing.WorkflowEnvironment("local", time_skipping=True) as env:
                yield env

        async def test_reminder(env):
            async with env.worker(task_queue="tq", workflows=[Reminder], activities=[send]):
                h = await env.client.start(Reminder, task_queue="tq")   # sleeps 30 days: done in milliseconds
                assert await h.result() == "sent"

    Args:
        engine: an installed engine plugin's name (the ``wfkit.engines`` entry points), ``"local"`` by default.
        time_skipping: the clock jumps to the next timer whenever every workflow waits on one and no activity
            runs (``Capability.TIME_SKIPPING``; elsewhere ``UnsupportedFeature`` naming the engine).
        namespace: the namespace to create and use.
        url: connect there instead of starting the engine's embedded server.

    ``sleep(duration)``/``skip(duration)`` let workflow time pass (at once with time skipping).
    """

    def __init__(self, engine: str = DEFAULT_ENGINE, *, time_skipping: bool = False, namespace: str = "default",
                 url: str | None = None):
        from wfkit._engines import get_engine

        self.engine = engine
        self._engine = get_engine(engine)   # a clear error for an engine that is not installed
        if time_skipping and wfkit.Capability.TIME_SKIPPING not in self._engine.capabilities:
            raise wfkit.UnsupportedFeature(engine, "time_skipping", "start a WorkflowEnvironment without it, or use "
                                           "an engine that has it (wfkit.testing.DEFAULT_ENGINE)")
        self.time_skipping = time_skipping
        self.namespace = namespace
        self._url = url
        self.server: Any = None
        self._client: wfkit.Client | None = None

    @property
    def client(self) -> wfkit.Client:
        """The connected client (inside ``async with``)."""
        if self._client is None:
            raise wfkit.WfkitError("WorkflowEnvironment: use it in 'async with' (or await start()) first")
        return self._client

    async def start(self) -> WorkflowEnvironment:
        url = self._url
        if url is None:
            self.server = await asyncio.to_thread(self._engine.dev_server, namespace=self.namespace)
            url = self.server.url
        if self.time_skipping:
            url += ("&" if "?" in url else "?") + "time=skip"
        try:
            self._client = await wfkit.connect(url)
        except BaseException:
            await self._stop_server()
            raise
        return self

    def worker(self, **kwargs: Any) -> Any:
        """``client.worker(...)``: ``async with env.worker(task_queue=..., workflows=..., activities=...)``."""
        return self.client.worker(**kwargs)

    async def sleep(self, duration: timedelta | float) -> None:
        """Let ``duration`` of workflow time pass (at once with time skipping): ``client.sleep``."""
        await self.client.sleep(duration)

    skip = sleep

    async def shutdown(self) -> None:
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.close()
        finally:
            await self._stop_server()

    async def _stop_server(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    async def __aenter__(self) -> WorkflowEnvironment:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.shutdown()

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not started"
        return f"<WorkflowEnvironment {self.engine} time_skipping={self.time_skipping} {state}>"
