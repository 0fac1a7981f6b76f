"""``%wf`` usability: help where users look for it, DataFrames from ``<<``, every ``%config WfMagic`` option, the
background worker, and the README's notebook section run as written."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pandas as pd
import pytest

import wfkit
from wfkit.notebook.commands import COMMANDS
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w

from .conftest import completed_hellos, search_until_listed, wait_listed

README = Path(__file__).resolve().parents[2] / "README.md"


def wf(ip, line):
    return ip.run_line_magic("wf", line)


@pytest.fixture
def connected(ip, magic, temporal_server):
    wf(ip, f"connect {temporal_server.url} --as t")
    yield magic.connections["t"]
    if "t" in magic.connections:
        magic.connections.stop_workers("t")


# --- item 2: help ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_prints_its_usage_with_help(ip, capsys, name):
    assert wf(ip, f"{name} --help") is None
    out, err = capsys.readouterr()
    assert err == "" and out.startswith(f"usage: %wf {name}") and "show this help" in out
    wf(ip, f"help {name}")
    assert capsys.readouterr().out == out


def test_overview_in_help_and_docstring(ip, capsys):
    for line in ("--help", "-h", "help"):
        wf(ip, line)
        out, err = capsys.readouterr()
        assert err == "" and all(f"  {name} " in out for name in COMMANDS) and "%wf connect" in out
    ip.run_cell("%wf?")
    doc = capsys.readouterr().out
    assert "<no docstring>" not in doc and "subcommands:" in doc and "worker" in doc and "example" in doc
    wf(ip, "help nope")
    assert "unknown subcommand 'nope'" in capsys.readouterr().err


def test_trailing_comment_ends_the_line(ip, capsys):
    wf(ip, "help start   # a comment, as in the README")
    assert capsys.readouterr().out.startswith("usage: %wf start")


# --- item 4: DataFrames from <<, Executions as a table --------------------------------------------------------
def test_assignment_gives_dataframes_unless_autopandas_is_off(ip, connected):
    prefix = f"ap-{uuid.uuid4().hex[:8]}"
    query = completed_hellos(connected, prefix)
    wf(ip, f'df << list "{query}"')
    df = ip.user_ns["df"]
    assert isinstance(df, pd.DataFrame) and len(df) == 2 and set(df["workflow_id"]) == {f"{prefix}-0", f"{prefix}-1"}
    assert len(df.head()) == 2
    wf(ip, f"h << history {prefix}-0")
    assert isinstance(ip.user_ns["h"], pd.DataFrame) and "event_type" in ip.user_ns["h"].columns
    assert wf(ip, f'n= << count "{query}"') == 2
    ip.run_line_magic("config", "WfMagic.autopandas = False")
    try:
        wf(ip, f'df << list "{query}"')
        execs = ip.user_ns["df"]
        assert isinstance(execs, wfkit.Executions)
        wf(ip, f"h << history {prefix}-0")
        assert isinstance(ip.user_ns["h"], wfkit.History)
    finally:
        ip.run_line_magic("config", "WfMagic.autopandas = True")
    # Executions behaves as a table
    assert len(execs) == 2 and [e.workflow_id for e in execs] == [e.workflow_id for e in list(execs)]
    assert isinstance(execs.head(1), pd.DataFrame) and len(execs.head(1)) == 1 and len(execs.tail(1)) == 1
    assert list(execs.to_dataframe()["workflow_id"]) == [e.workflow_id for e in execs]


# --- item 5: every declared option works ------------------------------------------------------------------------
def test_every_declared_option_is_tested(magic):
    tested = {"short_errors", "display_limit", "default_limit", "default_task_queue", "autopandas"}
    assert set(magic.class_own_traits(config=True)) == tested


def test_default_limit_and_default_task_queue(ip, magic, connected, capsys):
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    prefix = f"dl-{uuid.uuid4().hex[:8]}"
    ip.user_ns["Hello"], ip.user_ns["echo"] = w.Hello, w.echo
    ip.run_line_magic("config", f"WfMagic.default_task_queue = '{tq}'")
    try:
        worker = wf(ip, "worker --workflows Hello --activities echo")  # the task queue comes from the option
        assert isinstance(worker, wfkit.Worker) and worker.task_queue == tq and worker.running
        for i in range(3):
            h = wf(ip, f"start Hello --id {prefix}-{i} --input '\"x\"'")
            assert h.sync.result(timeout=30) == "hello x"
    finally:
        ip.run_line_magic("config", "WfMagic.default_task_queue = ''")
    query = " OR ".join(f"WorkflowId = '{prefix}-{i}'" for i in range(3))
    wait_listed(connected, query, 3)
    ip.run_line_magic("config", "WfMagic.default_limit = 2")
    try:
        execs = wf(ip, f'list "{query}"')
        assert len(execs) == 2 and execs.truncated
    finally:
        ip.run_line_magic("config", "WfMagic.default_limit = 1000")
    assert len(wf(ip, f'list "{query}"')) == 3
    wf(ip, "start Hello")
    assert "needs --task-queue" in capsys.readouterr().err
    with pytest.raises(Exception, match="default_limit must be >= 1"):
        magic.default_limit = 0


# --- item 1: a worker from the magic's connection ----------------------------------------------------------------
def test_worker_list_and_stop(ip, magic, connected, capsys):
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    ip.user_ns["w_mod"] = w
    worker = wf(ip, f"worker --task-queue {tq} --workflows {{{{w_mod.Hello}}}} --activities {{{{w_mod.echo}}}}")
    assert worker.running and wf(ip, "worker --list") == [worker]
    h = wf(ip, f"start Hello --task-queue {tq} --input '\"w\"'")
    assert h.sync.result(timeout=30) == "hello w"
    wf(ip, "worker --stop")
    assert capsys.readouterr().out.strip() == "stopped 1 worker(s)" and not worker.running
    assert wf(ip, "worker --list") == []
    wf(ip, f"worker --task-queue {tq} --workflows NoSuchThing")
    assert "no variable 'NoSuchThing'" in capsys.readouterr().err
    wf(ip, f"worker --task-queue {tq}")
    assert "needs --workflows and/or --activities" in capsys.readouterr().err


def _readme_notebook_cells() -> list[str]:
    text = README.read_text()
    section = text.split("## In a notebook", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_readme_notebook_section_runs_as_written(capsys, monkeypatch):
    """The README's notebook snippets, top to bottom, in a fresh shell, as written (the embedded server too)."""
    from IPython.core.interactiveshell import InteractiveShell

    from wfkit.notebook import connections

    monkeypatch.setenv("MPLBACKEND", "Agg")
    cells = _readme_notebook_cells()
    assert cells and any("%wf worker" in c for c in cells)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        for cell in cells:
            result = shell.run_cell(cell, store_history=False)
            assert result.success, (cell, result.error_before_exec or result.error_in_exec)
            err = capsys.readouterr().err
            assert err == "", (cell, err)
    finally:
        connections.close_all()
        InteractiveShell.clear_instance()


# --- item 7: completion --------------------------------------------------------------------------------------------
def _complete(ip, line):
    return ip.complete("", line)[1]


def test_completion_ids_from_listings_handler_names_and_flags(ip, magic, connected, temporal_server):
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    wid = f"seen-{uuid.uuid4().hex[:8]}"
    other = wfkit.connect_sync(temporal_server.url)  # started elsewhere: this kernel's client never saw the ID
    try:
        with other.sync.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]):
            other.sync.start(w.Waiter, 1, id=wid, task_queue=tq)
    finally:
        other.sync.close()
    assert wid not in _complete(ip, "%wf describe seen-")
    wait_listed(connected, f"WorkflowId = '{wid}'", 1)
    wf(ip, f"ls << list \"WorkflowId = '{wid}'\"")
    assert wid in _complete(ip, "%wf describe seen-") and wid in _complete(ip, f"%wf diff {wid} seen-")
    # query/signal names from the workflow's definition (here: a class in the notebook; no worker serves it)
    ip.user_ns["Waiter"] = w.Waiter
    assert _complete(ip, f"%wf query {wid} ") == ["count", "peek"]
    assert _complete(ip, f"%wf signal {wid} ") == ["add", "finish"]
    assert _complete(ip, f"%wf query {wid} --run-id x ") == ["count", "peek"]
    # flags per subcommand, never Python names
    assert set(_complete(ip, f"%wf history {wid} --")) == {"--help", "--run-id", "--activities", "--timeline",
                                                           "--json", "--frame"}
    assert set(_complete(ip, "%wf migrate --strategy ")) == {"restart", "drain", "archive"}
    assert "Waiter" in _complete(ip, "%wf start ") and "Waiter" in _complete(ip, "%wf worker --workflows ")
    assert _complete(ip, "%wf help sta") == ["stack", "start"]
    connected.sync.handle(wid).sync.terminate()


def test_completion_offers_no_python_names_on_a_wf_line(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from wfkit.notebook import connections
    from wfkit.notebook.completion import completions
    from wfkit.notebook.connections import Connections

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "wfkit")
    ids = {wid for c in connections.default.names() for wid in connections.default.get(c).recent_workflow_ids}
    for line in ("%wf describe ", "%wf query order-1 ", "%wf history order-1 --run-id "):
        matches = shell.complete("", line)[1]
        assert {m for m in matches if m} <= ids and not {"abs", "print", "%alias"} & set(matches), line
    assert completions("%wf describe ", Connections()) == []  # before connecting: nothing generic


# --- item 8: messages that name the real problem ----------------------------------------------------------------------
@pytest.mark.parametrize(("url", "closest"), [("http://localhost:8080", None), ("temporl://h:1", "temporal://"),
                                              ("cadense+dev://", "cadence://")])
def test_unknown_scheme_is_named_with_the_known_ones(ip, capsys, url, closest):
    wf(ip, f"connect {url}")
    err = capsys.readouterr().err.strip()
    scheme = url.split("://")[0].split("+")[0]
    assert err.startswith(f"WfkitError: unknown URL scheme '{scheme}://' (known: ") and "\n" not in err
    assert "temporal+dev://" in err and "cadence://" in err and "pip install" not in err
    assert (f"did you mean {closest}?" in err) if closest else "did you mean" not in err


def test_dead_port_says_connection_refused(ip, capsys):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wf(ip, f"connect temporal://127.0.0.1:{port}?connect_timeout=3")
    err = capsys.readouterr().err.strip()
    assert err == f"ConnectionFailed: could not connect to Temporal at 127.0.0.1:{port}: connection refused"
    with pytest.raises(wfkit.ConnectionFailed) as info:
        wfkit.connect_sync(f"temporal://127.0.0.1:{port}", connect_timeout=3)
    assert "tonic::transport" in str(info.value.__cause__)  # the raw text stays on __cause__


def test_unknown_query_on_cadence_is_one_line(ip, magic, cadence_server, capfd, caplog):
    wf(ip, f"connect {cadence_server.url} --as cad")
    client = magic.connections["cad"]
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    try:
        with client.sync.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]):
            h = client.sync.start(w.Waiter, 1, task_queue=tq)
            assert h.sync.query("count", timeout=30) == 0
            capfd.readouterr()
            caplog.clear()
            with caplog.at_level("DEBUG"):
                wf(ip, f"query {h.workflow_id} no_such_query")
            out, err = capfd.readouterr()
            lines = [ln for ln in (out + err).splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("QueryFailed: ") and "no_such_query" in lines[0], lines
            # nothing else is shown: no worker traceback logged at WARNING or above (a notebook shows those)
            loud = [r for r in caplog.records if r.levelno >= 30]
            assert not [r for r in loud if r.exc_info or "Traceback" in r.getMessage()], [
                (r.name, r.getMessage()[:200]) for r in loud]
            h.sync.terminate()
        # the panel's connect tab shows the connection it is on, not the default URL
        panel = wf(ip, "panel")
        assert panel.connection.url.value == client.url and client.url.startswith("cadence://")
        assert "connected: cadence" in panel.connection.status.value
    finally:
        magic.connections.close("cad")


# --- item 6: timelines that scale ---------------------------------------------------------------------------------
@wfkit.workflow
class ManyActivities:
    @wfkit.run
    async def run(self, n: int) -> int:
        for i in range(n):
            if i % 2:
                await wfkit.execute_activity(w.slow, 0, start_to_close_timeout=10)
            else:
                await wfkit.execute_activity(w.echo, i, start_to_close_timeout=10)
        return n


def test_timelines_scale(ip, connected, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wfkit.history import histories_frame
    from wfkit.notebook import plotting

    tq = f"tq-{uuid.uuid4().hex[:8]}"
    with connected.sync.worker(task_queue=tq, workflows=[ManyActivities, w.Hello], activities=[w.echo, w.slow]):
        big = connected.sync.start(ManyActivities, 150, task_queue=tq)
        assert big.sync.result(timeout=120) == 150
        small = connected.sync.start(w.Hello, "x", task_queue=tq)
        small.sync.result(timeout=30)
    hist = big.sync.history()
    rows = plotting.timeline_rows(hist)
    assert list(rows["label"]) == ["echo (75)", "slow (75)"] and set(rows["status"]) == {"completed"}
    assert len(plotting.timeline_rows(small.sync.history())) == 1  # small histories keep one row per activity
    plt.close("all")
    ax = hist.plot_timeline()
    width, height = ax.figure.get_size_inches()
    assert height <= plotting.MAX_HEIGHT and ax.get_ylim() == (1.5, -0.5)  # capped, no blank band on top
    plt.close("all")
    # the magic draws and returns nothing: no "<Axes: …>" echo
    assert wf(ip, f"history {big.workflow_id} --timeline") is None and plt.get_fignums()
    plt.close("all")
    # many workflows: one row per run, coloured by outcome, from a frame of histories or from a listing
    frame = histories_frame([hist, small.sync.history()])
    runs = plotting.workflow_rows(frame)
    assert list(runs["outcome"]) == ["completed", "completed"] and len(runs) == 2
    ax = plotting.plot_workflows(frame)
    assert len(ax.patches) == 2 and ax.figure.get_size_inches()[1] <= plotting.MAX_HEIGHT
    plt.close("all")
    ids = f"WorkflowId = '{big.workflow_id}' OR WorkflowId = '{small.workflow_id}'"

    async def listed():
        return len(await connected.list(ids)) == 2

    import asyncio

    asyncio.run(eventually(listed))
    assert wf(ip, f'list "{ids}" --timeline') is None and len(plt.gcf().axes[0].patches) == 2
    plt.close("all")


# --- item 10: a data grid for executions and a compact event view ---------------------------------------------
def test_grid_and_compact_events(connected):
    import json

    from wfkit.notebook.views import COMPACT_COLUMNS, compact_events, grid
    from wfkit.notebook.widgets import WorkflowBrowser

    tq = f"tq-{uuid.uuid4().hex[:8]}"
    with connected.sync.worker(task_queue=tq, workflows=[w.PlainFailing], activities=[w.raise_plain]):
        h = connected.sync.start(w.PlainFailing, task_queue=tq)
        with pytest.raises(wfkit.WorkflowFailed):
            h.sync.result(timeout=30)
    hist = h.sync.history()
    events = compact_events(hist)
    assert tuple(events.columns) == COMPACT_COLUMNS  # no workflow_id/run_id repeated on every row
    assert events["offset"].iloc[0] == 0 and events["offset"].is_monotonic_increasing
    failed = events[events["failure"] != ""]
    assert "ActivityTaskFailed" in set(failed["event_type"]) and "raise_plain" in " ".join(events["details"])
    g = grid(events, highlight="failure")
    rows = json.loads(g._dt_args["data_json"])
    red = [r for r in rows if "wfkit-failed" in r[2]]
    assert len(red) == len(failed) and all("wfkit-failed" not in r[2] for r in rows if r not in red)
    # sortable, a filter per column, virtual scrolling, row selection; 10,000 rows all there (no downsampling)
    import pandas as pd

    big = pd.DataFrame({"workflow_id": [f"<script>w{i}</script>" for i in range(10_000)], "n": range(10_000)})
    g = grid(big)
    args = g._dt_args
    assert args["scroller"] and args["deferRender"] and args["column_filters"] == "header"
    assert args["select"] == {"style": "single"} and args.get("ordering", True) is not False
    data = json.loads(args["data_json"])
    assert len(data) == 10_000 and data[7][0] == "&lt;script&gt;w7&lt;/script&gt;"  # escaped
    # the browser: a grid of executions; picking a row shows the compact events grid
    browser = WorkflowBrowser(connected, query=f"WorkflowId = '{h.workflow_id}'")
    search_until_listed(browser)
    assert h.workflow_id in browser.table._dt_args["data_json"] and "<th>workflow_type</th>" in \
        browser.table._dt_args["table_html"]
    browser.select(0)
    assert browser.events is not None and "wfkit-failed" in browser.events._dt_args["data_json"]
