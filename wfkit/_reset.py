"""Resetting a workflow: ``handle.reset_preview(to)`` says what a reset would discard and reapply;
``handle.reset(to)`` (or ``plan.reset()``) makes the new run.

A reset ends the run (the engine records it as terminated) and starts a new run of the same workflow ID from
the history up to a workflow task; events after that point are discarded, signals received after it are
reapplied to the new run (on both engines), and the workflow's code runs again from there.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING, Any

from ._errors import WfkitError

if TYPE_CHECKING:
    from ._client import WorkflowHandle
    from .history import History

__all__ = ["RESET_TARGETS", "ResetPlan", "reset_point"]

RESET_TARGETS = ("last", "first")
"""Named reset points: the last or the first completed workflow task (or give an event ID)."""

_FINISH = ("WorkflowTaskCompleted", "WorkflowTaskFailed", "WorkflowTaskTimedOut")


def reset_point(history: History, to: str | int) -> int:
    """The event ID a reset to ``to`` (``last``, ``first`` or an event ID) goes back to: the end of a workflow
    task (its completed, failed or timed-out event).

    Raises:
        WfkitError: no workflow task completed yet, or the event ID is not the end of a workflow task.
    """
    frame = history.to_dataframe()
    kinds = frame["event_type"].astype(str)
    completed = frame.loc[kinds == "WorkflowTaskCompleted", "event_id"].tolist()
    finishes = frame.loc[kinds.isin(_FINISH), "event_id"].tolist()
    if isinstance(to, bool) or not isinstance(to, (str, int)):
        raise WfkitError(f"reset to {to!r}: expected 'last', 'first' or an event ID")
    if isinstance(to, str):
        if to not in RESET_TARGETS:
            raise WfkitError(f"reset to {to!r}: expected one of {', '.join(RESET_TARGETS)} or an event ID")
        if not completed:
            raise WfkitError(f"workflow {history.workflow_id!r}: no workflow task completed yet, nothing to reset to")
        return int(completed[-1] if to == "last" else completed[0])
    if to not in finishes:
        near = ", ".join(str(e) for e in finishes[-10:]) or "none yet"
        raise WfkitError(f"reset to event {to}: not the end of a workflow task in {history.workflow_id!r} "
                         f"(the ends of workflow tasks are events {near})")
    return int(to)


@dataclasses.dataclass
class ResetPlan:
    """What a reset would do (``handle.reset_preview``): nothing has changed yet; ``reset()`` does it."""

    handle: WorkflowHandle = dataclasses.field(repr=False)
    workflow_id: str
    run_id: str
    event_id: int
    """The reset point: the end of the workflow task the new run starts after."""
    discarded: Any = dataclasses.field(repr=False)
    """The history frame's rows after the reset point: events the new run does not have."""
    reapplied_signals: Any = dataclasses.field(repr=False)
    """The signals received after the reset point (``History.signals()`` rows): the new run gets them again."""
    request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    """Sent with the reset: the server does the same reset once, however often ``reset()`` is retried."""

    def __repr__(self) -> str:
        return (f"<wfkit.ResetPlan {self.workflow_id!r} run {self.run_id} to event {self.event_id}: "
                f"discards {len(self.discarded)} events, reapplies {len(self.reapplied_signals)} signals>")

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import reset_plan_html

        return reset_plan_html(self)

    async def reset(self, *, reason: str | None = None) -> WorkflowHandle:
        """Reset now; the handle of the new run."""
        return await self.handle._reset(self, reason)


def plan_from(handle: WorkflowHandle, run_id: str, history: History, to: str | int,
              request_id: str | None = None) -> ResetPlan:
    """The plan of resetting run ``run_id`` (whose history is ``history``) to ``to``."""
    event_id = reset_point(history, to)
    frame = history.to_dataframe()
    signals = history.signals()
    return ResetPlan(handle=handle, workflow_id=handle.workflow_id, run_id=run_id, event_id=event_id,
                     discarded=frame[frame["event_id"] > event_id].reset_index(drop=True),
                     reapplied_signals=signals[signals["event_id"] > event_id].reset_index(drop=True),
                     **({"request_id": request_id} if request_id else {}))
