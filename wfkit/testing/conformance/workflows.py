"""Workflows and activities the conformance suite runs on every engine (plain wfkit code, no engine SDK)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pydantic

import wfkit

FAST_RETRY = wfkit.RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.0, maximum_attempts=3)
ACTIVITY_SAW_CANCEL: set[str] = set()


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = ""


class Money(pydantic.BaseModel):
    amount: float
    currency: str


@wfkit.activity
async def echo(value: Any) -> Any:
    return value


@wfkit.activity
async def move(p: Point, dx: int) -> Point:
    return Point(p.x + dx, p.y, p.label)


@wfkit.activity
def double(m: Money) -> Money:  # a sync activity: runs in the executor
    return Money(amount=m.amount * 2, currency=m.currency)


@wfkit.activity
async def flaky(key: str, failures: int) -> int:
    """Fails ``failures`` times, then returns the attempt number it succeeded on."""
    attempt = wfkit.activity_info().attempt
    if attempt <= failures:
        raise wfkit.ApplicationError(f"attempt {attempt} fails", type="Flaky")
    return attempt


@wfkit.activity
async def fail_with(error_type: str, non_retryable: bool) -> None:
    raise wfkit.ApplicationError(f"{error_type} happened", {"why": "test"}, type=error_type,
                                 non_retryable=non_retryable)


class PlainBug(Exception):
    pass


@wfkit.activity
async def raise_plain() -> None:
    raise PlainBug("a plain exception")


@wfkit.activity
async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


@wfkit.activity
async def heartbeating(seconds: float, beat: bool) -> str:
    for _ in range(int(seconds * 4)):
        if beat:
            wfkit.heartbeat("tick")
        await asyncio.sleep(0.25)
    return "done"


@wfkit.activity
async def cancellable(key: str) -> str:
    try:
        for _ in range(120):
            wfkit.heartbeat()
            await asyncio.sleep(0.25)
    except asyncio.CancelledError:
        ACTIVITY_SAW_CANCEL.add(key)
        raise
    return "not cancelled"


@wfkit.workflow
class CancelsActivity:
    @wfkit.run
    async def run(self, key: str) -> str:
        task = asyncio.ensure_future(wfkit.execute_activity(cancellable, key, start_to_close_timeout=60,
                                                            heartbeat_timeout=2))
        await wfkit.sleep(2)
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, wfkit.ActivityError, wfkit.Canceled):
            return "activity cancelled"
        return "activity finished"


@wfkit.workflow
class Hello:
    @wfkit.run
    async def run(self, name: str) -> str:
        return await wfkit.execute_activity(echo, f"hello {name}", start_to_close_timeout=10)


@wfkit.workflow
class Values:
    """Dataclasses, pydantic models and plain JSON through workflow input, activities and result."""

    @wfkit.run
    async def run(self, p: Point, m: Money, plain: dict) -> dict:
        moved = await wfkit.execute_activity(move, p, 2, start_to_close_timeout=10)
        doubled = await wfkit.execute_activity(double, m, start_to_close_timeout=10)
        same = await wfkit.execute_activity(echo, plain, start_to_close_timeout=10)
        return {"moved": moved, "doubled": doubled, "plain": same,
                "types": [type(moved).__name__, type(doubled).__name__, type(same).__name__]}


@wfkit.workflow
class Retrying:
    @wfkit.run
    async def run(self, failures: int, max_attempts: int) -> int:
        return await wfkit.execute_activity(
            flaky, "k", failures, start_to_close_timeout=10,
            retry_policy=wfkit.RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.0,
                                           maximum_attempts=max_attempts))


@wfkit.workflow
class Failing:
    """Runs ``fail_with`` and lets the failure escape (the workflow fails)."""

    @wfkit.run
    async def run(self, error_type: str, non_retryable: bool, listed: bool) -> None:
        await wfkit.execute_activity(
            fail_with, error_type, non_retryable, start_to_close_timeout=10,
            retry_policy=wfkit.RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3,
                                           non_retryable_error_types=[error_type] if listed else []))


@wfkit.workflow
class PlainFailing:
    @wfkit.run
    async def run(self) -> None:
        await wfkit.execute_activity(raise_plain, start_to_close_timeout=10,
                                     retry_policy=wfkit.RetryPolicy(maximum_attempts=1))


@wfkit.workflow
class Raising:
    """Raises from workflow code itself: the workflow fails (not just its task)."""

    @wfkit.run
    async def run(self, kind: str) -> None:
        if kind == "application":
            raise wfkit.ApplicationError("bad input", 1, "two", type="BadInput")
        raise KeyError("missing")


@wfkit.workflow
class Timeouts:
    @wfkit.run
    async def run(self, kind: str) -> str:
        once = wfkit.RetryPolicy(maximum_attempts=1)
        if kind == "start_to_close":
            return await wfkit.execute_activity(slow, 5, start_to_close_timeout=1, retry_policy=once)
        if kind == "heartbeat":
            return await wfkit.execute_activity(heartbeating, 6, False, start_to_close_timeout=20,
                                                heartbeat_timeout=1, retry_policy=once)
        if kind == "schedule_to_close":
            return await wfkit.execute_activity(slow, 5, schedule_to_close_timeout=1, retry_policy=once)
        if kind == "schedule_to_start":
            return await wfkit.execute_activity(slow, 0, task_queue=wfkit.info().task_queue + "-nobody",
                                                schedule_to_start_timeout=1, start_to_close_timeout=5,
                                                retry_policy=once)
        if kind == "execution":
            await wfkit.sleep(30)
            return "slept"
        raise ValueError(kind)


@wfkit.workflow
class Waiter:
    """Waits for signals; answers queries; can be cancelled."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @wfkit.run
    async def run(self, expected: int) -> list[str]:
        try:
            await wfkit.wait_condition(lambda: len(self.items) >= expected or self.done)
        except asyncio.CancelledError:
            self.items.append("cancelled")
            await wfkit.execute_activity(echo, "cleanup", start_to_close_timeout=10)
            raise
        return self.items

    @wfkit.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @wfkit.signal
    async def finish(self) -> None:
        self.done = True

    @wfkit.query
    def count(self) -> int:
        return len(self.items)

    @wfkit.query
    def peek(self, index: int) -> str:
        return self.items[index]


@wfkit.workflow
class Sleeper:
    @wfkit.run
    async def run(self, seconds: float) -> str:
        await wfkit.sleep(seconds)
        return "awake"


@wfkit.workflow
class Month:
    """Sleeps 30 days, then runs an activity; returns the workflow time that passed. For engines with time
    skipping (on a server it takes a month), so not in ``ALL_WORKFLOWS``."""

    @wfkit.run
    async def run(self) -> float:
        t0 = wfkit.now()
        await wfkit.sleep(timedelta(days=30))
        await wfkit.execute_activity(echo, "after a month", start_to_close_timeout=10)
        return (wfkit.now() - t0).total_seconds()


@wfkit.workflow
class Deterministic:
    """now / uuid4 / side_effect / info / logger / wait_condition timeout."""

    @wfkit.run
    async def run(self) -> dict:
        t0 = wfkit.now()
        u = wfkit.uuid4()
        r = await wfkit.side_effect(lambda: 42)
        i = wfkit.info()
        wfkit.logger.info("deterministic workflow %s running", i.workflow_id)
        timed_out = False
        try:
            await wfkit.wait_condition(lambda: False, timeout=1)
        except wfkit.TimeoutError as e:
            timed_out = e.kind == "wait_condition"
        t1 = wfkit.now()
        return {"uuid": str(u), "side_effect": r, "workflow_id": i.workflow_id, "workflow_type": i.workflow_type,
                "task_queue": i.task_queue, "attempt": i.attempt, "timed_out": timed_out,
                "elapsed": (t1 - t0).total_seconds(), "aware": t0.tzinfo is not None}


@wfkit.workflow
class Child:
    @wfkit.run
    async def run(self, n: int) -> int:
        if n < 0:
            raise wfkit.ApplicationError("negative", type="Negative", non_retryable=True)
        return n * 10


@wfkit.workflow
class Parent:
    @wfkit.run
    async def run(self, n: int) -> int:
        a = await wfkit.execute_child_workflow(Child, n, id=f"{wfkit.info().workflow_id}-child-a")
        try:
            await wfkit.execute_child_workflow(Child, -1, id=f"{wfkit.info().workflow_id}-child-b")
        except wfkit.ChildWorkflowError as e:
            if not (isinstance(e.cause, wfkit.ApplicationError) and e.cause.type == "Negative"):
                raise
        return a + 1


@wfkit.workflow
class Looping:
    @wfkit.run
    async def run(self, n: int, total: int) -> int:
        if n <= 0:
            return total
        await wfkit.execute_activity(echo, n, start_to_close_timeout=10)
        wfkit.continue_as_new(n - 1, total + n)


@wfkit.workflow(name="Versioned")
class VersionedV1:
    """Old code: no version check; waits for a signal between its two steps."""

    def __init__(self) -> None:
        self.go = False

    @wfkit.run
    async def run(self) -> str:
        await wfkit.execute_activity(echo, "step-1", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.go)
        return "old-path"

    @wfkit.signal
    def proceed(self) -> None:
        self.go = True


@wfkit.workflow(name="Versioned")
class VersionedV2(VersionedV1):
    """New code: the first step changed, behind get_version."""

    @wfkit.run
    async def run(self) -> str:
        v = wfkit.get_version("first-step", wfkit.DEFAULT_VERSION, 1)
        step = "step-1" if v == wfkit.DEFAULT_VERSION else "new-step-1"
        await wfkit.execute_activity(echo, step, start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.go)
        return "old-path" if v == wfkit.DEFAULT_VERSION else f"new-path-v{v}"


@wfkit.workflow(name="Versioned")
class VersionedV3(VersionedV1):
    """Newer code that dropped support for executions older than the change."""

    @wfkit.run
    async def run(self) -> str:
        v = wfkit.get_version("first-step", 1, 1)
        await wfkit.execute_activity(echo, "new-step-1", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.go)
        return f"v{v}"


@wfkit.workflow
class CallsSyncInside:
    @wfkit.run
    async def run(self) -> str:
        return await wfkit.execute_activity(sync_from_loop, start_to_close_timeout=10,
                                            retry_policy=wfkit.RetryPolicy(maximum_attempts=1))


CLIENT_FOR_ACTIVITY: dict[str, Any] = {}


@wfkit.activity
async def sync_from_loop() -> str:
    client = CLIENT_FOR_ACTIVITY["client"]
    try:
        client.sync.count()
    except wfkit.WfkitError as e:
        return f"refused: {e}"
    return "no error"


ALL_WORKFLOWS = [CancelsActivity, Hello, Values, Retrying, Failing, PlainFailing, Raising, Timeouts, Waiter, Sleeper,
                 Deterministic, Child, Parent, Looping, CallsSyncInside]
ALL_ACTIVITIES = [cancellable, echo, move, double, flaky, fail_with, raise_plain, slow, heartbeating, sync_from_loop]
