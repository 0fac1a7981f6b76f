"""wfkit next to a Go worker and client on go.uber.org/cadence (gRPC transport): each drives and reads the
other's workflows on the same Cadence server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import wfkit
import wfkit.analytics
from wfkit.examples import orders
from wfkit.testing import eventually


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _go_result(gocadence, workflow_id: str) -> dict:
    return await asyncio.to_thread(gocadence, "result", id=workflow_id)


async def test_go_failure_messages_in_frames_and_analytics(gocadence, cadence):
    """A Go errors.New message (non-JSON details under reason cadenceInternal:Generic) and a Go custom error
    (reason + JSON details) read the same in result(), the failure column, activities() and analytics."""
    tl = wid("go-tl")
    with gocadence.worker(tl):
        plain = gocadence("start", tasklist=tl, type="main.GoFailing", id=wid("go-plain"), input=False)
        custom = gocadence("start", tasklist=tl, type="main.GoFailing", id=wid("go-custom"), input=True)
        for started in (plain, custom):
            assert "error" in await _go_result(gocadence, started["workflow_id"])
    h = cadence.handle(plain["workflow_id"])
    with pytest.raises(wfkit.WorkflowFailed) as info:
        await h.result(timeout=10)
    assert "disk full while writing /var/data" in str(info.value.cause)
    hist = await h.history()
    frame = hist.to_dataframe()
    failed = frame[frame["event_type"] == "ActivityTaskFailed"]["failure"].tolist()
    assert failed and all("disk full while writing /var/data" in f for f in failed), failed
    assert "disk full while writing /var/data" in hist.activities()["last_failure"].iloc[0]
    ch = await cadence.handle(custom["workflow_id"]).history()
    cframe = ch.to_dataframe()
    cfailed = cframe[cframe["event_type"].isin(["ActivityTaskFailed", "WorkflowExecutionFailed"])]["failure"]
    assert cfailed.tolist() == ['InsufficientFunds: {"balance":3,"needed":10}'] * 2
    assert ch.activities()["last_failure"].tolist() == ['InsufficientFunds: {"balance":3,"needed":10}']
    with pytest.raises(wfkit.WorkflowFailed) as cinfo:
        await cadence.handle(custom["workflow_id"]).result(timeout=10)
    assert cinfo.value.cause.type == "InsufficientFunds"
    assert cinfo.value.cause.details == ({"balance": 3, "needed": 10},)
    # the Cadence CLI's JSON of the same histories reads the same
    for one, f in ((hist, frame), (ch, cframe)):
        again = wfkit.History.from_json(one.to_json(format="cadence")).to_dataframe()
        assert again["failure"].tolist() == f["failure"].tolist()
    failures = wfkit.analytics.failures(wfkit.histories_frame([hist, ch]))
    text = " ".join(map(str, failures.to_numpy().ravel()))
    assert "disk full while writing /var/data" in text and '"balance":3' in text, failures


async def test_go_client_drives_the_wfkit_order_saga(gocadence, cadence):
    """The Go client starts wfkit's order saga, signals it (once with a payload of the wrong shape: dropped, not
    wedging), queries it and reads its result."""
    tl, workflow_id = wid("saga-tl"), wid("go-saga")
    order = {"order_id": "g1", "customer": "gopher", "items": [{"sku": "book", "quantity": 1}], "amount": 9.5,
             "review_seconds": 30}
    async with cadence.worker(task_queue=tl, workflows=orders.WORKFLOWS, activities=orders.ACTIVITIES):
        started = await asyncio.to_thread(gocadence, "start", tasklist=tl, type="OrderWorkflow", id=workflow_id,
                                          input=order)

        async def in_review() -> bool:
            answer = await asyncio.to_thread(gocadence, "query", id=workflow_id, name="status")
            return answer.get("result") == "in review"

        await eventually(in_review, timeout=30)
        await asyncio.to_thread(gocadence, "signal", id=workflow_id, name="cancel_order", input={"reason": "a dict"})

        async def dropped() -> bool:
            return len(await cadence.handle(workflow_id).dropped_signals()) == 1

        await eventually(dropped, timeout=30)
        assert (await asyncio.to_thread(gocadence, "query", id=workflow_id, name="status"))["result"] == "in review"
        await asyncio.to_thread(gocadence, "signal", id=workflow_id, name="cancel_order", input="changed my mind")
        result = (await _go_result(gocadence, workflow_id))["result"]
    assert result["status"] == "cancelled" and result["steps"][-1] == "cancelled: changed my mind"
    ex = await cadence.handle(workflow_id).describe()
    assert (ex.run_id, ex.workflow_type, ex.status) == (started["run_id"], "OrderWorkflow", "completed")
    signals = (await cadence.handle(workflow_id).history()).signals(orders.OrderWorkflow)
    assert signals["dropped"].notna().tolist() == [True, False]


async def test_wfkit_drives_go_workflows(gocadence, cadence):
    """wfkit starts, signals, queries, lists and reads a Go workflow; a Go parent's children carry the Go
    client's default IDs, ``<parent run ID>_<n>``."""
    tl = wid("go-tl")
    with gocadence.worker(tl):
        h = await cadence.start("main.GoWaiter", 2, id=wid("go-waiter"), task_queue=tl)
        await h.signal("add", "a")

        async def one_item() -> bool:
            try:
                return await h.query("items") == ["a"]
            except wfkit.QueryFailed:
                return False

        await eventually(one_item, timeout=30)
        await h.signal("add", "b")
        assert await h.result(timeout=30) == ["a", "b"]
        parent = await cadence.start("main.GoParent", id=wid("go-parent"), task_queue=tl)
        children = await parent.result(timeout=30)
    assert len(set(children)) == 2 and all(
        c.rsplit("_", 1)[0] == parent.run_id and c.rsplit("_", 1)[1].isdigit() for c in children), children
    ex = await h.describe()
    assert ex.status == "completed" and ex.workflow_type == "main.GoWaiter"
    frame = (await h.history()).to_dataframe()
    assert frame["signal_name"].dropna().tolist() == ["add", "add"]


async def test_migration_preview_says_a_go_worker_answered(gocadence, cadence, temporal):
    """A Go workflow's worker answers the migration-state query with 'unknown queryType': the preview says so
    (it said "no worker answered the migration-state query")."""
    from wfkit import migrate

    tl, workflow_id = wid("go-tl"), wid("go-mig")
    with gocadence.worker(tl):
        h = await cadence.start("main.GoWaiter", 5, id=workflow_id, task_queue=tl)

        async def listed() -> bool:
            return len(await cadence.list(f"WorkflowId = '{workflow_id}'", limit=None)) == 1

        await eventually(listed, timeout=30)
        plan = await migrate.plan(cadence, temporal, query=f"WorkflowId = '{workflow_id}'")
        reason = plan.preview["reason"].iloc[0]
        await h.terminate("test over")
    assert plan.preview["action"].tolist() == ["blocked"]
    assert "worker answered that it knows no migration-state query" in reason and "no worker" not in reason, reason


async def test_cadence_cli_drives_the_saga_and_its_export_reads_back(cadence_cli, cadence, tmp_path):
    """The Cadence CLI (built from its module) starts and signals wfkit's saga and exports its history
    (``workflow show --of``, a file without workflow ID): wfkit reads it (``--workflow-id``) and replays it."""
    import json
    import subprocess
    import sys

    tl, workflow_id = wid("cli-tl"), wid("cli-saga")
    order = {"order_id": "c1", "customer": "cli", "items": [{"sku": "mug", "quantity": 1}], "amount": 3.0,
             "review_seconds": 30}
    async with cadence.worker(task_queue=tl, workflows=orders.WORKFLOWS, activities=orders.ACTIVITIES):
        await asyncio.to_thread(cadence_cli, "workflow", "start", "--tl", tl, "--wt", "OrderWorkflow", "--et", "120",
                                "--wid", workflow_id, "--input", json.dumps(order))
        h = cadence.handle(workflow_id)

        async def in_review() -> bool:
            try:
                return await h.query("status") == "in review"
            except wfkit.QueryFailed:
                return False

        await eventually(in_review, timeout=30)
        await asyncio.to_thread(cadence_cli, "workflow", "signal", "--wid", workflow_id, "--name", "cancel_order",
                                "--input", '{"reason": "a dict"}')
        await asyncio.to_thread(cadence_cli, "workflow", "signal", "--wid", workflow_id, "--name", "cancel_order",
                                "--input", '"from the cli"')
        result = await h.result(timeout=30)
        assert len(await h.dropped_signals()) == 1
    assert result["status"] == "cancelled" and result["steps"][-1] == "cancelled: from the cli"
    export = tmp_path / "saga.json"
    await asyncio.to_thread(cadence_cli, "workflow", "show", "--wid", workflow_id, "--of", str(export))
    read = wfkit.History.from_json(export, workflow_id=workflow_id)
    server = await h.history()
    assert read.workflow_id == workflow_id and len(read) == len(server)
    cols = ["event_id", "event_type", "time", "signal_name", "activity_type"]
    assert read.to_dataframe()[cols].astype(str).equals(server.to_dataframe()[cols].astype(str))
    run = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", "import sys, wfkit.cli; sys.exit(wfkit.cli.main())", "replay",
                         str(export), "--workflows", "wfkit.examples.orders", "--engine", "cadence",
                         "--workflow-id", workflow_id], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and workflow_id in run.stdout, run.stdout + run.stderr
