"""A workflow whose input no worker can decode (another SDK's encoding, an encrypted payload): its workflow task
keeps failing, and ``diagnose`` says it is a decode error, with the worker's message. Each engine's own client
starts it, since wfkit only ever writes JSON."""

from __future__ import annotations

import uuid

import wfkit
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w


async def _failing(h):
    d = await h.diagnose()
    return d if "workflow_task_failing" in d.kinds else None


async def _check(client, h):
    d = await eventually(lambda: _failing(h), timeout=60)
    f = next(f for f in d.findings if f.kind == "workflow_task_failing")
    assert f.evidence["cause"] == "decode error", f.evidence
    assert f.evidence["message"], f.evidence
    await h.terminate("test over")


async def test_undecodable_input_on_temporal(temporal_server, task_queue):
    from temporalio.api.common.v1 import Payload
    from temporalio.common import RawValue

    client = await wfkit.connect(temporal_server.url)
    try:
        async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
            wid = f"undecodable-{uuid.uuid4().hex[:8]}"
            secret = Payload(metadata={"encoding": b"binary/encrypted"}, data=b"\x00\x01sealed")
            await client.engine_client.unwrap().start_workflow("Hello", RawValue(secret), id=wid,
                                                               task_queue=task_queue)
            await _check(client, client.handle(wid))
    finally:
        await client.close()


async def test_undecodable_input_on_cadence(cadence_server, task_queue):
    from cadence.api.v1.common_pb2 import Payload, WorkflowType
    from cadence.api.v1.service_workflow_pb2 import StartWorkflowExecutionRequest
    from cadence.api.v1.tasklist_pb2 import TaskList
    from google.protobuf.duration_pb2 import Duration

    client = await wfkit.connect(cadence_server.url)
    try:
        async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
            wid = f"undecodable-{uuid.uuid4().hex[:8]}"
            raw = client.engine_client.unwrap()
            req = StartWorkflowExecutionRequest(
                domain=client.namespace, workflow_id=wid, workflow_type=WorkflowType(name="Hello"),
                task_list=TaskList(name=task_queue), input=Payload(data=b"\x00\x01sealed"),
                request_id=str(uuid.uuid4()), execution_start_to_close_timeout=Duration(seconds=600),
                task_start_to_close_timeout=Duration(seconds=10))
            from wfkit._loop import on_loop

            async def start() -> None:  # the channel lives on wfkit's loop
                await raw.workflow_stub.StartWorkflowExecution(req)

            await on_loop(start())
            await _check(client, client.handle(wid))
    finally:
        await client.close()
