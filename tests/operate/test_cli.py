"""``wfkit why | stack | result | task-queue | reset | batch | namespaces`` from the shell, on both real servers."""

from __future__ import annotations

import functools
import uuid

import pytest

import wfkit
from wfkit.cli import main
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w


async def _count_is(h, n):
    try:
        return await h.query("count", timeout=5) == n
    except wfkit.QueryFailed:
        return False


@pytest.mark.parametrize("engine_name", ["temporal", "cadence"])
def test_operate_cli(server_for, engine_name, capsys):
    url = server_for(engine_name).url
    client = wfkit.connect_sync(url)
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    wid = f"{prefix}-1"
    try:
        with client.sync.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]):
            h = client.sync.start(w.Waiter, 2, id=wid, task_queue=tq)
            wfkit._loop.run_sync(eventually(functools.partial(_count_is, h, 0), timeout=30))
            capsys.readouterr()

            assert main(["why", url, wid]) == 0
            assert "[info] waiting for a signal" in capsys.readouterr().out
            assert main(["stack", url, wid]) == 0
            assert "wait_condition" in capsys.readouterr().out
            assert main(["task-queue", url, tq]) == 0
            out = capsys.readouterr().out
            assert f"<wfkit.TaskQueueInfo {tq!r}: 1 workflow pollers" in out and "activity" in out
            assert main(["task-queue", url, tq + "-typo"]) == 0
            assert "0 workflow pollers" in capsys.readouterr().out

            client.sync.handle(wid).sync.signal("add", "a")
            wfkit._loop.run_sync(eventually(functools.partial(_count_is, h, 1), timeout=30))
            assert main(["reset", url, wid, "--to", "first"]) == 0
            out = capsys.readouterr().out
            assert "reapplies 1 signals" in out and "nothing done" in out
            assert main(["reset", url, wid, "--to", "first", "--yes"]) == 0
            assert "reset: new run" in capsys.readouterr().out

            query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'"

            async def one_running():
                return len(await client.list(query)) == 1

            wfkit._loop.run_sync(eventually(one_running, timeout=30))
            assert main(["batch", url, "signal", query, "--signal", "add", "--arg", '"b"', "--journal", "none"]) == 0
            out = capsys.readouterr().out
            assert wid in out and "nothing done" in out
            assert main(["batch", url, "signal", query, "--signal", "add", "--arg", '"b"', "--journal", "none",
                         "--yes"]) == 0
            assert "done" in capsys.readouterr().out
            assert main(["result", url, wid, "--timeout", "30"]) == 0
            assert capsys.readouterr().out.strip() == '["a", "b"]'

            assert main(["namespaces", url]) == 0
            assert client.namespace in capsys.readouterr().out
            assert main(["why", url, "no-such-workflow"]) == 1
            assert "WorkflowNotFound" in capsys.readouterr().err
    finally:
        client.sync.close()
