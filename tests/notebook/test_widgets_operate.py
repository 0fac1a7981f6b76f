"""The workflow browser shows the diagnosis and the pending activities of the workflow picked."""

from __future__ import annotations

import time
import uuid

import pytest

import wfkit
from wfkit.testing.conformance.operate_workflows import CallsBackend, backend_call

from .conftest import search_until_listed


@pytest.mark.parametrize("engine_name", ["temporal", "cadence"])
def test_browser_shows_diagnosis_and_pending_activities(server_for, engine_name):
    pytest.importorskip("ipywidgets", reason="the widgets need ipywidgets (the notebook extra)")
    from wfkit.notebook.widgets import WorkflowBrowser

    client = wfkit.connect_sync(server_for(engine_name).url)
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    wid = f"wbd-{uuid.uuid4().hex[:8]}"
    try:
        with client.sync.worker(task_queue=tq, workflows=[CallsBackend], activities=[backend_call]):
            h = client.sync.start(CallsBackend, "o-9", id=wid, task_queue=tq)
            deadline = time.monotonic() + 30
            while True:
                ex = h.sync.describe()
                if (ex.pending_activities and ex.pending_activities[0].attempt >= 2) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            browser = WorkflowBrowser(client, query=f"WorkflowId = '{wid}'")
            search_until_listed(browser)
            browser.select(0)
            html = [o["data"].get("text/html", "") for o in browser.detail.outputs if "data" in o]
            assert any("wfkit-diagnosis" in t and "is retrying" in t and "backend down" in t for t in html), html
            assert any("activity_type" in t and "backend_call" in t for t in html), "the pending activities frame"
            h.sync.terminate("test over")
    finally:
        client.sync.close()


def test_batch_panel_previews_then_confirms(server_for):
    pytest.importorskip("ipywidgets", reason="the widgets need ipywidgets (the notebook extra)")
    from wfkit.notebook.widgets import BatchPanel
    from wfkit.testing.conformance import workflows as w

    client = wfkit.connect_sync(server_for("temporal").url)
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    prefix = f"bp-{uuid.uuid4().hex[:8]}"
    query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'"
    try:
        with client.sync.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]):
            hs = [client.sync.start(w.Waiter, 1, id=f"{prefix}-{i}", task_queue=tq) for i in range(2)]
            deadline = time.monotonic() + 30
            while len(client.sync.list(query)) < 2 and time.monotonic() < deadline:
                time.sleep(0.3)
            panel = BatchPanel(client, query=query)
            assert panel.confirm_button.disabled  # nothing to confirm before a preview
            panel.signal.value = "add"
            panel.args.value = '["go"]'
            panel.preview_button.click()
            assert not panel.errors.outputs, panel.errors.outputs
            assert "2 workflows would get signal" in panel.status.value and not panel.confirm_button.disabled
            for h in hs:  # the preview sent nothing
                assert h.sync.describe().status == "running"
            panel.args.value = '["went"]'  # a change needs a new preview
            assert panel.confirm_button.disabled
            panel.preview_button.click()
            panel.confirm_button.click()
            assert not panel.errors.outputs, panel.errors.outputs
            assert panel.status.value == "done: done 2" and panel.confirm_button.disabled
            assert sorted(h.sync.result(timeout=30)[0] for h in hs) == ["went", "went"]
    finally:
        client.sync.close()
