"""``drain``: nothing moves; new starts go to the target, and each run reports what is still open on the
source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfkit._router import Router
from wfkit.migrate._strategies.base import Item, Strategy, running

if TYPE_CHECKING:
    from wfkit.migrate._checkpoint import Checkpoint
    from wfkit.migrate._plan import MigrationPlan
    from wfkit.migrate._report import Row

class Drain(Strategy):
    name = "drain"

    def __init__(self, plan: MigrationPlan):
        super().__init__(plan)
        self._router = Router({"source": plan.source, "target": plan.target}, default="target")
        self._open: dict[str, str] = {}  # workflow ID -> outcome, for those still open on the source

    def router(self) -> Router:
        return self._router

    async def build(self) -> list[Item]:
        execs = await self.source.list(running(self.plan.query), limit=None)
        return [Item.of(e, "wait", "open on the source: it finishes there; new starts go to the target")
                for e in execs]

    async def prepare(self, items: list[Item], ck: Checkpoint, dry_run: bool) -> list[Item]:
        """The plan's workflows, and those started on the source since (one listing of the source)."""
        now_open = {e.workflow_id: e for e in await self.source.list(running(self.plan.query), limit=None)}
        self._open = {}
        for it in items:
            ex = now_open.pop(it.workflow_id, None)
            if ex is not None and (ex.run_id == it.run_id or it.run_id is None):
                self._open[it.workflow_id] = "still open on the source"
        late = [Item.of(ex, "wait", "started on the source after the plan") for ex in now_open.values()]
        for it in late:
            self._open[it.workflow_id] = "still open on the source (started there after the plan)"
        return [*items, *late]

    async def run_one(self, item: Item, ck: Checkpoint, dry_run: bool, row: Row) -> None:
        outcome = self._open.get(item.workflow_id)
        if outcome is None:
            row.update(status="successful", outcome="finished on the source")
        else:
            row.update(status="pending", outcome=outcome)
