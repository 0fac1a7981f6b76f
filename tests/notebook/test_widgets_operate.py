"""The workflow browser shows the diagnosis and the pending activities of the workflow picked."""

from __future__ import annotations

import time
import uuid

import pytest

import wfkit
from wfkit.testing.conformance.operate_workflows import CallsBackend, backend_call


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
            deadline = time.monotonic() + 20
            while True:
                browser.search_button.click()
                if len(browser.executions or ()) == 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            browser.select(0)
            html = [o["data"].get("text/html", "") for o in browser.detail.outputs if "data" in o]
            assert any("wfkit-diagnosis" in t and "is retrying" in t and "backend down" in t for t in html), html
            assert any("activity_type" in t and "backend_call" in t for t in html), "the pending activities frame"
            h.sync.terminate("test over")
    finally:
        client.sync.close()
