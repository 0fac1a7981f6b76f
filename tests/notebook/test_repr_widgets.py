"""Reprs (text and HTML, user data escaped) and widgets, against real servers."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

import pytest

import wfkit
from wfkit.testing.conformance import workflows as w

from .conftest import search_until_listed

XSS = "<script>alert('x')</script>"


def test_execution_reprs_escape_user_data():
    e = wfkit.Execution(engine="temporal", workflow_id=f"id-{XSS}", run_id="r", workflow_type=f"T{XSS}",
                        status="running", task_queue=XSS, start_time=datetime(2026, 1, 1, tzinfo=UTC),
                        close_time=None, history_length=3, memo={"k": XSS}, tags=(XSS,))
    for html in (e._repr_html_(), wfkit.Executions([e, e], query=XSS)._repr_html_()):
        assert "<script>" not in html and "&lt;script&gt;" in html
    assert XSS in repr(e)  # plain text shows it as is
    text = repr(wfkit.Executions([e], truncated=True))
    assert text == "<wfkit.Executions: 1 executions (truncated)>"


def test_executions_html_truncates():
    e = wfkit.Execution("temporal", "id", "r", "T", "completed", "q", None, None, 1)
    html = wfkit.Executions([e] * 60)._repr_html_()
    assert "truncated: showing 50 of 60" in html


async def test_client_and_history_reprs(client, task_queue):
    assert client.engine in client._repr_html_() and client.address in client._repr_html_()
    async with client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]):
        h = await client.start(w.Hello, XSS, id=f"xss-{uuid.uuid4().hex[:6]}", task_queue=task_queue)
        await h.result(timeout=30)
    hist = await h.history()
    html = hist._repr_html_()
    assert "<script>" not in html and "WorkflowExecutionStarted" in html
    assert "history" in repr(hist).lower() or "History" in repr(hist)


def test_import_is_light():
    import subprocess

    code = ("import sys, wfkit; heavy = [m for m in ('pandas', 'matplotlib', 'ipywidgets', 'temporalio', 'cadence',"
            " 'IPython', 'jinja2', 'pydantic') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_widgets_browser_and_monitor(temporal_server):
    pytest.importorskip("ipywidgets", reason="the widgets need ipywidgets (the notebook extra)")
    from wfkit.notebook.widgets import ConnectionPanel, LiveMonitor, WorkflowBrowser

    panel = ConnectionPanel(url=temporal_server.url)
    panel.button.click()
    client = panel.client
    assert client is not None and "connected" in panel.status.value
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    prefix = f"wb-{uuid.uuid4().hex[:6]}"
    with client.sync.worker(task_queue=tq, workflows=[w.Hello], activities=[w.echo]):
        client.sync.start(w.Hello, "a", id=f"{prefix}-a", task_queue=tq).sync.result(timeout=30)
    browser = WorkflowBrowser(client, query=f"WorkflowId = '{prefix}-a'")
    search_until_listed(browser)
    assert len(browser.executions or ()) == 1 and f"{prefix}-a" in browser.table._dt_args["data_json"]
    browser.select(0)
    assert browser.detail.outputs, "picking a row shows its history"
    # an error in a callback is shown in the widget, not swallowed
    browser.query.value = "WorkflowId = "
    browser.search_button.click()
    assert browser.errors.outputs and "Error" in browser.errors.outputs[0]["text"]

    mon = LiveMonitor(client, [f"{prefix}-a", "no-such-id"], interval=0.2)
    assert f"{prefix}-a" in mon.table.value and "completed" in mon.table.value
    assert any("WorkflowNotFound" in o["text"] for o in mon.errors.outputs)
    mon.start()
    mon.stop()
    client.sync.close()

    bad = ConnectionPanel(url="temporal://127.0.0.1:1")
    bad.button.click()
    assert bad.client is None and "ConnectionFailed" in bad.out.outputs[0]["text"]
