"""What every strategy is made of: the plan's rows (``Item``) and the ``Strategy`` interface the plan drives."""

from __future__ import annotations

import abc
import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from wfkit._execution import Execution
    from wfkit._router import Router
    from wfkit.migrate._checkpoint import Checkpoint
    from wfkit.migrate._plan import MigrationPlan
    from wfkit.migrate._report import Row

PREVIEW_COLUMNS = ("workflow_id", "status", "action", "reexecutes", "reason", "workflow_type", "run_id",
                   "task_queue")

T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass
class Item:
    """One workflow of a plan: what it is on the source and what the strategy means to do with it (a row of
    ``MigrationPlan.preview``)."""

    workflow_id: str
    run_id: str | None
    workflow_type: str
    status: str
    task_queue: str | None
    action: str
    reexecutes: list[str]
    reason: str
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, e: Execution, action: str, reason: str) -> Item:
        """The item of a listed execution."""
        return cls(e.workflow_id, e.run_id, e.workflow_type, e.status, e.task_queue, action, [], reason,
                   dict(e.memo), tuple(e.tags))

    def preview_row(self) -> dict[str, Any]:
        return {"workflow_id": self.workflow_id, "status": self.status, "action": self.action,
                "reexecutes": list(self.reexecutes), "reason": self.reason, "workflow_type": self.workflow_type,
                "run_id": self.run_id, "task_queue": self.task_queue}


class Strategy(abc.ABC):
    """One way to migrate. The plan calls ``build()`` once (the preview), then for each ``run()``:
    ``prepare()``, ``run_one()`` for each workflow (several at once), ``finish()``."""

    name: ClassVar[str]
    """What ``plan(strategy=...)`` calls it."""

    def __init__(self, plan: MigrationPlan):
        self.plan = plan
        self.source = plan.source
        self.target = plan.target

    @abc.abstractmethod
    async def build(self) -> list[Item]:
        """The preview: one item per workflow of the source that the plan's query matches, with its action
        and the reason for it."""

    async def prepare(self, items: list[Item], ck: Checkpoint, dry_run: bool) -> list[Item]:
        """Before a run: the items it handles (the plan's, and whatever else the strategy finds)."""
        return items

    @abc.abstractmethod
    async def run_one(self, item: Item, ck: Checkpoint, dry_run: bool, row: Row) -> None:
        """Migrate one workflow (or, with ``dry_run``, check what only reads), journaling each step in ``ck``
        before the next; say how it went in ``row`` (its status and outcome). Raising marks it failed."""

    def finish(self, rows: list[Row], dry_run: bool) -> None:
        """After a run, with every workflow's row (nothing, unless the strategy writes something then)."""
        return None

    def router(self) -> Router | None:
        """The router the plan offers for starts during the migration (``plan.router``), if any."""
        return None

    @property
    def archive_dir(self) -> Path | None:
        """Where the strategy writes files, if it does."""
        return None

    @property
    def manifest(self) -> dict[str, Any] | None:
        """What the latest run wrote there, if anything."""
        return None


def running(query: str | None) -> str:
    """``query`` narrowed to running executions."""
    base = "ExecutionStatus='Running'"
    return f"{base} AND ({query})" if query and query.strip() else base


def where(client: Any) -> dict[str, str]:
    """Engine, address and namespace of a client (what memos and manifests say of it)."""
    return {"engine": client.engine, "address": client.address, "namespace": client.namespace}


async def gather_bounded(fn: Callable[[T], Awaitable[R]], items: Iterable[T], limit: int) -> list[R]:
    """``fn`` over ``items``, at most ``limit`` at once; the results in the order of ``items``."""
    sem = asyncio.Semaphore(limit)

    async def one(x: T) -> R:
        async with sem:
            return await fn(x)

    return list(await asyncio.gather(*(one(x) for x in items)))
