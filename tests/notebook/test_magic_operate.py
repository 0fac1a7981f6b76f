"""``%wf result | why | stack | task-queue | reset | batch | namespaces`` in a real IPython shell, on both servers."""

from __future__ import annotations

import functools
import uuid

import pandas as pd
import pytest

import wfkit
from wfkit.notebook.commands import COMMANDS
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w

OPERATE = ("result", "why", "stack", "task-queue", "reset", "batch", "namespaces", "schedules")


def wf(ip, line):
    return ip.run_line_magic("wf", line)


@pytest.fixture(params=["temporal", "cadence"])
def connected(request, ip, magic, server_for):
    name = f"op-{request.param}"
    wf(ip, f"connect {server_for(request.param).url} --as {name}")
    yield magic.connections[name]
    wf(ip, f"close {name}")


async def _count_is(h, n):
    try:
        return await h.query("count", timeout=5) == n
    except wfkit.QueryFailed:
        return False


@pytest.mark.parametrize("name", OPERATE)
def test_each_has_help(ip, name, capsys):
    assert name in COMMANDS
    wf(ip, f"{name} --help")
    out = capsys.readouterr().out
    assert out.startswith(f"usage: %wf {name}") and "example:" in out


def test_operate_subcommands(ip, connected, capsys):
    client = connected
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    prefix = f"mop-{uuid.uuid4().hex[:8]}"
    worker = client.worker(task_queue=tq, workflows=[w.Waiter, w.Hello], activities=[w.echo]).start()
    try:
        wid = f"{prefix}-1"
        wf(ip, f"start Waiter --id {wid} --task-queue {tq} --input 3")
        h = client.handle(wid)
        wfkit._loop.run_sync(eventually(functools.partial(_count_is, h, 0), timeout=30))

        d = wf(ip, f"why {wid}")
        assert isinstance(d, wfkit.Diagnosis) and d.kinds == ("waiting_signal",), d
        assert "waiting for a signal" in d._repr_html_()
        assert "wait_condition" in str(wf(ip, f"stack {wid}"))
        tqi = wf(ip, f"task-queue {tq}")
        assert isinstance(tqi, wfkit.TaskQueueInfo) and tqi.workflow_pollers

        wf(ip, f"signal {wid} add '\"a\"'")
        wfkit._loop.run_sync(eventually(functools.partial(_count_is, h, 1), timeout=30))
        plan = wf(ip, f"reset {wid} --to first")
        assert isinstance(plan, wfkit.ResetPlan) and len(plan.reapplied_signals) == 1
        new = wf(ip, f"reset {wid} --to first --reason magic --yes")
        assert isinstance(new, wfkit.WorkflowHandle) and new.run_id != plan.run_id
        wfkit._loop.run_sync(eventually(functools.partial(_count_is, new, 1), timeout=30))

        query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'"

        async def listed():
            return len(await client.list(query)) == 1

        wfkit._loop.run_sync(eventually(listed, timeout=30))
        preview = wf(ip, f'batch signal "{query}" --signal add --arg \'"b"\' --journal none')
        assert isinstance(preview, wfkit.BatchPlan) and preview.preview["workflow_id"].tolist() == [wid]
        done = wf(ip, f'batch signal "{query}" --signal add --arg \'"b"\' --arg-ignored x --journal none --yes')
        assert done is None  # a usage error is printed, nothing is done
        assert "unrecognized arguments" in capsys.readouterr().err
        done = wf(ip, f'batch signal "{query}" --signal add --arg \'"b"\' --journal none --yes')
        assert isinstance(done, pd.DataFrame) and done["outcome"].tolist() == ["done"]
        wf(ip, f'signal {wid} add \'"c"\'')
        assert wf(ip, f"result {wid} --timeout 30") == ["a", "b", "c"]

        frame = wf(ip, "namespaces")
        assert client.namespace in frame["name"].tolist()
        assert wf(ip, f"namespaces {client.namespace}").name == client.namespace
    finally:
        worker.stop()


def test_schedules_subcommand(ip, connected, capsys):
    client = connected
    if wfkit.Capability.SCHEDULES not in client.capabilities:
        wf(ip, "schedules")
        assert "does not support schedules" in capsys.readouterr().err
        return
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    sid = f"msched-{uuid.uuid4().hex[:8]}"
    client.sync.create_schedule(sid, w.Hello, "x", task_queue=tq, cron="0 0 1 1 *")
    try:
        paused = wf(ip, f"schedules {sid} --pause --note maintenance")
        assert isinstance(paused, wfkit.Schedule) and paused.paused and paused.note == "maintenance"
        assert not wf(ip, f"schedules {sid} --unpause").paused

        async def listed():
            return sid in [s.id for s in await client.schedules()]

        wfkit._loop.run_sync(eventually(listed, timeout=30))
        assert sid in wf(ip, "schedules")["id"].tolist()
        wf(ip, "schedules --trigger")
        assert "needs a schedule ID" in capsys.readouterr().err
    finally:
        wf(ip, f"schedules {sid} --delete")
    with pytest.raises(wfkit.WfkitError, match="does not exist"):
        client.sync.describe_schedule(sid)
