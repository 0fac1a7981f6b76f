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
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    prefix = f"ap-{uuid.uuid4().hex[:8]}"
    with connected.sync.worker(task_queue=tq, workflows=[w.Hello], activities=[w.echo]):
        for i in range(2):
            connected.sync.start(w.Hello, str(i), id=f"{prefix}-{i}", task_queue=tq).sync.result(timeout=30)
    query = f"WorkflowId = '{prefix}-0' OR WorkflowId = '{prefix}-1'"

    async def two():
        return len(await connected.list(query)) == 2

    import asyncio

    asyncio.run(eventually(two))
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

    async def three():
        return len(await connected.list(query)) == 3

    import asyncio

    asyncio.run(eventually(three))
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

    async def listed():
        return len(await connected.list(f"WorkflowId = '{wid}'")) == 1

    import asyncio

    asyncio.run(eventually(listed))
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
    assert _complete(ip, "%wf help sta") == ["start"]
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
