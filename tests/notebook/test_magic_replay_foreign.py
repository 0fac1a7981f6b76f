"""``%wf replay`` with a temporalio ``@workflow.defn`` class (a workflow written without wfkit)."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("temporalio")


def test_replay_a_temporalio_class(ip, magic, temporal_server):
    from temporalio.client import Client
    from temporalio.worker import Worker

    from tests.interop import temporalio_workflows as tw
    from wfkit._loop import run_sync

    ip.run_line_magic("wf", f"connect {temporal_server.url} --as tio")
    client = magic.connections["tio"]
    tq, workflow_id = f"tq-{uuid.uuid4().hex[:8]}", f"greeter-{uuid.uuid4().hex[:8]}"

    async def record() -> None:
        raw = await Client.connect(f"127.0.0.1:{temporal_server.port}", namespace="default")
        async with Worker(raw, task_queue=tq, workflows=[tw.Greeter], activities=[tw.shout]):
            h = await raw.start_workflow(tw.Greeter.run, 1, id=workflow_id, task_queue=tq)
            await h.signal(tw.Greeter.add, "hi")
            assert await h.result() == "HI"

    run_sync(record())
    assert client.sync.handle(workflow_id).sync.describe().status == "completed"
    ip.user_ns["same"], ip.user_ns["changed"] = [tw.Greeter], [tw.GreeterChanged]
    ok = ip.run_line_magic("wf", f"replay {workflow_id} --workflows {{{{same}}}}")
    assert ok["ok"].tolist() == [True], ok
    bad = ip.run_line_magic("wf", f"replay {workflow_id} --workflows {{{{changed}}}}")
    assert bad["ok"].tolist() == [False] and "Nondeterminism" in bad["error"].iloc[0]
