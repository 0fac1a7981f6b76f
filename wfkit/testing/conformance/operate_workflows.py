"""Workflows that get stuck on purpose, for the operating suite (``diagnose``, ``task_queue``, describe)."""

from __future__ import annotations

from datetime import timedelta

import wfkit

from .workflows import VersionedV1, Waiter


@wfkit.activity
async def backend_call(order: str) -> str:
    """Always fails, as a call to a backend that is down does."""
    raise wfkit.ApplicationError(f"backend down (order {order})", type="BackendDown")


@wfkit.workflow
class CallsBackend:
    """Retries ``backend_call`` every second, up to 50 attempts."""

    @wfkit.run
    async def run(self, order: str) -> str:
        return await wfkit.execute_activity(
            backend_call, order, start_to_close_timeout=10,
            retry_policy=wfkit.RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.0,
                                           maximum_attempts=50))


@wfkit.workflow
class WaitsOnChild:
    """Starts a ``Waiter`` child and waits for it."""

    @wfkit.run
    async def run(self) -> list[str]:
        result: list[str] = await wfkit.execute_child_workflow(Waiter, 1, id=f"{wfkit.info().workflow_id}-child")
        return result


@wfkit.workflow
class Counter:
    """Adds what each update asks and returns the new total; finishes on the ``done`` signal."""

    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @wfkit.run
    async def run(self) -> int:
        await wfkit.wait_condition(lambda: self.done)
        return self.total

    @wfkit.update
    def add(self, n: int) -> int:
        if n < 0:
            raise wfkit.ApplicationError("negative", type="Negative")
        self.total += n
        return self.total

    @wfkit.update
    async def add_later(self, n: int) -> int:
        await wfkit.sleep(0.1)
        self.total += n
        return self.total

    @wfkit.signal
    def finish(self) -> None:
        self.done = True


@wfkit.workflow(name="Versioned")
class VersionedDrift(VersionedV1):
    """``VersionedV1`` changed without a version check: a timer where its history has the activity
    (nondeterministic)."""

    @wfkit.run
    async def run(self) -> str:
        await wfkit.sleep(1)
        await wfkit.wait_condition(lambda: self.go)
        return "v2"


@wfkit.activity
async def long_job(steps: int) -> str:
    """Heartbeats its progress every half second."""
    import asyncio

    for i in range(steps):
        wfkit.heartbeat(f"step {i}")
        await asyncio.sleep(0.5)
    return "finished"


@wfkit.workflow
class RunsLongJob:
    @wfkit.run
    async def run(self, steps: int) -> str:
        return await wfkit.execute_activity(long_job, steps, start_to_close_timeout=120, heartbeat_timeout=10)
