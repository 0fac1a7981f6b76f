"""The widgets in a real JupyterLab, driven in Debian's Chromium by Playwright.

JupyterLab runs on 127.0.0.1 (random port, token, temp notebook dir, own config/data/settings dirs); Chromium
opens ``browser_widgets.ipynb`` (beside this file), runs all cells from the Run menu (an embedded Temporal server,
three order sagas, a ``WorkflowBrowser`` and a history timeline), then the test narrows the browser's query, clicks
**Search**, widens it again, clicks a row and checks that its history (execution, compact events grid, timeline)
shows. The executions and the events are itables grids: the test sorts by a header and filters a column in the
page too. Screenshots (01-run-all … 07-history-timeline, failure.png on a failure), the page's console, the server's log
and the processes that ran under it go to ``reports/browser/``.

Needs ``/usr/bin/chromium`` and the Python packages ``jupyterlab`` and ``playwright``: ``bash tests/browser/setup.sh``
installs them. Playwright never downloads a browser here (no ``playwright install``). Without them the test skips,
except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path(__file__).with_name("browser_widgets.ipynb")
REPORTS = ROOT / "reports" / "browser"
CHROMIUM = os.environ.get("WFKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SETUP = "bash tests/browser/setup.sh"

SERVER_START_TIMEOUT = 60  # s, JupyterLab answering /api/status
RUN_ALL_TIMEOUT = 120  # s, all cells executed (Temporal dev server start + 3 sagas + visibility)
KERNEL_ROUNDTRIP_TIMEOUT = 45  # s, a click on a widget → kernel → DOM update
UI_TIMEOUT = 30  # s, plain UI waits (menus, panels)


def _missing() -> list[str]:
    missing = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium at {CHROMIUM} (Debian package chromium)")
    for mod, what in (("jupyterlab", "the Python package jupyterlab"), ("playwright", "the Python package playwright"),
                      ("ipywidgets", "ipywidgets"), ("jupyterlab_widgets", "jupyterlab_widgets")):
        if importlib.util.find_spec(mod) is None:
            missing.append(f"{what} in {sys.prefix}")
    return missing


def _require_tools() -> None:
    missing = _missing()
    if not missing:
        return
    msg = f"the browser test needs {', '.join(missing)}: run `{SETUP}`"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true and {msg}", pytrace=False)
    pytest.skip(msg)


# --------------------------------------------------------------------------------------------- processes


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _descendants(pid: int) -> set[int]:
    kids, out, todo = _children(), set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, token: str, log: Path):
        self.proc, self.port, self.token, self.log = proc, port, token, log
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET", timeout: float = 5) -> Any:
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return ""


def _start_jupyterlab(tmp: Path) -> JupyterLab:
    notebooks, config, data, runtime = (tmp / d for d in ("notebooks", "config", "data", "runtime"))
    settings, workspaces = tmp / "lab-settings", tmp / "lab-workspaces"
    for d in (notebooks, config, data, runtime, settings, workspaces):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    # Nothing from the network (news, update checks), and the app reachable from the page (window.jupyterapp).
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                   "expose_app_in_browser": True},
    }))
    notif = settings / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                        "checkForUpdates": False}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(data),
           "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(workspaces), "JUPYTER_PLATFORM_DIRS": "1",
           "PYTHONUNBUFFERED": "1"}
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    env.pop("JUPYTERHUB_API_TOKEN", None)
    token = secrets.token_hex(16)
    REPORTS.mkdir(parents=True, exist_ok=True)
    log = REPORTS / "jupyterlab.log"
    last_error = ""
    for _attempt in range(3):  # a free port may be taken between probe and bind: try another
        port = _free_port()
        with open(log, "wb") as logf:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--allow-root",
                 f"--ServerApp.root_dir={notebooks}", "--ServerApp.open_browser=False"],
                cwd=notebooks, env=env, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        lab = JupyterLab(proc, port, token, log)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                lab.api("/api/status", timeout=2)
                return lab
            except OSError:
                time.sleep(0.3)
        last_error = lab.log_tail()
        _stop_jupyterlab(lab)
    raise AssertionError(f"JupyterLab did not start within {SERVER_START_TIMEOUT} s; its log:\n{last_error}")


def _stop_jupyterlab(lab: JupyterLab) -> list[int]:
    """Shut JupyterLab down (kernels first) and return the pids of its descendants still alive afterwards."""
    tree = _descendants(lab.proc.pid)
    with contextlib.suppress(OSError):  # an artifact: what ran under JupyterLab (kernel, Temporal dev server…)
        (REPORTS / "processes.txt").write_text("".join(f"{p} {_cmdline(p)}\n" for p in sorted(tree)))
    if lab.proc.poll() is None:
        with contextlib.suppress(OSError):
            for kernel in lab.api("/api/kernels"):
                lab.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)
        with contextlib.suppress(OSError):
            lab.api("/api/shutdown", method="POST")
        try:
            lab.proc.wait(20)
        except subprocess.TimeoutExpired:
            lab.proc.send_signal(signal.SIGTERM)
            try:
                lab.proc.wait(10)
            except subprocess.TimeoutExpired:
                lab.proc.kill()
                lab.proc.wait(10)
    deadline = time.monotonic() + 15  # the kernel's atexit / parent-death handling stops the Temporal server
    while time.monotonic() < deadline and any(_alive(p) for p in tree):
        time.sleep(0.2)
    left = [p for p in tree if _alive(p)]
    for p in left:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    return left


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[JupyterLab]:
    _require_tools()
    lab = _start_jupyterlab(tmp_path)
    try:
        yield lab
    finally:
        left = _stop_jupyterlab(lab)
    assert not left, f"processes started under JupyterLab outlived it (killed now): {left}"


# --------------------------------------------------------------------------------------------- the test

# JupyterLab's notebook model, read through the app exposed to the page: each code cell's outputs as nbformat JSON.
CELL_OUTPUTS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type === 'code') out.push({count: c.executionCount, outputs: c.outputs.toJSON()});
  }
  return out;
}"""

KERNEL_READY_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.connectionStatus === 'connected' && (k.status === 'idle' || k.status === 'busy'));
}"""


def test_workflow_browser_in_jupyterlab(jupyterlab: JupyterLab) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    console: list[str] = []
    shot_paths: list[Path] = []

    def shot(page: Any, name: str, element: Any = None) -> None:
        path = REPORTS / name
        (element or page).screenshot(path=str(path), **({} if element else {"full_page": True}))
        shot_paths.append(path)

    for stale in REPORTS.glob("*.png"):  # the artifacts are this run's only
        stale.unlink()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT * 1000)
            page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
            page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
            try:
                _drive(page, jupyterlab, shot)
            except (AssertionError, PlaywrightError):
                with contextlib.suppress(PlaywrightError):
                    shot(page, "failure.png")
                raise
            finally:
                (REPORTS / "console.log").write_text("\n".join(console) + "\n")
        finally:
            browser.close()
    assert all(p.stat().st_size > 0 for p in shot_paths)


def _drive(page: Any, lab: JupyterLab, shot: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{lab.base}/lab/tree/{NOTEBOOK.name}?token={lab.token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    page.wait_for_function(KERNEL_READY_JS, timeout=60_000)

    # Run ▸ Run All Cells, from the menu bar as a person would.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    ready = page.locator(".jp-OutputArea-output", has_text="notebook ready:")
    ready.wait_for(timeout=RUN_ALL_TIMEOUT * 1000)
    m = re.search(r"notebook ready: run (\w+), (\d+) rows", ready.inner_text())
    assert m, f"unexpected last output: {ready.inner_text()!r}"
    run, rows_total = m.group(1), int(m.group(2))
    assert rows_total >= 3, f"the browser listed {rows_total} rows after three sagas"

    cells = page.evaluate(CELL_OUTPUTS_JS)
    errors = [o for c in cells for o in c["outputs"] if o.get("output_type") == "error"]
    assert not errors, f"cells raised: {[(e.get('ename'), e.get('evalue')) for e in errors]}"
    assert all(c["count"] for c in cells), "every code cell ran"
    timeline = [o for c in cells for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert timeline, "the history timeline cell shows a picture"
    page.wait_for_selector(".jp-OutputArea-output img")  # …and the page renders it
    shot(page, "01-run-all.png")

    widget = page.locator(".wfkit-browser-under-test")
    widget.wait_for(timeout=KERNEL_ROUNDTRIP_TIMEOUT * 1000)
    widget.scroll_into_view_if_needed()
    # the executions grid (itables/DataTables): column headers, a filter per column, rows drawn as a table
    grid = widget.locator(".dt-container").first
    grid.wait_for(timeout=KERNEL_ROUNDTRIP_TIMEOUT * 1000)
    # each column header is its filter: an input showing the column's name
    filters = grid.locator("thead input")
    headers = [filters.nth(i).get_attribute("placeholder") or "" for i in range(filters.count())]
    for column in ("workflow_id", "workflow_type", "status", "start_time", "close_time"):
        assert column in headers, f"no {column!r} column (filter) in the grid's header: {headers}"
    rows = grid.locator("tbody tr")
    ids = [f"bw-{run}-{i}" for i in (1, 2, 3)]
    for wid in ids:
        expect_text(rows, wid)
    expect(widget.locator(".widget-html").first).to_contain_text(f"{rows_total} executions")
    shot(page, "02-browser-rows.png", widget)

    # sort by clicking a column header: workflow IDs descending puts -3 first
    order = grid.locator("thead th").first.locator(".dt-column-order")
    order.click()
    order.click()
    deadline = time.monotonic() + UI_TIMEOUT
    while not rows.first.inner_text().strip().startswith(ids[2]):
        assert time.monotonic() < deadline, f"sorting did not put {ids[2]} first: {rows.all_inner_texts()}"
        time.sleep(0.2)
    # filter one column in the page (no kernel round trip): one row left
    filters.first.fill(ids[1])
    filters.first.press("End")  # DataTables filters on keyup, as a person typing
    deadline = time.monotonic() + UI_TIMEOUT
    while [t for t in rows.all_inner_texts() if "bw-" in t] != [t for t in rows.all_inner_texts() if ids[1] in t] \
            or not any(ids[1] in t for t in rows.all_inner_texts()):
        assert time.monotonic() < deadline, f"the column filter left: {rows.all_inner_texts()}"
        time.sleep(0.2)
    shot(page, "03-grid-sorted-filtered.png", widget)
    filters.first.fill("")
    filters.first.press("End")

    # Search with a narrower query: one row, from the kernel.
    query = widget.locator("input[type=text]").first
    query.fill(f"WorkflowId = '{ids[1]}'")
    widget.get_by_role("button", name="Search").click()
    expect(widget.locator(".widget-html").first).to_contain_text("1 executions",
                                                                 timeout=KERNEL_ROUNDTRIP_TIMEOUT * 1000)
    deadline = time.monotonic() + KERNEL_ROUNDTRIP_TIMEOUT
    while [t for t in rows.all_inner_texts() if "bw-" in t] != [t for t in rows.all_inner_texts() if ids[1] in t] \
            or not any(ids[1] in t for t in rows.all_inner_texts()):
        assert time.monotonic() < deadline, f"after the search: {rows.all_inner_texts()}"
        time.sleep(0.25)
    shot(page, "04-search-one.png", widget)

    # Back to all order sagas, then click the compensated one's row.
    query.fill("WorkflowType='OrderWorkflow'")
    widget.get_by_role("button", name="Search").click()
    expect(widget.locator(".widget-html").first).not_to_contain_text("1 executions",
                                                                     timeout=KERNEL_ROUNDTRIP_TIMEOUT * 1000)
    for wid in ids:
        expect_text(rows, wid)
    rows.filter(has_text=ids[1]).first.click()

    detail = widget.locator(".widget-output").last
    detail.locator("img").first.wait_for(timeout=KERNEL_ROUNDTRIP_TIMEOUT * 1000)  # the timeline figure
    events = detail.locator(".dt-container").first  # the compact event grid
    events.wait_for()
    text = detail.inner_text()
    assert ids[1] in text, f"the picked row's execution is shown: {text[:500]!r}"
    for event in ("WorkflowExecutionStarted", "ActivityTaskFailed"):
        expect(events).to_contain_text(event)
    event_inputs = events.locator("thead input")
    event_headers = " ".join(event_inputs.nth(i).get_attribute("placeholder") or ""
                             for i in range(event_inputs.count()))
    assert "offset" in event_headers and "workflow_id" not in event_headers and "run_id" not in event_headers
    assert events.locator(".wfkit-failed").count() >= 1, "the failure is highlighted"
    errors_out = widget.locator(".widget-output").first.inner_text().strip()
    assert not errors_out, f"the widget reported an error: {errors_out!r}"
    # JupyterLab scrolls the notebook inside its own panel: take the viewport, scrolled to each part.
    widget.evaluate("e => e.scrollIntoView({block: 'start'})")
    shot(page, "05-row-picked.png")
    events.evaluate("e => e.scrollIntoView({block: 'start'})")
    shot(page, "06-history-events.png")
    detail.locator("img").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "07-history-timeline.png")


def expect_text(options: Any, text: str, timeout: float = KERNEL_ROUNDTRIP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        labels = options.all_inner_texts()
        if any(text in t for t in labels):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no row with {text!r} in the browser's grid: {labels}")
        time.sleep(0.25)
