"""Schedules (Temporal): ``client.schedules()``, ``describe_schedule``, ``create_schedule``, ``pause_schedule``,
``unpause_schedule``, ``trigger_schedule``, ``delete_schedule``. Engines without them raise ``UnsupportedFeature``
(``Capability.SCHEDULES``); on those, ``cron_schedule=`` on start is the way to run on a schedule."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ._errors import WfkitError

__all__ = ["Schedule", "ScheduleSpec", "Schedules"]


@dataclasses.dataclass(frozen=True)
class ScheduleSpec:
    """When a schedule acts: cron expressions and/or fixed intervals."""

    cron: tuple[str, ...] = ()
    """Cron expressions (``"0 * * * *"``)."""
    every: tuple[timedelta, ...] = ()
    """Fixed intervals."""

    def __post_init__(self) -> None:
        from ._operate import check_cron

        if not self.cron and not self.every:
            raise WfkitError("a schedule needs cron expressions or intervals (cron=... or every=...)")
        for c in self.cron:
            check_cron(c)
        for e in self.every:
            if not isinstance(e, timedelta) or e <= timedelta(0):
                raise WfkitError(f"schedule interval {e!r}: expected a positive timedelta")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A schedule as the server describes it."""

    id: str
    workflow_type: str | None
    workflow_id: str | None = None
    """The workflow ID each action starts (the server appends the action's time)."""
    task_queue: str | None = None
    spec: str = ""
    """When it acts, as text (cron expressions, intervals, calendars)."""
    paused: bool = False
    note: str | None = None
    next_action_times: tuple[datetime, ...] = ()
    recent_actions: tuple[tuple[datetime, str], ...] = ()
    """(scheduled time, workflow ID started) of its latest actions."""
    num_actions: int | None = None
    """Actions taken so far (describe only)."""


SCHEDULE_COLUMNS = ("id", "workflow_type", "spec", "paused", "note", "next_action_time", "recent_actions")


class Schedules(Sequence[Schedule]):
    """The schedules of a namespace; ``to_dataframe()`` gives one row each."""

    def __init__(self, items: Iterable[Schedule]):
        self._items = list(items)

    def __getitem__(self, i: Any) -> Any:
        return Schedules(self._items[i]) if isinstance(i, slice) else self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<wfkit.Schedules: {len(self)} schedules>"

    def to_dataframe(self) -> Any:
        import pandas as pd

        rows = [{"id": s.id, "workflow_type": s.workflow_type, "spec": s.spec, "paused": s.paused, "note": s.note,
                 "next_action_time": s.next_action_times[0] if s.next_action_times else None,
                 "recent_actions": len(s.recent_actions)} for s in self._items]
        df = pd.DataFrame(rows, columns=list(SCHEDULE_COLUMNS))
        df["next_action_time"] = pd.to_datetime(df["next_action_time"], utc=True).astype("datetime64[ns, UTC]")
        return df

    def _repr_html_(self) -> str:
        return str(self.to_dataframe()._repr_html_())
