"""``%wf`` through a real IPython InteractiveShell against the real servers."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import wfkit
from wfkit.testing import eventually
from wfkit.testing.conformance import workflows as w

from .conftest import completed_hellos


@pytest.fixture
def connected(ip, magic, temporal_server):
    ip.run_line_magic("wf", f"connect {temporal_server.url} --as t")
    return magic.connections["t"]


def wf(ip, line):
    return ip.run_line_magic("wf", line)


def test_connect_connections_use_close(ip, magic, temporal_server, cadence_server, capsys):
    c = wf(ip, f"connect {temporal_server.url} --as prod")
    assert isinstance(c, wfkit.Client) and c.engine == "temporal"
    wf(ip, f"connect {cadence_server.url} --as cad")
    frame = wf(ip, "connections")
    assert list(frame["name"]) == ["prod", "cad"] and frame["current"].tolist() == [False, True]
    assert wf(ip, "use prod") is c and magic.current == "prod"
    wf(ip, "use nope")
    assert capsys.readouterr().err.strip() == "UsageError: no connection named 'nope' (have: prod, cad)"
    wf(ip, "close cad")
    assert "cad" not in magic.connections


def test_start_describe_query_signal_cancel_terminate(ip, connected, capsys):
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    worker = connected.worker(task_queue=tq, workflows=[w.Waiter, w.Hello], activities=[w.echo]).start()
    try:
        wid = f"magic-{uuid.uuid4().hex[:8]}"
        h = wf(ip, f"start Waiter --id {wid} --task-queue {tq} --input 2")
        assert isinstance(h, wfkit.WorkflowHandle) and h.workflow_id == wid
        wf(ip, f"signal {wid} add '\"first\"'")
        ip.user_ns["item"] = "second"
        wf(ip, f"signal {wid} add {{{{item}}}}")
        assert connected.sync.handle(wid).sync.result(timeout=30) == ["first", "second"]
        d = wf(ip, f"describe {wid}")
        assert isinstance(d, wfkit.Execution) and d.status == "completed"
        assert wf(ip, f"query {wid} count") == 2
        assert wf(ip, f"query {wid} peek 1") == "second"

        wid2 = f"magic-{uuid.uuid4().hex[:8]}"
        wf(ip, f"start Waiter --id {wid2} --task-queue {tq} --input 5")
        wf(ip, f"cancel {wid2}")
        with pytest.raises(wfkit.WorkflowFailed):
            connected.sync.handle(wid2).sync.result(timeout=30)
        wid3 = f"magic-{uuid.uuid4().hex[:8]}"
        wf(ip, f"start Waiter --id {wid3} --task-queue {tq} --input 5")
        wf(ip, f"terminate {wid3} --reason done")
        assert connected.sync.handle(wid3).sync.describe().status == "terminated"

        # {{obj}} passes the object itself: a dataclass input, and the workflow class itself
        ip.user_ns["Hello"] = w.Hello
        h = wf(ip, f"start {{{{Hello}}}} --task-queue {tq} --input {{{{name}}}}".replace("{{name}}", '"obj"'))
        assert h.sync.result(timeout=30) == "hello obj"
    finally:
        worker.stop()
    assert capsys.readouterr().err == ""


def test_list_count_and_assignment(ip, connected, capsys):
    prefix = f"ls-{uuid.uuid4().hex[:8]}"
    query = completed_hellos(connected, prefix)
    execs = wf(ip, f'list "{query}" --limit 10')
    assert isinstance(execs, wfkit.Executions) and len(execs) == 2
    assert wf(ip, f'count "{query}"') == 2
    assert wf(ip, f'df << list "{query}"') is None
    assert len(ip.user_ns["df"]) == 2
    assert wf(ip, f'df2= << count "{query}"') == 2 and ip.user_ns["df2"] == 2
    ip.run_cell_magic("wf", "cellres <<", f'list\n"{query}"\n--limit 1')
    assert len(ip.user_ns["cellres"]) == 1 and ip.user_ns["cellres"].attrs["truncated"]
    html = execs._repr_html_()
    assert f"{prefix}-0" in html
    hist = wf(ip, f"history {prefix}-0")
    assert isinstance(hist, wfkit.History)
    acts = wf(ip, f"history {prefix}-0 --activities")
    assert isinstance(acts, pd.DataFrame) and list(acts["activity_type"]) == ["echo"]
    import matplotlib.pyplot as plt

    plt.close("all")
    assert wf(ip, f"history {prefix}-0 --timeline") is None and plt.get_fignums()  # drawn, not echoed
    plt.close("all")
    wf(ip, f"history {prefix}-0 --json")
    assert '"events"' in capsys.readouterr().out
    d = wf(ip, f"diff {prefix}-0 {prefix}-1")
    assert isinstance(d, pd.DataFrame)


def test_errors_are_one_line(ip, magic, connected, capsys):
    wf(ip, "describe no-such-workflow-id")
    err = capsys.readouterr().err.strip()
    assert err.startswith("WorkflowNotFound: ") and "\n" not in err
    wf(ip, "lsit")
    assert capsys.readouterr().err.strip().startswith("UsageError: unknown subcommand 'lsit' (did you mean list?)")
    wf(ip, "start Hello")
    assert "needs --task-queue" in capsys.readouterr().err
    wf(ip, "signal x y {{no_such_var}}")
    assert "no variable 'no_such_var'" in capsys.readouterr().err
    wf(ip, "replay")
    assert "--workflows" in capsys.readouterr().err
    ip.run_line_magic("config", "WfMagic.short_errors = False")
    try:
        with pytest.raises(wfkit.WorkflowNotFound):
            wf(ip, "describe no-such-workflow-id")
    finally:
        ip.run_line_magic("config", "WfMagic.short_errors = True")
    ip.run_line_magic("config", "WfMagic.display_limit = 5")
    try:
        assert magic.display_limit == 5
        e = wfkit.Execution("temporal", "id", "r", "T", "completed", "q", None, None, 1)
        assert "truncated: showing 5 of 60" in wfkit.Executions([e] * 60)._repr_html_()
    finally:
        ip.run_line_magic("config", "WfMagic.display_limit = 50")


def test_not_connected_message(capsys):
    from IPython.core.interactiveshell import InteractiveShell as S

    from wfkit.notebook.connections import Connections
    from wfkit.notebook.magic import WfMagic

    m = WfMagic(shell=S.instance(), connections=Connections())  # a registry with nothing in it
    m._run("list")
    assert capsys.readouterr().err.strip().startswith("UsageError: not connected: %wf connect")


def test_completion(ip, magic, connected):
    assert "list" in magic.completions("%wf li") and "start" not in magic.completions("%wf li")
    assert "t" in magic.completions("%wf use ")
    connected.handle("completion-id-1")
    assert "completion-id-1" in magic.completions("%wf describe completion-")
    text, matches = ip.complete("", "%wf conn")
    assert "connect" in matches and "connections" in matches


def test_replay_and_migrate(ip, magic, connected, cadence_server, tmp_path, capsys):
    import asyncio

    tq = f"tq-{uuid.uuid4().hex[:8]}"
    with connected.sync.worker(task_queue=tq, workflows=[w.Hello], activities=[w.echo]):
        done = connected.sync.start(w.Hello, "r", task_queue=tq)
        done.sync.result(timeout=30)
    ip.user_ns["replay_with"] = [w.Hello]
    frame = wf(ip, f"replay {done.workflow_id} --workflows {{{{replay_with}}}}")
    assert frame["ok"].tolist() == [True], frame

    wf(ip, f"connect {cadence_server.url} --as cad")
    wf(ip, "use t")
    open_id = f"mig-{uuid.uuid4().hex[:8]}"
    connected.sync.start(w.Waiter, 1, id=open_id, task_queue=tq)
    query = f"WorkflowId = '{open_id}'"

    async def listed():
        return len(await connected.list(query)) == 1

    asyncio.run(eventually(listed))
    ip.user_ns["wfs"] = [w.Waiter]
    plan = wf(ip, f'migrate --from t --to cad --query "{query}" --workflows {{{{wfs}}}} --allow-reexecution '
                  '--plan-only')
    assert plan.preview["workflow_id"].tolist() == [open_id]
    report = wf(ip, f'migrate --from t --to cad --query "{query}" --workflows {{{{wfs}}}} --allow-reexecution '
                    f'--checkpoint {tmp_path / "m.jsonl"}')
    assert report.stats.successful == 1, report.frame
    assert magic.connections["cad"].sync.handle(open_id).sync.describe().status == "running"
    assert connected.sync.handle(open_id).sync.describe().status == "terminated"
    magic.connections["cad"].sync.handle(open_id).sync.terminate()
    assert "Error" not in capsys.readouterr().err   # (the progress bar writes to stderr too)


def test_migrate_on_an_engine(ip, magic, connected, cadence_server):
    """``%wf migrate … --on NAME --wait`` runs the migration as a job on that connection's engine."""
    import asyncio

    from wfkit import migrate

    tq, jobs = f"tq-{uuid.uuid4().hex[:8]}", f"jobs-{uuid.uuid4().hex[:8]}"
    wf(ip, f"connect {cadence_server.url} --as cad")
    wf(ip, "use t")
    cad = magic.connections["cad"]
    open_id = f"mig-{uuid.uuid4().hex[:8]}"
    query = f"WorkflowId = '{open_id}'"
    with connected.sync.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]), \
            cad.sync.worker(task_queue=tq, workflows=[w.Waiter], activities=[w.echo]), \
            migrate.worker(cad, jobs, connections=[connected, cad]):
        connected.sync.start(w.Waiter, 1, id=open_id, task_queue=tq)

        async def listed():
            return len(await connected.list(query)) == 1

        asyncio.run(eventually(listed))
        ip.user_ns["wfs"] = [w.Waiter]
        job = wf(ip, f'migrate --from t --to cad --query "{query}" --workflows {{{{wfs}}}} --allow-reexecution '
                     f'--on cad --job-task-queue {jobs} --wait')
        assert isinstance(job, migrate.MigrationJob)
        p = job.sync.progress()
        assert (p.state, p.successful) == ("completed", 1)
        assert cad.sync.handle(open_id).sync.describe().status == "running"
        cad.sync.handle(open_id).sync.terminate()
