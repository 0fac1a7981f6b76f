"""Workflow executions as values: ``wfkit.Execution`` and the list ``wfkit.Executions``."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._operate import PendingActivity, PendingChild, PendingWorkflowTask

STATUSES = ("running", "completed", "failed", "canceled", "terminated", "continued_as_new", "timed_out")

COLUMNS = ("engine", "workflow_id", "run_id", "workflow_type", "status", "task_queue", "start_time", "close_time",
           "history_length", "memo", "tags", "search_attributes")


@dataclasses.dataclass(frozen=True)
class Execution:
    """One workflow run as the engine describes it (the same fields on every engine)."""

    engine: str
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    """One of running, completed, failed, canceled, terminated, continued_as_new, timed_out."""
    task_queue: str | None
    """None where the engine's listing does not say (Cadence basic visibility)."""
    start_time: datetime | None
    close_time: datetime | None
    history_length: int | None
    """Events in the run's history; None where the engine does not say (a listing's open runs, on every
    engine: ``describe()`` knows)."""
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)
    tags: tuple[str, ...] = ()
    # What ``handle.describe()`` adds (listings leave these empty):
    search_attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Search attributes as the server indexed them (values decoded to JSON values)."""
    parent_workflow_id: str | None = None
    parent_run_id: str | None = None
    execution_timeout: timedelta | None = None
    run_timeout: timedelta | None = None
    task_timeout: timedelta | None = None
    pending_activities: tuple[PendingActivity, ...] = ()
    """Activities the server waits on, with attempts, last failure and heartbeat (``wfkit.PendingActivity``)."""
    pending_children: tuple[PendingChild, ...] = ()
    pending_workflow_task: PendingWorkflowTask | None = None
    """The workflow task scheduled or running now (attempt > 1: earlier attempts failed)."""

    @property
    def is_open(self) -> bool:
        return self.status == "running"

    def pending_activities_frame(self) -> Any:
        """``pending_activities`` as a frame, one row each."""
        from ._operate import pending_activities_frame

        return pending_activities_frame(self.pending_activities)

    def pending_children_frame(self) -> Any:
        """``pending_children`` as a frame, one row each."""
        from ._operate import pending_children_frame

        return pending_children_frame(self.pending_children)

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import execution_html

        return execution_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


class Executions(Sequence[Execution]):
    """A list of executions (what ``client.list`` returns); ``to_dataframe()`` gives one row each."""

    def __init__(self, items: Iterable[Execution] = (), *, query: str | None = None, truncated: bool = False):
        self._items = list(items)
        self.query = query
        self.truncated = truncated
        """True when ``limit`` cut the listing short."""

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return Executions(self._items[i], query=self.query)
        return self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        more = " (truncated)" if self.truncated else ""
        return f"<wfkit.Executions: {len(self)} executions{more}>"

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import executions_html

        return executions_html(self)

    def head(self, n: int = 5) -> Any:
        """The first ``n`` rows of :meth:`to_dataframe` (as ``DataFrame.head``)."""
        return self.to_dataframe().head(n)

    def tail(self, n: int = 5) -> Any:
        """The last ``n`` rows of :meth:`to_dataframe` (as ``DataFrame.tail``)."""
        return self.to_dataframe().tail(n)

    def to_dataframe(self) -> Any:
        """One row per execution, columns engine … tags, times as datetime64[ns, UTC]."""
        import pandas as pd

        data = {c: [getattr(e, c) for e in self._items] for c in COLUMNS}
        df = pd.DataFrame(data, columns=list(COLUMNS))
        for c in ("start_time", "close_time"):
            df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
        df["history_length"] = df["history_length"].astype("Int64")
        df["status"] = df["status"].astype(pd.CategoricalDtype(STATUSES))
        for c in ("engine", "workflow_id", "run_id", "workflow_type", "task_queue"):
            df[c] = df[c].astype("object")
        return df

    @classmethod
    async def collect(cls, rows: AsyncGenerator[Execution, None], *, query: str | None,
                      limit: int | None) -> Executions:
        """The first ``limit`` rows of an engine's streamed listing (``truncated`` when more were there)."""
        out: list[Execution] = []
        truncated = False
        if limit != 0:
            async for e in rows:
                if limit is not None and len(out) >= limit:
                    truncated = True
                    break
                out.append(e)
        await rows.aclose()
        return cls(out, query=query, truncated=truncated)
