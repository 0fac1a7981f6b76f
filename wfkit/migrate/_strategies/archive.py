"""``archive``: each closed workflow's history to files, in the target engine's JSON and in wfkit's, listed with
checksums in a ``manifest.json``."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfkit._errors import WfkitError
from wfkit.migrate._strategies.base import Item, Strategy, where

if TYPE_CHECKING:
    from wfkit.migrate._checkpoint import Checkpoint
    from wfkit.migrate._plan import MigrationPlan
    from wfkit.migrate._report import Row


class Archive(Strategy):
    name = "archive"

    def __init__(self, plan: MigrationPlan):
        super().__init__(plan)
        self._entries: dict[str, dict[str, Any]] = {}  # this run's manifest entries
        self._manifest: dict[str, Any] | None = None

    async def build(self) -> list[Item]:
        execs = [e for e in await self.source.list(self.plan.query, limit=None) if e.status != "running"]
        return [Item.of(e, "archive", f"closed ({e.status}): history written as {self.target.engine} and wfkit "
                                      "JSON") for e in execs]

    @property
    def archive_dir(self) -> Path:
        """``plan.archive_dir``, or ``wfkit-archive-<source engine>-<plan time>`` (then kept in the plan)."""
        if self.plan.archive_dir is None:
            stamp = self.plan.created.strftime("%Y%m%dT%H%M%SZ")
            self.plan.archive_dir = Path(f"wfkit-archive-{self.source.engine}-{stamp}")
        return self.plan.archive_dir

    @property
    def manifest(self) -> dict[str, Any] | None:
        return self._manifest

    async def prepare(self, items: list[Item], ck: Checkpoint, dry_run: bool) -> list[Item]:
        self._entries = {}
        if not dry_run:
            for sub in (self.target.engine, "wfkit"):
                (self.archive_dir / sub).mkdir(parents=True, exist_ok=True)
        return items

    def _paths(self, it: Item) -> tuple[Path, Path]:
        """(the target engine's file, wfkit's file) of one workflow."""
        name = f"{urllib.parse.quote(it.workflow_id, safe='')}__{it.run_id}.json"
        return self.archive_dir / self.target.engine / name, self.archive_dir / "wfkit" / name

    async def run_one(self, item: Item, ck: Checkpoint, dry_run: bool, row: Row) -> None:
        native_path, wfkit_path = self._paths(item)
        rec = ck.get(item.workflow_id)
        if rec.get("archived") and rec.get("run_id") == item.run_id and native_path.exists() \
                and wfkit_path.exists() and _sha256(native_path) == rec.get("native_sha256") \
                and _sha256(wfkit_path) == rec.get("wfkit_sha256"):
            row.update(status="skipped", outcome="already archived (checkpoint)")
            self._keep(rec.get("entry"))
            return
        history = await self.source.handle(item.workflow_id, item.run_id).history()
        native, note = self._native_json(history)
        portable = history.to_json(format="wfkit")
        n = len(history)
        for what, text in ((self.target.engine, native), ("wfkit", portable)):
            _check_events(text, n, f"{what} JSON of {item.workflow_id!r}")
        if dry_run:
            row.update(status="successful", outcome=f"would archive {n} events")
            return
        for path, text in ((native_path, native), (wfkit_path, portable)):
            _write_atomically(path, text)
        for path in (native_path, wfkit_path):  # verify what is on disk
            _check_events(path, n, str(path))
        entry: dict[str, Any] = {"workflow_id": item.workflow_id, "run_id": item.run_id,
                                 "workflow_type": item.workflow_type, "status": item.status, "events": n,
                                 "files": {self.target.engine: str(native_path.relative_to(self.archive_dir)),
                                           "wfkit": str(wfkit_path.relative_to(self.archive_dir))},
                                 "sha256": {self.target.engine: _sha256(native_path),
                                            "wfkit": _sha256(wfkit_path)},
                                 "replayable": not note}
        ck.write(item.workflow_id, "archived", run_id=item.run_id,
                 native_sha256=entry["sha256"][self.target.engine], wfkit_sha256=entry["sha256"]["wfkit"],
                 entry=entry)
        row.update(status="successful", outcome=f"archived {n} events{note}")
        self._keep(entry)

    def _native_json(self, history: Any) -> tuple[str, str]:
        """(the history in the target engine's JSON, a note when the target's replayer cannot read it)."""
        if history.engine == self.target.engine:
            return history.to_json(format=self.target.engine), ""
        from wfkit._replay import NotConvertible, replayable_json

        try:  # converted so that the target's own replayer reads it
            return replayable_json(history, self.target.engine), ""
        except NotConvertible as exc:
            return history.to_json(format=self.target.engine), f" (not replayable on {self.target.engine}: {exc})"

    def _keep(self, entry: dict[str, Any] | None) -> None:
        if entry:
            self._entries[_key(entry)] = entry

    def finish(self, rows: list[Row], dry_run: bool) -> None:
        """Write ``manifest.json``: the entries already there and this run's."""
        if dry_run:
            return
        root = self.archive_dir
        path = root / "manifest.json"
        entries: dict[str, Any] = {}
        if path.exists():
            try:
                for e in json.loads(path.read_text(encoding="utf-8")).get("workflows", []):
                    entries[_key(e)] = e
            except (ValueError, KeyError):
                entries = {}
        entries.update(self._entries)
        files_on_disk = {p.name for p in (root / self.target.engine).glob("*.json")}
        wfkit_on_disk = {p.name for p in (root / "wfkit").glob("*.json")}
        listed = {Path(e["files"][self.target.engine]).name for e in entries.values()}
        from datetime import UTC, datetime

        manifest = {
            "wfkit_archive": 1, "created": datetime.now(UTC).isoformat(), "source": where(self.source),
            "target_engine": self.target.engine, "query": self.plan.query, "count": len(entries),
            "events": sum(e["events"] for e in entries.values()),
            "verified": listed == files_on_disk == wfkit_on_disk,
            "formats": {self.target.engine: f"{self.target.engine} native history JSON", "wfkit": "wfkit JSON"},
            "workflows": sorted(entries.values(), key=lambda e: (e["workflow_id"], e["run_id"] or "")),
        }
        _write_atomically(path, json.dumps(manifest, indent=2, default=str))
        self._manifest = manifest


def _key(entry: dict[str, Any]) -> str:
    return f"{entry['workflow_id']}__{entry['run_id']}"


def _check_events(text_or_path: str | Path, n: int, what: str) -> None:
    """``text_or_path`` reads back as a history of ``n`` events."""
    from wfkit.history._history import History

    got = len(History.from_json(text_or_path))
    if got != n:
        raise WfkitError(f"{what} reads back {got} events, not {n}")


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
