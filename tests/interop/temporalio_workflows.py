"""Workflows written with plain temporalio (no wfkit), for the interop and replay tests."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.common.v1 import WorkflowType


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn
class Greeter:
    """Collects ``add`` signals until it has ``n``; ``items`` query; greets through an activity."""

    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.run
    async def run(self, n: int) -> str:
        await workflow.wait_condition(lambda: len(self.items) >= n)
        return await workflow.execute_activity(shout, ", ".join(self.items),
                                               start_to_close_timeout=timedelta(seconds=10))

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.query
    def count(self) -> int:
        return len(self.items)


@workflow.defn(name="Greeter")
class GreeterChanged:
    """Greeter with a changed step (sleeps before the activity): nondeterministic for Greeter's histories."""

    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.run
    async def run(self, n: int) -> str:
        await workflow.wait_condition(lambda: len(self.items) >= n)
        await workflow.sleep(1)
        return await workflow.execute_activity(shout, ", ".join(self.items),
                                               start_to_close_timeout=timedelta(seconds=10))

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)


@workflow.defn
class ProtoEcho:
    """Takes and returns a protobuf message (temporalio encodes it as json/protobuf)."""

    @workflow.run
    async def run(self, kind: WorkflowType) -> WorkflowType:
        return WorkflowType(name=kind.name + "-seen")
