"""Between a crash and the rerun, the workflows a migration left on both engines are listed from its journal:
``plan.status()``, ``wfkit migrate --status`` and the plan's repr, without contacting a server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import wfkit
from wfkit import migrate

from .conftest import carts_running, query_for
from .test_cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
N = 6


async def _on_both(source, target, wid) -> bool:
    if (await source.handle(wid).describe()).status != "running":
        return False
    try:
        return (await target.handle(wid).describe()).status == "running"
    except wfkit.WorkflowNotFound:
        return False


@pytest.mark.parametrize("way", ["cadence->temporal", "temporal->cadence"])
async def test_in_flight_listed_after_a_crash(way, cadence, temporal, task_queue, prefix, tmp_path, capsys):
    source, target = (cadence, temporal) if way == "cadence->temporal" else (temporal, cadence)
    ck = tmp_path / "migration.jsonl"
    async with carts_running(source, target, task_queue, prefix, N) as ids:
        # the migrating process dies right after its 3rd copy was started on the target
        argv = [sys.executable, "-m", "tests.migration._crash_run", source.url, target.url, query_for(prefix),
                str(ck), "started:3"]
        proc = await asyncio.to_thread(subprocess.run, argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 17, proc.stdout + proc.stderr

        on_both = {wid for wid in ids if await _on_both(source, target, wid)}
        assert on_both  # the crash left some workflows running on both engines
        plan = await migrate.plan(source, target, query=query_for(prefix))
        status = plan.status(ck)
        listed = {row["workflow_id"] for row in status.in_flight}
        # every workflow on both engines is listed; the ones the journal knows started are on both (a copy whose
        # start was sent but not journaled is listed as "may have started")
        assert on_both <= listed, (listed, on_both)
        sure = {row["workflow_id"] for row in status.in_flight if row["running_on"] == "source and target"}
        assert sure <= on_both and all(row["target_run_id"] for row in status.in_flight
                                       if row["workflow_id"] in sure)
        assert f"{len(listed)} in flight" in repr(status)
        html = status._repr_html_()
        assert all(wid in html for wid in listed) and "in flight" in html
        frame = status.to_dataframe()
        assert list(frame.columns) == list(migrate.STATUS_COLUMNS) and set(frame.workflow_id) == listed
        # the plan made after the crash says so in its own repr
        plan.status(ck)
        assert "in flight from an earlier run" in repr(plan) and all(wid in plan._repr_html_() for wid in listed)

        capsys.readouterr()
        assert run_cli(["migrate", "--from", source.url, "--to", target.url, "--query", query_for(prefix),
                        "--checkpoint", str(ck), "--status"]) == 0
        out = capsys.readouterr().out
        assert all(wid in out for wid in listed) and "in flight" in out

        # the rerun finishes them: nothing left in flight
        report = await plan.run(checkpoint=ck, progress=False)
        assert report.stats.failed == 0, report.failures
        assert plan.status(ck).in_flight == []
        for wid in ids:
            await target.handle(wid).terminate("test over")


def test_status_of_a_missing_journal(tmp_path):
    status = migrate.read_status(tmp_path / "none.jsonl")
    assert not status.exists and status.in_flight == [] and "no journal yet" in repr(status)
    assert "no journal yet" in status._repr_html_()


def test_status_html_escapes(tmp_path):
    ck = tmp_path / "j.jsonl"
    xss = "<script>alert('x')</script>"
    ck.write_text(
        '{"wfkit_migration":1,"strategy":"restart","source":"a","target":"b","query":null}\n'
        + f'{{"wf":"{xss}","src":"r1","step":"state"}}\n{{"wf":"{xss}","src":"r1","step":"starting"}}\n'
        + f'{{"wf":"{xss}","src":"r1","step":"started","target_run_id":"t1"}}\n')
    status = migrate.read_status(ck)
    assert [r["workflow_id"] for r in status.in_flight] == [xss]
    assert xss not in status._repr_html_() and "&lt;script&gt;" in status._repr_html_()


def test_a_workflow_whose_source_terminate_was_sent_is_not_said_to_run_on_both(tmp_path):
    """A run that died after journaling ``terminating`` may have terminated the source already (the request
    went out): the status says so instead of "source and target" (the crash test saw such a source terminated)."""
    from wfkit.migrate._checkpoint import JsonlCheckpoint

    path = tmp_path / "migration.jsonl"
    ck = JsonlCheckpoint(path, {"strategy": "restart"})
    for wid, steps in (("a", ["state", "starting", "started"]), ("b", ["state", "starting", "started", "confirmed",
                                                                        "terminating"])):
        for step in steps:
            fields = {"target_run_id": f"t-{wid}"} if step == "started" else {}
            ck.write(wid, step, source_run_id=f"s-{wid}", **fields)
    ck.close()
    rows = {row["workflow_id"]: row["running_on"] for row in migrate.read_status(path).in_flight}
    assert rows["a"] == "source and target"
    assert rows["b"].startswith("target") and "source may be terminated" in rows["b"]
