"""The public face of ``wfkit.migrate``, its strategy table, checkpoint journal and reprs (no servers)."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

import wfkit
from wfkit import migrate
from wfkit.migrate._checkpoint import Checkpoint, JsonlCheckpoint, NullCheckpoint, open_checkpoint
from wfkit.migrate._plan import MigrationPlan
from wfkit.migrate._strategies import STRATEGY_CLASSES, Item, Strategy

XSS = "<script>alert('x')</script>"


def test_exports():
    assert migrate.__all__ == [
        "JobProgress",
        "MIGRATION_MEMO_KEY",
        "PREVIEW_COLUMNS",
        "READINESS_COLUMNS",
        "REPORT_COLUMNS",
        "STATUS_COLUMNS",
        "STRATEGIES",
        "MigrationJob",
        "MigrationPlan",
        "MigrationReport",
        "MigrationStats",
        "MigrationStatus",
        "plan",
        "readiness",
        "read_status",
        "sync",
        "worker",
    ]
    for name in migrate.__all__:
        assert getattr(migrate, name) is not None
    assert wfkit.migrate is migrate
    assert migrate.STRATEGIES == ("restart", "drain", "archive")
    assert repr(migrate.sync) == "<sync twins of wfkit.migrate: plan, readiness>"


def test_one_class_per_strategy():
    assert tuple(STRATEGY_CLASSES) == migrate.STRATEGIES
    for name, cls in STRATEGY_CLASSES.items():
        assert issubclass(cls, Strategy) and cls.name == name
        for method in ("build", "run_one"):
            assert getattr(cls, method) is not getattr(Strategy, method), (name, method)


def _client(engine: str, address: str) -> SimpleNamespace:
    return SimpleNamespace(engine=engine, address=address, namespace="default", url=f"{engine}://{address}")


def _plan(strategy: str = "restart", items: list[Item] | None = None) -> MigrationPlan:
    p = MigrationPlan(_client("cadence", "c:7833"), _client("temporal", "t:7233"),  # type: ignore[arg-type]
                      query=f"WorkflowId='{XSS}'", strategy=strategy, allow_reexecution=False, definitions={},
                      task_queue=None, archive_dir=None, concurrency=4)
    p.items = items or []
    return p


def test_plan_and_report_reprs_escape_user_data():
    item = Item(f"id-{XSS}", "r1", f"T{XSS}", "running", XSS, "blocked", [XSS], f"because {XSS}")
    p = _plan(items=[item])
    assert repr(p) == ("<wfkit.MigrationPlan restart cadence@c:7833 -> temporal@t:7233: 1 workflows "
                       "(1 blocked)>")
    now = datetime.now(UTC)
    row = {"workflow_id": f"id-{XSS}", "workflow_type": f"T{XSS}", "action": "restart", "status": "failed",
           "outcome": f"failed {XSS}", "error": f"WfkitError: {XSS}", "source_run_id": "r1", "target_run_id": None,
           "signals_forwarded": 0, "started_at": now, "finished_at": now + timedelta(seconds=1)}
    report = migrate.MigrationReport(p, [row], dry_run=False, elapsed=1.0, checkpoint=f"/tmp/{XSS}.jsonl")
    assert repr(report) == ("<wfkit.MigrationReport restart: 1 total, 0 successful, 1 failed, 0 skipped "
                            "in 1.0 s>")
    for html in (p._repr_html_(), report._repr_html_()):
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "<table" in html
    assert report.failures["error"].iloc[0] == f"WfkitError: {XSS}"  # the frame keeps it as is


def test_plan_html_truncates():
    items = [Item(f"w{i}", "r", "T", "running", "q", "restart", [], "") for i in range(60)]
    html = _plan(items=items)._repr_html_()
    assert "truncated: showing 50 of 60" in html and html.count("<tr>") == 51


def test_checkpoint_journal(tmp_path):
    path = tmp_path / "m.jsonl"
    header = {"strategy": "restart", "source": "a", "target": "b", "query": None}
    ck: Checkpoint = open_checkpoint(path, header)
    assert isinstance(ck, JsonlCheckpoint) and ck.location == str(path)
    ck.write("w1", "state", source_run_id="r1", token="t")
    ck.write("w1", "started", target_run_id="x")
    ck.write("w2", "failed", error="boom")
    ck.close()
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"wf": "w1", "step": "done"')  # a torn last line
    again = JsonlCheckpoint(path, header)
    assert again.workflow_ids() == ["w1", "w2"]
    assert again.get("w1")["target_run_id"] == "x" and not again.get("w1").get("done")
    assert again.get("w1")["steps"] == ["state", "started"] and again.get("w2")["failed"] == "boom"
    again.write("w1", "state", source_run_id="r1", token="t2")  # a fresh state starts a new attempt
    assert "target_run_id" not in again.get("w1")
    again.close()
    third = JsonlCheckpoint(path, header)  # the line after the torn one is whole
    assert third.get("w1")["token"] == "t2" and third.get("w1")["steps"] == ["state", "started", "state"]
    third.close()
    assert json.loads(path.read_text().split("\n")[0])["wfkit_migration"] == 1
    with pytest.raises(wfkit.WfkitError, match="belongs to another migration"):
        JsonlCheckpoint(path, {**header, "strategy": "archive"})
    none = open_checkpoint(None, header)
    assert isinstance(none, NullCheckpoint) and none.location is None and none.get("w1") == {}


def test_checkpoint_records_per_source_run(tmp_path):
    """A record belongs to (workflow ID, source run ID): a 'done' of an earlier run of a reused workflow ID does
    not answer for a new run (it used to: the new run was skipped as 'already migrated')."""
    header = {"strategy": "restart", "source": "a", "target": "b", "query": "q"}
    ck = JsonlCheckpoint(tmp_path / "m.jsonl", header)
    ck.write("w1", "state", source_run_id="r1", token="t")
    ck.write("w1", "done")
    assert ck.get("w1", "r1")["done"] and ck.get("w1")["source_run_id"] == "r1"
    assert ck.get("w1", "r2") == {}
    ck.write("w1", "state", source_run_id="r2", token="t2")
    ck.write("w1", "failed", error="boom")
    ck.close()
    again = JsonlCheckpoint(tmp_path / "m.jsonl", header)
    assert again.get("w1", "r1")["done"] and "failed" not in again.get("w1", "r1")
    assert again.get("w1", "r2")["failed"] == "boom" and not again.get("w1", "r2").get("done")
    assert again.get("w1")["source_run_id"] == "r2" and again.workflow_ids() == ["w1"]
    again.close()
    with pytest.raises(wfkit.WfkitError, match="belongs to another migration .query"):
        JsonlCheckpoint(tmp_path / "m.jsonl", {**header, "query": "other"})


def test_default_checkpoint_is_per_migration(tmp_path, monkeypatch):
    """The default journal is not a shared ./migration.jsonl: one file per (strategy, source, target, query)
    in wfkit's state directory."""
    from wfkit.migrate._checkpoint import DEFAULT_CHECKPOINT, default_checkpoint_path

    monkeypatch.setenv("WFKIT_STATE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    header = {"strategy": "restart", "source": "a", "target": "b", "query": "q"}
    ck = open_checkpoint(DEFAULT_CHECKPOINT, header)
    ck.write("w", "done", source_run_id="r")
    ck.close()
    assert ck.location == str(default_checkpoint_path(header))
    assert ck.location.startswith(str(tmp_path / "migrations")) and not (tmp_path / "migration.jsonl").exists()
    other = open_checkpoint(DEFAULT_CHECKPOINT, {**header, "query": "other"})  # its own file, not refused
    assert other.location != ck.location and other.get("w") == {}
    other.close()
    monkeypatch.delenv("WFKIT_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert str(default_checkpoint_path(header)).startswith(str(tmp_path / "xdg" / "wfkit" / "migrations"))
    assert inspect.signature(migrate.MigrationPlan.run).parameters["checkpoint"].default == DEFAULT_CHECKPOINT
