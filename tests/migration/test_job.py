"""Migration as a durable job on an engine (``plan.run(on=…)``): batches as activities run by workers, progress
as a query, pause/resume/cancel as signals, and a worker process SIGKILLed mid-batch losing and duplicating
nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import wfkit
from wfkit import migrate
from wfkit.testing import eventually

from .conftest import carts_running, query_for, runs_of

ROOT = Path(__file__).resolve().parents[2]


async def _statuses(client, ids) -> set[str]:
    return {(await client.handle(w).describe()).status for w in ids}


async def _moved(source, target, ids) -> tuple[int, int]:
    """(lost, duplicated): a workflow is lost unless its source run is terminated and exactly one copy of ours
    runs on the target; duplicated when the target holds more than one run of its ID."""
    lost = dup = 0
    for wid in ids:
        src = await source.handle(wid).describe()
        runs = await runs_of(target, wid)
        if len(runs) > 1:
            dup += 1
        tex = await target.handle(wid).describe() if runs else None
        ours = tex is not None and tex.memo.get(migrate.MIGRATION_MEMO_KEY, {}).get("source_run_id") == src.run_id
        if src.status != "terminated" or not ours or tex.status != "running":
            lost += 1
    return lost, dup


async def _listed_runs(client, workflow_id: str, n: int) -> bool:
    return len(await runs_of(client, workflow_id)) == n


async def test_job_migrates_and_reports(direction, task_queue, prefix):
    """The job runs on the target's engine, its batches on a worker; progress, result and report agree."""
    source, target = direction
    jobs_queue = f"jobs-{uuid.uuid4().hex[:8]}"
    async with carts_running(source, target, task_queue, prefix, 7) as ids, \
            migrate.worker(target, jobs_queue, connections=[source, target]):
        plan = await migrate.plan(source, target, query=query_for(prefix))
        job = await plan.run(on=target, task_queue=jobs_queue, batch_size=2, parallel=2,
                             job_id=f"job-{prefix}")
        assert isinstance(job, migrate.MigrationJob) and not job.attached
        assert "secret" not in repr(job) and job.job_id in repr(job)
        again = await plan.run(on=target, task_queue=jobs_queue, job_id=f"job-{prefix}")
        assert again.attached  # the same migration while its job runs: watched, not started twice
        p = await job.wait(progress=False, timeout=120)
        assert (p.state, p.total, p.done, p.successful, p.failed, p.batches, p.batches_done) == \
               ("completed", 7, 7, 7, 0, 4, 4)
        assert await _moved(source, target, ids) == (0, 0)
        report = await job.report()
        assert sorted(report.frame.workflow_id) == ids
        assert report.stats.successful == 7 and set(report.frame.status) == {"successful"}
        assert report.frame.target_run_id.notna().all()
        assert (await job.progress()).state == "completed"


@contextlib.asynccontextmanager
async def _seven_carts_migrated(direction, task_queue, prefix):
    """Seven carts migrated by a job of one-workflow batches, 2 under way, 2 a run; the job completed, every
    cart moved once; yields (ids, job) while the carts' workers still run."""
    source, target = direction
    jobs_queue = f"jobs-{uuid.uuid4().hex[:8]}"
    async with carts_running(source, target, task_queue, prefix, 7) as ids, \
            migrate.worker(target, jobs_queue, connections=[source, target]):
        plan = await migrate.plan(source, target, query=query_for(prefix))
        job = await plan.run(on=target, task_queue=jobs_queue, batch_size=1, parallel=2, batches_per_run=2,
                             job_id=f"job-{prefix}")
        p = await job.wait(progress=False, timeout=180)
        assert (p.state, p.total, p.done, p.successful, p.failed, p.batches, p.batches_done) == \
               ("completed", 7, 7, 7, 0, 7, 7)
        assert await _moved(source, target, ids) == (0, 0)
        yield ids, job


async def test_job_continues_as_new(direction, task_queue, prefix):
    """A job whose runs start 2 batches each continues as new (its history stays bounded) and still completes
    with the counts of every run; the report reads the rows of all its runs, each batch's result holding counts
    and rows column by column, not the plan."""
    source, target = direction
    async with _seven_carts_migrated(direction, task_queue, prefix) as (ids, job):
        await eventually(lambda: _listed_runs(target, f"job-{prefix}", 4), timeout=30)  # 2 + 2 + 2 + 1 batches
        frame = (await job.handle.history()).to_dataframe()
        assert (frame.event_type == "ActivityTaskScheduled").sum() == 1  # the last run: its one batch
        report = await job.report()
        assert sorted(report.frame.workflow_id) == ids
        assert report.stats.successful == 7 and report.frame.target_run_id.notna().all()
        assert (await job.progress()).state == "completed"


async def test_job_plan_in_parts(direction, task_queue, prefix, monkeypatch):
    """A plan larger than one part is held in parts, each in the input of a workflow of its own on the job's
    engine: the job reads one part at a time (its input holds none of the plan), continues as new between parts,
    completes with every workflow migrated once, reports them all, and ends the parts' holders."""
    from wfkit.migrate import _job

    monkeypatch.setattr(_job, "PLAN_PART_SIZE", 3)
    source, target = direction
    async with _seven_carts_migrated(direction, task_queue, prefix) as (ids, job):
        report = await job.report()
        assert sorted(report.frame.workflow_id) == ids and report.stats.successful == 7
        # runs: part 0 (2 + 1 batches), part 1 (2 + 1), part 2 (1)
        await eventually(lambda: _listed_runs(target, f"job-{prefix}", 5), timeout=30)
        first = (await runs_of(target, f"job-{prefix}"))[-1]
        started = (await target.handle(f"job-{prefix}", first.run_id).history()).to_dataframe()
        args = started.loc[started.event_type == "WorkflowExecutionStarted", "payload"].iloc[0]
        assert args[1] == "" and [n for _, n in args[2]["parts"]] == [3, 3, 1]
        holders = [pid for pid, _ in args[2]["parts"]]
        assert {(await target.handle(pid).describe()).status for pid in holders} == {"terminated"}


async def test_job_pause_resume_cancel(cadence, temporal, task_queue, prefix):
    """Paused before its first batch the job starts none; resumed it finishes; a canceled job starts no more."""
    source, target = cadence, temporal
    jobs_queue = f"jobs-{uuid.uuid4().hex[:8]}"
    async with carts_running(source, target, task_queue, prefix, 4) as ids:
        plan = await migrate.plan(source, target, query=query_for(prefix))
        job = await plan.run(on=temporal, task_queue=jobs_queue, batch_size=1, parallel=1, job_id=f"job-{prefix}")
        await job.pause()  # before any worker serves the job: its first task sees the signal
        async with migrate.worker(temporal, jobs_queue, connections=[source, target]):
            async def paused() -> bool:
                try:
                    return (await job.progress()).state == "paused"
                except wfkit.QueryFailed:
                    return False

            await eventually(paused, timeout=30)
            await asyncio.sleep(2)
            p = await job.progress()
            assert (p.state, p.done, p.in_flight) == ("paused", 0, 0)
            assert await _statuses(source, ids) == {"running"}
            await job.resume()
            p = await job.wait(progress=False, timeout=120)
            assert (p.state, p.successful) == ("completed", 4)

    prefix2 = prefix + "c-"
    async with carts_running(source, target, task_queue, prefix2, 3) as ids2:
        plan = await migrate.plan(source, target, query=query_for(prefix2))
        job = await plan.run(on=temporal, task_queue=jobs_queue, batch_size=1, parallel=1, job_id=f"job-{prefix2}")
        await job.cancel()
        async with migrate.worker(temporal, jobs_queue, connections=[source, target]):
            p = await job.wait(progress=False, timeout=60)
        assert (p.state, p.done, p.not_started) == ("canceled", 0, 3)
        assert await _statuses(source, ids2) == {"running"}


def test_job_refuses_what_it_cannot_run(cadence, temporal, tmp_path, monkeypatch):
    plan = migrate.MigrationPlan(cadence, temporal, query=None, strategy="archive", allow_reexecution=False,
                                 definitions={}, task_queue=None, archive_dir=None, concurrency=1)
    with pytest.raises(wfkit.WfkitError, match="runs in-process"):
        plan.sync.run(on=temporal)
    plan = migrate.MigrationPlan(cadence, temporal, query=None, strategy="restart", allow_reexecution=False,
                                 definitions={}, task_queue=None, archive_dir=None, concurrency=1)
    with pytest.raises(wfkit.WfkitError, match="dry_run runs in-process"):
        plan.sync.run(on=temporal, dry_run=True)
    with pytest.raises(wfkit.WfkitError, match="history is its checkpoint"):
        plan.sync.run(on=temporal, checkpoint="x.jsonl")
    # an in-process run of the same migration left a workflow in flight: it finishes in-process first
    from wfkit.migrate._checkpoint import default_checkpoint_path, open_checkpoint

    monkeypatch.setenv("WFKIT_STATE_DIR", str(tmp_path))
    ck = open_checkpoint(default_checkpoint_path(plan._header()), plan._header())
    ck.write("wf-1", "state", source_run_id="r1", token="t")
    ck.write("wf-1", "started", target_run_id="r2")
    ck.close()
    with pytest.raises(wfkit.WfkitError, match=r"1 workflow\(s\) are in flight .* finish them with plan.run\(\) first"):
        plan.sync.run(on=temporal)


@pytest.mark.parametrize("way", ["cadence->temporal", "temporal->cadence"])
async def test_worker_killed_mid_batch(way, cadence, temporal, task_queue, prefix):
    """Two `wfkit worker migrate` processes; one is SIGKILLed while its batches are half done: its batches are
    retried on the other from their last heartbeat, and the job completes with 0 lost and 0 duplicated."""
    source, target = (cadence, temporal) if way == "cadence->temporal" else (temporal, cadence)
    on = target
    n = 40
    jobs_queue = f"jobs-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "tests.migration._job_worker", "0.5", "--", "worker", "migrate", "--on", on.url,
            "--task-queue", jobs_queue, "--max-concurrent-batches", "2"]
    async with carts_running(source, target, task_queue, prefix, n) as ids:
        plan = await migrate.plan(source, target, query=query_for(prefix))
        procs = [await asyncio.to_thread(subprocess.Popen, argv, cwd=ROOT, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        try:
            for proc in procs:  # both poll before the job starts
                assert "serving migration jobs" in await asyncio.to_thread(proc.stdout.readline)
            job = await plan.run(on=on, task_queue=jobs_queue, batch_size=5, parallel=4, heartbeat_timeout=2,
                                 job_id=f"job-{prefix}")

            async def victim_mid_batch() -> bool:
                """The first worker runs a batch that has heartbeated some of its workflows done."""
                ex = await job.handle.describe()
                return any(a.state == "started" and (a.last_worker_identity or "").startswith(f"{procs[0].pid}@")
                           and isinstance(a.heartbeat_details, dict) and a.heartbeat_details.get("rows")
                           for a in ex.pending_activities)

            await eventually(victim_mid_batch, timeout=90, interval=0.1)
            os.kill(procs[0].pid, signal.SIGKILL)
            p = await job.wait(progress=False, timeout=180)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            outs = [await asyncio.to_thread(lambda pr=proc: pr.communicate(timeout=30)[0]) for proc in procs]
        assert procs[0].returncode == -signal.SIGKILL, outs[0]
        assert (p.state, p.total, p.done, p.failed) == ("completed", n, n, 0), (p, outs)
        assert (p.successful, p.skipped) == (n, 0)  # those an attempt moved after its last heartbeat too
        assert await _moved(source, target, ids) == (0, 0)
        rows = await job.rows()
        assert sorted(r["workflow_id"] for r in rows) == ids  # each workflow reported once
        frame = (await job.handle.history()).to_dataframe()
        started = frame[frame.event_type == "ActivityTaskStarted"]
        assert (started.attempt > 1).any(), "the kill hit no batch under way"


async def test_migrate_command_on_an_engine(cadence, temporal, task_queue, prefix, tmp_path, capsys):
    """``wfkit migrate --on URL`` starts the job there and watches it to the end; with ``--detach`` it only
    starts it (and says how to run its workers)."""
    import re

    from wfkit.cli import main

    jobs_queue = f"jobs-{uuid.uuid4().hex[:8]}"
    async with carts_running(cadence, temporal, task_queue, prefix + "d-", 2) as detached:
        argv = ["migrate", "--from", cadence.url, "--to", temporal.url, "--query", query_for(prefix + "d-"), "--yes",
                "--on", temporal.url, "--job-task-queue", jobs_queue, "--detach"]
        assert await asyncio.to_thread(main, argv) == 0
        out = capsys.readouterr().out
        assert f"its workers: wfkit worker migrate --on {temporal.url} --task-queue {jobs_queue}" in out
        job_id = re.search(r"MigrationJob restart \S+ id='([^']+)'", out).group(1)
        async with migrate.worker(temporal, jobs_queue, connections=[cadence, temporal]):
            p = await migrate.MigrationJob.attach(None, temporal, job_id).wait(progress=False, timeout=60)
        assert (p.state, p.successful) == ("completed", 2)
        assert await _moved(cadence, temporal, detached) == (0, 0)

    async with carts_running(cadence, temporal, task_queue, prefix, 3) as ids, \
            migrate.worker(temporal, jobs_queue, connections=[cadence, temporal]):
        base = ["migrate", "--from", cadence.url, "--to", temporal.url, "--query", query_for(prefix), "--yes",
                "--no-progress", "--on", temporal.url, "--job-task-queue", jobs_queue]
        assert await asyncio.to_thread(main, [*base, "--dry-run"]) == 1
        assert "--dry-run runs in-process: leave out --on" in capsys.readouterr().err
        report_csv = tmp_path / "report.csv"
        assert await asyncio.to_thread(main, [*base, "--report", str(report_csv)]) == 0
        out = capsys.readouterr().out
        assert "started <wfkit.MigrationJob restart" in out and "job completed: 3 total, 3 successful" in out
        assert report_csv.read_text().count("successful") == 3
        assert await _moved(cadence, temporal, ids) == (0, 0)


async def test_job_history_holds_no_secret(cadence_server, temporal):
    """The job's input names the source and target by URL without their credentials."""
    keyed = await wfkit.connect(cadence_server.url, api_key="sekret-key-4711")
    try:
        plan = migrate.MigrationPlan(keyed, temporal, query="WorkflowId='none'", strategy="restart",
                                     allow_reexecution=False, definitions={}, task_queue=None, archive_dir=None,
                                     concurrency=1)
        job = await plan.run(on=temporal, task_queue=f"jobs-{uuid.uuid4().hex[:8]}", job_id=f"job-{uuid.uuid4()}")
        try:
            text = (await job.handle.history()).to_json()
            assert keyed.url in text and "sekret-key-4711" not in text
            assert "sekret" not in repr(job)
        finally:
            await job.handle.terminate("test over")
    finally:
        await keyed.close()
