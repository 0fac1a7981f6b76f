"""Versioning on Cadence with executions that passed the version point on the old code (real server).

An execution that started before a change but had not reached the ``get_version`` call when the new code
took over gets ``max_supported``, on Cadence as on Temporal: neither engine can tell it from a new execution,
since ``get_version`` is not replaying there. ``DEFAULT_VERSION`` is what an execution sees that went past that
point on the old code and is replayed by the new code; code that dropped DEFAULT_VERSION fails only the decision
task of such an execution (it stays running, so a fixed deployment can resume it).
"""

from __future__ import annotations

import uuid

import pytest

import wfkit
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w


class _Signals:
    def __init__(self) -> None:
        self.go = False
        self.done = False

    @wfkit.signal
    def proceed(self) -> None:
        self.go = True

    @wfkit.signal
    def finish(self) -> None:
        self.done = True


@wfkit.workflow(name="Upgraded")
class UpgradedV1(_Signals):
    @wfkit.run
    async def run(self) -> str:
        await wfkit.execute_activity(w.echo, "step-1", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.go)
        await wfkit.execute_activity(w.echo, "old-step", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.done)
        return "old-path"


@wfkit.workflow(name="Upgraded")
class UpgradedV2(_Signals):
    @wfkit.run
    async def run(self) -> str:
        await wfkit.execute_activity(w.echo, "step-1", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.go)
        v = wfkit.get_version("second-half", wfkit.DEFAULT_VERSION, 1)
        await wfkit.execute_activity(w.echo, "old-step" if v == wfkit.DEFAULT_VERSION else "new-step",
                                     start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.done)
        return f"path{v}"


@wfkit.workflow(name="Upgraded")
class UpgradedV3(_Signals):
    @wfkit.run
    async def run(self) -> str:
        await wfkit.execute_activity(w.echo, "step-1", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.go)
        v = wfkit.get_version("second-half", 1, 1)
        await wfkit.execute_activity(w.echo, "new-step", start_to_close_timeout=10)
        await wfkit.wait_condition(lambda: self.done)
        return f"path{v}"


async def _completed(h, n: int) -> bool:
    frame = (await h.history()).to_dataframe()
    return int((frame["event_type"] == "ActivityTaskCompleted").sum()) >= n


def _wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_old_executions_see_default_version_and_new_ones_the_newest(cclient):
    tq = _wid("ver")
    async with cclient.worker(task_queue=tq, workflows=[UpgradedV1], activities=[w.echo]):
        old = await cclient.start("Upgraded", id=_wid("old"), task_queue=tq)
        await eventually(lambda: _completed(old, 1))
        await old.signal("proceed")
        await eventually(lambda: _completed(old, 2))          # went past the version point on the old code
        not_yet = await cclient.start("Upgraded", id=_wid("notyet"), task_queue=tq)
        await eventually(lambda: _completed(not_yet, 1))      # waits before the version point
    async with cclient.worker(task_queue=tq, workflows=[UpgradedV2], activities=[w.echo]):
        new = await cclient.start("Upgraded", id=_wid("new"), task_queue=tq)
        for h in (new, not_yet):
            await h.signal("proceed")
        for h in (old, new, not_yet):
            await h.signal("finish")
        assert await old.result(timeout=30) == "path-1"       # replayed without a marker: DEFAULT_VERSION
        assert await new.result(timeout=30) == "path1"
        assert await not_yet.result(timeout=30) == "path1"    # reached get_version on the new code
    frame = (await new.history()).to_dataframe()
    assert (frame["event_type"] == "MarkerRecorded").any()


async def test_dropping_default_version_fails_only_the_task(cclient):
    tq = _wid("ver")
    async with cclient.worker(task_queue=tq, workflows=[UpgradedV1], activities=[w.echo]):
        stale = await cclient.start("Upgraded", id=_wid("stale"), task_queue=tq)
        await eventually(lambda: _completed(stale, 1))
        await stale.signal("proceed")
        await eventually(lambda: _completed(stale, 2))
    async with cclient.worker(task_queue=tq, workflows=[UpgradedV3], activities=[w.echo]):
        await stale.signal("finish")
        with pytest.raises(wfkit.TimeoutError):
            await stale.result(timeout=4)
        assert (await stale.describe()).status == "running"
        frame = (await stale.history()).to_dataframe()
        assert (frame["event_type"] == "WorkflowTaskFailed").any()
    # the old code (a fixed deployment) resumes it
    async with cclient.worker(task_queue=tq, workflows=[UpgradedV1], activities=[w.echo]):
        assert await stale.result(timeout=30) == "old-path"
