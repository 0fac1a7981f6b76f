"""The process running a restart migration dies in the middle; running the same plan again from its checkpoint
finishes the job: 0 lost, 0 duplicated, and at no time a source terminated without a running copy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wfkit import migrate

from .conftest import carts_running, query_for, runs_of

ROOT = Path(__file__).resolve().parents[2]
N = 16


async def _twin_ok(source, target, wid):
    """A source that was terminated has a copy of ours running (or done) on the target."""
    src = await source.handle(wid).describe()
    if src.status == "running":
        return True
    assert src.status == "terminated", (wid, src.status)
    tex = await target.handle(wid).describe()
    mark = tex.memo.get(migrate.MIGRATION_MEMO_KEY)
    return tex.status in ("running", "completed") and mark["source_run_id"] == src.run_id


def _expected_items(history) -> list[str]:
    sig = history.signals()
    return ["apple", *[p for p in sig[sig.signal_name == "add"]["payload"]]]


@pytest.mark.parametrize("way,mode", [
    ("cadence->temporal", "started:3"),
    ("temporal->cadence", "started:5"),
    ("cadence->temporal", "terminated:4"),
    ("temporal->cadence", "signal:3"),
    ("cadence->temporal", "sigkill"),
    ("temporal->cadence", "sigkill"),
])
async def test_process_dies_mid_migration(way, mode, cadence, temporal, task_queue, prefix, tmp_path):
    source, target = (cadence, temporal) if way == "cadence->temporal" else (temporal, cadence)
    ck = tmp_path / "migration.jsonl"
    async with carts_running(source, target, task_queue, prefix, N) as ids:
        argv = [sys.executable, "-m", "tests.migration._crash_run", source.url, target.url, query_for(prefix),
                str(ck), "slow" if mode == "sigkill" else mode]
        proc = await asyncio.to_thread(subprocess.Popen, argv, cwd=ROOT, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
        if mode == "sigkill":
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                text = ck.read_text() if ck.exists() else ""
                if text.count('"step":"started"') >= 4:
                    break
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=120)
        assert proc.returncode in (17, -signal.SIGKILL), out
        assert "finished without dying" not in out

        # right after the crash: nothing terminated on the source without a running copy
        assert all(await asyncio.gather(*(_twin_ok(source, target, wid) for wid in ids)))
        done_before = sum(1 for line in ck.read_text().splitlines() if '"step":"done"' in line)
        assert done_before < N

        # the same plan again, from the checkpoint
        plan = await migrate.plan(source, target, query=query_for(prefix))
        report = await plan.run(checkpoint=ck, progress=False)
        assert report.stats.failed == 0, report.failures
        assert report.stats.successful + report.stats.skipped == N
        assert set(report.frame.workflow_id) == set(ids)

        for wid in ids:
            await target.handle(wid).signal("checkout")
        results = await asyncio.gather(*(target.handle(wid).result(timeout=60) for wid in ids))
    for wid, r in zip(ids, results, strict=True):
        src_history = await source.handle(wid).history()
        assert (await source.handle(wid).describe()).status == "terminated"
        assert len(await runs_of(target, wid)) == 1, f"{wid} started twice on the target"
        assert r["items"] == _expected_items(src_history), wid  # every signal once, in order
    again = await plan.run(checkpoint=ck, progress=False)
    assert (again.stats.successful, again.stats.failed, again.stats.skipped) == (0, 0, N)
