"""What only the local engine does: time skipping, the state file, replay of its own histories, the frames it
gives, and ``wfkit.testing.WorkflowEnvironment``. In process: no server (the Temporal dev server only where a test
says so)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta

import pytest

import wfkit
from wfkit.testing import WorkflowEnvironment
from wfkit.testing.conformance import workflows as w


@wfkit.workflow
class Deadline:
    """Waits up to a day for a signal."""

    def __init__(self) -> None:
        self.got = False

    @wfkit.run
    async def run(self) -> str:
        try:
            await wfkit.wait_condition(lambda: self.got, timeout=timedelta(days=1))
        except wfkit.TimeoutError:
            return "timed out"
        return "signalled"

    @wfkit.signal
    def poke(self) -> None:
        self.got = True


SYNC_SAW_CANCEL: list[str] = []


@wfkit.activity
def sync_heartbeating(key: str) -> str:
    import time

    try:
        for _ in range(400):
            wfkit.heartbeat()
            time.sleep(0.05)
    except BaseException:
        SYNC_SAW_CANCEL.append(key)
        raise
    return "not cancelled"


@wfkit.workflow
class CancelsSyncActivity:
    @wfkit.run
    async def run(self, key: str) -> str:
        import asyncio

        task = asyncio.ensure_future(wfkit.execute_activity(sync_heartbeating, key, start_to_close_timeout=60,
                                                            heartbeat_timeout=5))
        await wfkit.sleep(1)
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, wfkit.ActivityError):
            return "cancelled"
        return "finished"


@wfkit.workflow
class ChildThenTimer:
    """One workflow task issues two commands, a child first: the server records the child's start between them."""

    @wfkit.run
    async def run(self) -> int:
        import asyncio

        child = asyncio.ensure_future(wfkit.execute_child_workflow(w.Child, 2, id=f"{wfkit.info().workflow_id}-c"))
        await asyncio.sleep(0)   # the child's command first
        await wfkit.sleep(0.2)
        return await child


RUNNING: list[int] = [0, 0]   # now, most at once


@wfkit.activity
async def counted(i: int) -> int:
    import asyncio

    RUNNING[0] += 1
    RUNNING[1] = max(RUNNING[1], RUNNING[0])
    await asyncio.sleep(0.05)
    RUNNING[0] -= 1
    return i


@wfkit.workflow
class FanOut:
    @wfkit.run
    async def run(self, n: int) -> list[int]:
        import asyncio

        return list(await asyncio.gather(*(wfkit.execute_activity(counted, i, start_to_close_timeout=10)
                                           for i in range(n))))


@wfkit.workflow
class FailsTwice:
    @wfkit.run
    async def run(self, kind: str) -> int:
        attempt = wfkit.info().attempt
        if attempt < 3:
            raise wfkit.ApplicationError(f"attempt {attempt}", type=kind)
        return attempt


@wfkit.workflow
class RetriesChild:
    @wfkit.run
    async def run(self) -> int:
        return await wfkit.execute_child_workflow(
            FailsTwice, "Flaky", retry_policy=wfkit.RetryPolicy(maximum_attempts=3, backoff_coefficient=1.0))


@wfkit.workflow
class Forever:
    @wfkit.run
    async def run(self, n: int) -> int:
        await wfkit.sleep(timedelta(minutes=1))
        wfkit.continue_as_new(n + 1)


def tq() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"


async def test_a_month_long_timer_with_time_skipping():
    async with WorkflowEnvironment("local", time_skipping=True) as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[w.Month, w.Retrying], activities=[w.echo, w.flaky]):
            h = await env.client.start(w.Month, task_queue=q)
            assert await h.result(timeout=30) >= 30 * 86400   # impossible in real time within the timeout
            # retry backoffs wait on the same clock: two failures, 1 s apart, skipped
            assert await (await env.client.start(w.Retrying, 2, 3, task_queue=q)).result(timeout=30) == 3
        frame = (await h.history()).to_dataframe()
        timer = frame[frame["event_type"].astype(str) == "TimerFired"]
        started = frame[frame["event_type"].astype(str) == "TimerStarted"]
        assert len(timer) == 1
        assert (timer["time"].iloc[0] - started["time"].iloc[0]) >= timedelta(days=30)
    assert set(frame["engine_event_type"].astype(str)) >= {"TimerFired", "ActivityTaskCompleted"}   # Temporal names


async def test_client_sleep_advances_a_skipping_clock():
    async with WorkflowEnvironment("local", time_skipping=True) as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[Deadline], activities=[]):
            poked = await env.client.start(Deadline, task_queue=q)
            await poked.signal("poke")
            assert await poked.result(timeout=10) == "signalled"
            late = await env.client.start(Deadline, task_queue=q)
            await env.skip(timedelta(days=2))
            assert await late.result(timeout=10) == "timed out"


async def test_a_sync_activity_learns_of_its_cancellation_at_its_next_heartbeat():
    from wfkit.testing import eventually

    async with WorkflowEnvironment("local") as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[CancelsSyncActivity], activities=[sync_heartbeating]):
            h = await env.client.start(CancelsSyncActivity, "sync-1", task_queue=q)
            assert await h.result(timeout=30) == "cancelled"

            async def saw() -> bool:
                return "sync-1" in SYNC_SAW_CANCEL

            await eventually(saw, timeout=10)


@wfkit.workflow
class Logs:
    @wfkit.run
    async def run(self) -> str:
        wfkit.logger.info("logged once: %s", wfkit.info().workflow_id)
        for i in range(3):
            await wfkit.execute_activity(w.echo, i, start_to_close_timeout=10)
        return "done"


async def test_workflow_logs_are_not_repeated_by_replays(caplog):
    async with WorkflowEnvironment("local") as env:
        q = tq()
        with caplog.at_level("INFO", logger="wfkit.local.workflow"):
            async with env.worker(task_queue=q, workflows=[Logs], activities=[w.echo]):
                h = await env.client.start(Logs, task_queue=q)
                assert await h.result(timeout=10) == "done"
    assert [r.getMessage() for r in caplog.records if "logged once" in r.getMessage()] == [
        f"logged once: {h.workflow_id}"]


async def test_without_time_skipping_time_is_real():
    async with WorkflowEnvironment("local") as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[w.Sleeper], activities=[]):
            h = await env.client.start(w.Sleeper, 3600, task_queue=q)
            with pytest.raises(wfkit.TimeoutError):
                await h.result(timeout=0.5)
            await h.terminate("test over")


def test_time_skipping_is_a_capability():
    with pytest.raises(wfkit.UnsupportedFeature, match="temporal.*time_skipping"):
        WorkflowEnvironment("temporal", time_skipping=True)
    with pytest.raises(wfkit.WfkitError, match="no-such-engine"):
        WorkflowEnvironment("no-such-engine")


VALUES_ARGS = (w.Point(1, 2, "p"), w.Money(amount=2.5, currency="EUR"), {"a": [1, None]})


async def _values_history(env: WorkflowEnvironment) -> wfkit.History:
    q = tq()
    async with env.worker(task_queue=q, workflows=[w.Values], activities=[w.move, w.double, w.echo]):
        h = await env.client.start(w.Values, *VALUES_ARGS, task_queue=q)
        await h.result(timeout=30)
    return await h.history()


async def test_workflow_environment_on_a_real_server_and_the_same_canonical_history():
    from wfkit.history import diff

    async with WorkflowEnvironment("temporal") as env:
        assert env.client.engine == "temporal"
        on_server = await _values_history(env)
    assert env.server is None
    async with WorkflowEnvironment("local") as env:
        in_process = await _values_history(env)
    # event by event the same canonical events, attempts and payloads as the Temporal server records
    assert diff(in_process, on_server).empty, diff(in_process, on_server)


async def test_workflow_environment_on_cadence_and_its_history_replayed_locally():
    async with WorkflowEnvironment("cadence") as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[w.Hello, w.Sleeper], activities=[w.echo]):
            h = await env.client.start(w.Hello, "cadence", task_queue=q)
            assert await h.result(timeout=60) == "hello cadence"
            s = await env.client.start(w.Sleeper, 1, task_queue=q)
            await s.result(timeout=60)
        assert env.client.engine == "cadence"
        histories = [await h.history(), await s.history()]
    # the local replayer reads another engine's history; the IDs its SDK chose (activity 0, timer 0) are not
    # held against it
    report = await wfkit.replay(histories, [w.Hello, w.Sleeper], engine="local")
    assert report["ok"].tolist() == [True, True], report["error"].tolist()


async def test_children_are_terminated_with_their_parent():
    from wfkit.testing import eventually
    from wfkit.testing.conformance.operate_workflows import WaitsOnChild

    async with WorkflowEnvironment("local") as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[WaitsOnChild, w.Waiter], activities=[w.echo]):
            parent = await env.client.start(WaitsOnChild, task_queue=q)
            child = env.client.handle(f"{parent.workflow_id}-child")

            async def child_running() -> bool:
                try:
                    return (await child.describe()).status == "running"
                except wfkit.WorkflowNotFound:
                    return False

            await eventually(child_running, timeout=10)
            await parent.terminate("done with it")
            assert (await child.describe()).status == "terminated"


@pytest.mark.parametrize("limit,most", [(None, 4), (1, 1), (2, 2)])
async def test_max_concurrent_activities(limit, most):
    RUNNING[:] = [0, 0]
    async with WorkflowEnvironment("local") as env:
        q = tq()
        async with env.client.worker(task_queue=q, workflows=[FanOut], activities=[counted],
                                     max_concurrent_activities=limit):
            assert await (await env.client.start(FanOut, 4, task_queue=q)).result(timeout=10) == [0, 1, 2, 3]
    assert RUNNING[1] == most


async def test_workflow_retry_policy():
    policy = wfkit.RetryPolicy(initial_interval=timedelta(minutes=1), maximum_attempts=3,
                               non_retryable_error_types=["Fatal"])
    async with WorkflowEnvironment("local", time_skipping=True) as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[FailsTwice, RetriesChild], activities=[]):
            h = await env.client.start(FailsTwice, "Flaky", task_queue=q, retry_policy=policy)
            assert await h.result(timeout=10) == 3   # runs 1 and 2 failed; a minute, then two, skipped
            runs = await env.client.list(f"WorkflowId = '{h.workflow_id}'", limit=None)
            assert sorted(e.status for e in runs) == ["completed", "failed", "failed"]
            fatal = await env.client.start(FailsTwice, "Fatal", task_queue=q, retry_policy=policy)
            with pytest.raises(wfkit.WorkflowFailed):
                await fatal.result(timeout=10)
            assert await env.client.count(f"WorkflowId = '{fatal.workflow_id}'") == 1
            assert await (await env.client.start(RetriesChild, task_queue=q)).result(timeout=10) == 3


async def test_execution_timeout_spans_continue_as_new():
    async with WorkflowEnvironment("local", time_skipping=True) as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[Forever], activities=[]):
            h = await env.client.start(Forever, 0, task_queue=q, execution_timeout=timedelta(minutes=5, seconds=30))
            with pytest.raises(wfkit.WorkflowFailed) as info:
                await h.result(timeout=10)
        assert info.value.status == "timed_out"
        runs = await env.client.list(f"WorkflowId = '{h.workflow_id}'", limit=None)
        assert sorted(e.status for e in runs) == ["continued_as_new"] * 5 + ["timed_out"]


async def test_id_reuse_policies():
    async with WorkflowEnvironment("local") as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[w.Hello, w.Raising], activities=[w.echo]):
            h = await env.client.start(w.Hello, "a", id="reuse-ok", task_queue=q)
            await h.result(timeout=10)
            with pytest.raises(wfkit.WorkflowAlreadyStarted, match="reject_duplicate"):
                await env.client.start(w.Hello, "b", id="reuse-ok", task_queue=q, id_reuse_policy="reject_duplicate")
            with pytest.raises(wfkit.WorkflowAlreadyStarted, match="allow_duplicate_failed_only"):
                await env.client.start(w.Hello, "b", id="reuse-ok", task_queue=q,
                                       id_reuse_policy="allow_duplicate_failed_only")
            again = await env.client.start(w.Hello, "c", id="reuse-ok", task_queue=q)
            assert again.run_id != h.run_id and await again.result(timeout=10) == "hello c"
            failed = await env.client.start(w.Raising, "plain", id="reuse-failed", task_queue=q)
            with pytest.raises(wfkit.WorkflowFailed):
                await failed.result(timeout=10)
            await env.client.start(w.Hello, "d", id="reuse-failed", task_queue=q,
                                   id_reuse_policy="allow_duplicate_failed_only")
        waiting = await env.client.start(w.Waiter, 1, id="reuse-running", task_queue=q)
        with pytest.raises(wfkit.WorkflowAlreadyStarted, match="already running"):
            await env.client.start(w.Waiter, 1, id="reuse-running", task_queue=q)
        replaced = await env.client.start(w.Waiter, 1, id="reuse-running", task_queue=q,
                                          id_reuse_policy="terminate_if_running")
        assert (await waiting.describe()).status == "terminated" and replaced.run_id != waiting.run_id
        await replaced.terminate("test over")


async def test_client_url_connects_back_to_the_same_engine(tmp_path):
    for url in ("local://", "local://?time=skip", f"local://{tmp_path}/state.db"):
        first = await wfkit.connect(url)
        h = await first.start(w.Waiter, 1, task_queue=tq())
        again = await wfkit.connect(first.url)
        assert again.url == first.url and (await again.handle(h.workflow_id).describe()).status == "running", url
        await h.terminate("test over")
        await first.close()
        await again.close()


async def test_bad_url_options_are_named():
    with pytest.raises(wfkit.ConnectionFailed, match="time=skip or time=real"):
        await wfkit.connect("local://?time=fast")
    with pytest.raises(wfkit.WfkitError, match="unknown connection option 'speed'"):
        await wfkit.connect("local://?speed=1")
    with pytest.raises(wfkit.ConnectionFailed, match="does not exist.*register=1"):
        await wfkit.connect("local://?namespace=nope")
    c = await wfkit.connect("local://?namespace=made-here&register=1")
    assert (await c.describe_namespace("made-here")).state == "registered"
    await c.close()


PHASE = textwrap.dedent("""
    import asyncio, sys, wfkit
    from wfkit.testing.conformance import workflows as w

    async def main(db, phase):
        c = await wfkit.connect(f"local://{db}")
        async with c.worker(task_queue="q", workflows=[w.Waiter, w.Sleeper], activities=[w.echo]):
            if phase == "1":
                h = await c.start(w.Waiter, 2, id="kept", task_queue="q")
                await h.signal("add", "before restart")
                await c.start(w.Sleeper, 1, id="sleeping", task_queue="q")
                print(await h.query("count"))
            else:
                print(sorted((e.workflow_id, e.status) for e in await c.list(None, limit=None)))
                await c.handle("kept").signal("add", "after restart")
                print(await c.handle("kept").result(timeout=10))
                print(await c.handle("sleeping").result(timeout=10))
                print(len((await c.handle("kept").history()).to_dataframe()))
        await c.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def test_state_file_survives_a_restart_and_workers_resume(tmp_path):
    db = tmp_path / "state.db"
    script = tmp_path / "phase.py"
    script.write_text(PHASE)

    def phase(n: str) -> list[str]:
        out = subprocess.run([sys.executable, str(script), str(db), n], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()

    assert phase("1") == ["1"]
    lines = phase("2")   # a new process: the runs come back from the file and resume by replay
    assert lines[0] == "[('kept', 'running'), ('sleeping', 'running')]"
    assert lines[1:4] == ["['before restart', 'after restart']", "awake"] + lines[3:4]
    assert int(lines[3]) > 5


def test_a_state_file_is_run_by_one_process_at_a_time(tmp_path):

    db = tmp_path / "shared.db"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import asyncio, sys, wfkit

        async def main():
            await wfkit.connect("local://{db}")
            print("open", flush=True)
            sys.stdin.readline()

        asyncio.run(main())
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        out = subprocess.run([sys.executable, "-c", f"import wfkit; wfkit.connect_sync('local://{db}')"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and f"is in use by process {holder.pid}" in out.stderr, out.stderr
    finally:
        holder.communicate("\n", timeout=30)
    out = subprocess.run([sys.executable, "-c", f"import wfkit; wfkit.connect_sync('local://{db}')"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr   # free again once the holder ended


SKIPPING = textwrap.dedent("""
    import asyncio, sys, wfkit
    from wfkit.testing.conformance import workflows as w

    async def main(db):
        c = await wfkit.connect(f"local://{db}?time=skip")
        async with c.worker(task_queue="q", workflows=[w.Sleeper], activities=[]):
            h = await c.start(w.Sleeper, 10 * 86400, task_queue="q")
            await h.result(timeout=10)
        print((await h.describe()).close_time.isoformat())
        await c.close()

    asyncio.run(main(sys.argv[1]))
""")


def test_a_skipping_clock_kept_in_the_state_file_never_goes_back(tmp_path):
    from datetime import datetime

    db, script = tmp_path / "skip.db", tmp_path / "skip.py"
    script.write_text(SKIPPING)

    def run() -> datetime:
        out = subprocess.run([sys.executable, str(script), str(db)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return datetime.fromisoformat(out.stdout.strip())

    first = run()
    second = run()   # a new process: its clock starts where the file's left off, then skips 10 more days
    assert (second - first) >= timedelta(days=10), (first, second)


async def test_commands_of_one_task_replay_around_what_the_server_recorded_between_them():
    async with WorkflowEnvironment("local") as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[ChildThenTimer, w.Child], activities=[]):
            h = await env.client.start(ChildThenTimer, task_queue=q)
            assert await h.result(timeout=10) == 20
            assert await h.query("__wfkit_stack_trace") is not None   # a query replays the whole history
        hist = await h.history()
        names = hist.to_dataframe()["event_type"].astype(str).tolist()
        i = names.index("StartChildWorkflowExecutionInitiated")
        assert names[i:i + 3] == ["StartChildWorkflowExecutionInitiated", "ChildWorkflowExecutionStarted",
                                  "TimerStarted"], names
        report = await wfkit.replay([hist], [ChildThenTimer], engine="local")
        assert report["ok"].tolist() == [True], report["error"].tolist()


async def test_frames_replay_and_diff_work_unchanged():
    from wfkit.history import FRAME_DTYPES, diff

    async with WorkflowEnvironment("local", time_skipping=True) as env:
        q = tq()
        async with env.worker(task_queue=q, workflows=[w.Values, w.Deterministic],
                              activities=[w.move, w.double, w.echo]):
            h1 = await env.client.start(w.Values, w.Point(1, 2, "p"), w.Money(amount=2.5, currency="EUR"), {"a": 1},
                                        task_queue=q)
            await h1.result(timeout=10)
            h2 = await env.client.start(w.Deterministic, task_queue=q)
            await h2.result(timeout=10)
        hist = await h1.history()
        frame = hist.to_dataframe()
        assert {c: str(t) for c, t in frame.dtypes.items()} == {c: str(t) for c, t in FRAME_DTYPES.items()}
        assert hist.engine == "local" and hist.workflow_type == "Values"
        assert list(frame["activity_type"].dropna().unique()) == ["move", "double", "echo"]
        assert diff(hist, hist).empty and not diff(hist, await h2.history()).empty
        report = await wfkit.replay([hist, await h2.history()], [w.Values, w.Deterministic], engine="local")
        assert report["ok"].tolist() == [True, True], report
        # changed code: the recorded activities no longer match
        drifted = await wfkit.replay([hist], [_values_changed()], engine="local")
        assert drifted["ok"].tolist() == [False] and "nondetermin" in drifted["error"].iloc[0].lower()
        # the same history replays on Temporal's replayer too: the events are canonical Temporal events
        assert (await wfkit.replay([hist], [w.Values], engine="temporal"))["ok"].tolist() == [True]


def _values_changed() -> type:
    @wfkit.workflow(name="Values")
    class ValuesChanged:
        @wfkit.run
        async def run(self, p: w.Point, m: w.Money, plain: dict) -> dict:
            await wfkit.execute_activity(w.echo, "new first step", start_to_close_timeout=10)
            return {}

    return ValuesChanged
