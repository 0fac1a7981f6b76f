"""Operating running workflows: what is pending (``Execution.pending_*``), who polls a task queue
(``client.task_queue``) and why a workflow is stuck (``handle.diagnose()``).

The values here are engine-neutral: each engine plugin fills them from its own describe calls, and
:func:`diagnose` reads only these values and the run's canonical history frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._errors import WfkitError

if TYPE_CHECKING:
    from ._execution import Execution
    from .history import History

__all__ = ["STACK_TRACE_QUERY", "WFKIT_STACK_QUERY", "Diagnosis", "Finding", "Namespace", "Namespaces",
           "PendingActivity", "PendingChild",
           "PendingWorkflowTask", "Poller", "TaskQueueInfo", "check_cron", "diagnose", "search_attribute_values",
           "task_stacks"]

PENDING_ACTIVITY_STATES = ("scheduled", "started", "cancel_requested")


@dataclasses.dataclass(frozen=True)
class PendingActivity:
    """An activity the server is waiting on (``temporal workflow describe``'s "Pending Activities")."""

    activity_id: str
    activity_type: str
    state: str
    """One of :data:`PENDING_ACTIVITY_STATES`."""
    attempt: int
    """The current attempt, 1-based."""
    maximum_attempts: int | None
    """None: unlimited."""
    last_failure: str | None = None
    """The previous attempt's failure as ``type: message`` (None before any failure)."""
    last_heartbeat_time: datetime | None = None
    heartbeat_details: Any = None
    """The last heartbeat's details, decoded (None when none were sent)."""
    scheduled_time: datetime | None = None
    last_started_time: datetime | None = None
    next_attempt_time: datetime | None = None
    """When the next attempt is scheduled (between retries), where the engine reports it."""
    last_worker_identity: str | None = None


@dataclasses.dataclass(frozen=True)
class PendingChild:
    """A child workflow the parent waits on."""

    workflow_id: str
    run_id: str | None
    workflow_type: str
    initiated_event_id: int | None = None


@dataclasses.dataclass(frozen=True)
class PendingWorkflowTask:
    """The workflow task (Cadence: decision task) the server has scheduled or handed to a worker."""

    state: str
    """scheduled or started."""
    attempt: int
    """1 normally; more when earlier attempts failed or timed out."""
    scheduled_time: datetime | None = None
    started_time: datetime | None = None
    original_scheduled_time: datetime | None = None
    """When the first of the failing attempts was scheduled ("failing since")."""


PENDING_ACTIVITY_COLUMNS = tuple(f.name for f in dataclasses.fields(PendingActivity))
PENDING_CHILD_COLUMNS = tuple(f.name for f in dataclasses.fields(PendingChild))


def _frame(rows: Iterable[Any], columns: Sequence[str], times: Sequence[str] = (), ints: Sequence[str] = ()) -> Any:
    import pandas as pd

    items = list(rows)
    df = pd.DataFrame({c: [getattr(r, c) for r in items] for c in columns}, columns=list(columns))
    for c in times:
        df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
    for c in ints:
        df[c] = df[c].astype("Int64")
    return df


def pending_activities_frame(items: Iterable[PendingActivity]) -> Any:
    """One row per pending activity (times datetime64[ns, UTC], attempts Int64)."""
    return _frame(items, PENDING_ACTIVITY_COLUMNS,
                  times=("last_heartbeat_time", "scheduled_time", "last_started_time", "next_attempt_time"),
                  ints=("attempt", "maximum_attempts"))


def pending_children_frame(items: Iterable[PendingChild]) -> Any:
    """One row per pending child workflow."""
    return _frame(items, PENDING_CHILD_COLUMNS, ints=("initiated_event_id",))


# --- task queues ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Poller:
    """A worker that polled a task queue lately (the server forgets pollers after a few minutes)."""

    identity: str
    kind: str
    """``workflow`` or ``activity``: which of the queue's two task kinds it polls."""
    last_access_time: datetime | None
    rate_per_second: float | None = None


@dataclasses.dataclass(frozen=True)
class TaskQueueInfo:
    """What the server knows of one task queue (Cadence: task list): its pollers and, where the engine reports
    it, its backlog."""

    name: str
    pollers: tuple[Poller, ...]
    workflow_backlog: int | None = None
    """Approximate workflow tasks waiting for a worker (None where the engine does not say)."""
    activity_backlog: int | None = None
    """Approximate activity tasks waiting for a worker."""

    @property
    def workflow_pollers(self) -> tuple[Poller, ...]:
        return tuple(p for p in self.pollers if p.kind == "workflow")

    @property
    def activity_pollers(self) -> tuple[Poller, ...]:
        return tuple(p for p in self.pollers if p.kind == "activity")

    def to_dataframe(self) -> Any:
        """One row per poller: ``identity, kind, last_access_time, rate_per_second``."""
        return _frame(self.pollers, ("identity", "kind", "last_access_time", "rate_per_second"),
                      times=("last_access_time",))

    def __repr__(self) -> str:
        return (f"<wfkit.TaskQueueInfo {self.name!r}: {len(self.workflow_pollers)} workflow pollers, "
                f"{len(self.activity_pollers)} activity pollers, backlog {_backlog(self)}>")

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import task_queue_html

        return task_queue_html(self)


def _backlog(tq: TaskQueueInfo) -> str:
    if tq.workflow_backlog is None and tq.activity_backlog is None:
        return "not reported"
    return f"workflow {tq.workflow_backlog}, activity {tq.activity_backlog}"


# --- diagnosis -----------------------------------------------------------------------------------------------
FINDING_KINDS = ("closed", "no_workflow_worker", "no_activity_worker", "workflow_task_failing", "activity_retrying",
                 "activity_running", "waiting_timer", "waiting_child", "waiting_signal", "workflow_task_pending")
"""Every kind a :class:`Finding` may have, roughly from the most to the least likely cause of a stall."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing :func:`diagnose` found, with the evidence it rests on."""

    kind: str
    """One of :data:`FINDING_KINDS`."""
    summary: str
    """One line a person reads."""
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The facts behind it (attempts, failures, times, pollers ...)."""
    severity: str = "info"
    """``problem`` (something must change for the workflow to go on) or ``info`` (it waits as designed)."""

    def __str__(self) -> str:
        return self.summary


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """Why a workflow is where it is: what ``handle.diagnose()`` and ``%wf why`` return."""

    workflow_id: str
    run_id: str
    status: str
    findings: tuple[Finding, ...]
    execution: Execution | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "problem")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(f.kind for f in self.findings)

    def __iter__(self) -> Any:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [f"{self.workflow_id} ({self.status}):"]
        lines += [f"  [{f.severity}] {f.summary}" for f in self.findings] or ["  nothing found"]
        return "\n".join(lines)

    def to_dataframe(self) -> Any:
        """One row per finding: ``kind, severity, summary, evidence`` (a dict)."""
        import pandas as pd

        return pd.DataFrame({"kind": [f.kind for f in self.findings],
                             "severity": [f.severity for f in self.findings],
                             "summary": [f.summary for f in self.findings],
                             "evidence": [f.evidence for f in self.findings]},
                            columns=["kind", "severity", "summary", "evidence"])

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import diagnosis_html

        return diagnosis_html(self)


def _when(t: Any) -> str:
    if t is None:
        return "?"
    try:
        return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (AttributeError, ValueError):
        return str(t)


def _classify_task_failure(text: str) -> str:
    low = text.lower()
    if "nondetermin" in low or "non-determin" in low or "unknown decision" in low:
        return "nondeterminism"
    if "decode" in low or "deserial" in low or "convert" in low or "payload" in low:
        return "decode error"
    return "exception"


def diagnose(execution: Execution, task_queue: TaskQueueInfo | None, history: History | None, *,
             now: datetime | None = None, signal_names: Sequence[str] = ()) -> Diagnosis:
    """Findings about one execution from its description, its task queue and its history (pure: no I/O).
    ``signal_names``: the signals its workflow type handles, where known (a worker of this process serves it)."""
    now = now or datetime.now(UTC)
    out: list[Finding] = []
    ex = execution
    if not ex.is_open:
        out.append(Finding("closed", f"the workflow is {ex.status.replace('_', ' ')}; nothing is pending",
                           {"status": ex.status, "close_time": ex.close_time}))
        return Diagnosis(ex.workflow_id, ex.run_id, ex.status, tuple(out), ex)
    frame = history.to_dataframe() if history is not None else None
    tq_name = ex.task_queue
    if task_queue is not None and not task_queue.workflow_pollers:
        out.append(Finding(
            "no_workflow_worker",
            f"no worker polls task queue {tq_name!r} for workflow tasks: start a worker on it, or check the "
            "name the workflow was started with",
            {"task_queue": tq_name, "pollers": [], "workflow_backlog": task_queue.workflow_backlog},
            severity="problem"))
    wft = ex.pending_workflow_task
    task_failures = _task_failures(frame)
    if (wft is not None and wft.attempt > 1) or (task_failures and _last_task_failed(frame)):
        message = task_failures[-1] if task_failures else None
        kind = _classify_task_failure(message or "")
        attempt = wft.attempt if wft is not None else len(task_failures)
        since = (wft.original_scheduled_time or wft.scheduled_time) if wft is not None else None
        text = f"the workflow task keeps failing ({kind}), attempt {attempt}"
        if since is not None:
            text += f", failing since {_when(since)}"
        if message:
            text += f": {_first_line(message)}"
        out.append(Finding("workflow_task_failing", text,
                           {"cause": kind, "message": message, "attempt": attempt, "failing_since": since,
                            "failures_in_history": len(task_failures)}, severity="problem"))
    for a in ex.pending_activities:
        of = f" of {a.maximum_attempts}" if a.maximum_attempts else " (no limit)"
        ev = {"activity_id": a.activity_id, "activity_type": a.activity_type, "state": a.state,
              "attempt": a.attempt, "maximum_attempts": a.maximum_attempts, "last_failure": a.last_failure,
              "next_attempt_time": a.next_attempt_time, "last_heartbeat_time": a.last_heartbeat_time}
        if a.attempt > 1 or a.last_failure:
            text = f"activity {a.activity_type} (id {a.activity_id}) is retrying: attempt {a.attempt}{of}"
            if a.last_failure:
                text += f", last failure: {_first_line(a.last_failure)}"
            if a.next_attempt_time is not None:
                text += f", next attempt at {_when(a.next_attempt_time)}"
            out.append(Finding("activity_retrying", text, ev, severity="problem"))
        else:
            text = f"waiting on activity {a.activity_type} (id {a.activity_id}), {a.state}"
            if a.state == "scheduled" and task_queue is not None and not task_queue.activity_pollers:
                out.append(Finding("no_activity_worker",
                                   f"activity {a.activity_type} is scheduled but no worker polls task queue "
                                   f"{tq_name!r} for activity tasks",
                                   {**ev, "task_queue": tq_name}, severity="problem"))
                continue
            out.append(Finding("activity_running", text, ev))
    if frame is not None and history is not None:
        timers = history.timers()
        for _, t in timers[timers["status"] == "started"].iterrows():
            fire = t["started_time"] + t["duration"] if t["duration"] == t["duration"] else None
            when = fire.floor("us").to_pydatetime() if fire is not None else None
            out.append(Finding("waiting_timer", f"waiting on timer {t['timer_id']} until {_when(when)}",
                               {"timer_id": t["timer_id"], "fires_at": when, "started_time": t["started_time"]}))
    for c in ex.pending_children:
        out.append(Finding("waiting_child", f"waiting on child workflow {c.workflow_id} ({c.workflow_type})",
                           {"workflow_id": c.workflow_id, "run_id": c.run_id, "workflow_type": c.workflow_type}))
    if not out:
        if wft is not None:
            out.append(Finding("workflow_task_pending",
                               f"a workflow task is {wft.state} (attempt {wft.attempt}); a worker should take it",
                               {"state": wft.state, "attempt": wft.attempt, "scheduled_time": wft.scheduled_time}))
        else:
            signals = []
            if history is not None:
                signals = [str(s) for s in history.signals()["signal_name"].dropna().tolist()]
            text = ("waiting for a signal (or a condition): no activity, timer, child or workflow task is pending")
            if signal_names:
                text += f"; it handles {', '.join(signal_names)}"
            if signals:
                text += f"; signals received so far: {', '.join(signals[-5:])}"
            out.append(Finding("waiting_signal", text, {"signals_received": signals,
                                                        "signal_handlers": list(signal_names)}))
    return Diagnosis(ex.workflow_id, ex.run_id, ex.status, tuple(out), ex)


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _task_failures(frame: Any) -> list[str]:
    if frame is None or not len(frame):
        return []
    rows = frame[frame["event_type"].astype(str).isin(["WorkflowTaskFailed", "WorkflowTaskTimedOut"])]
    out = []
    for t, f in zip(rows["event_type"].astype(str).tolist(), rows["failure"].tolist(), strict=True):
        if isinstance(f, str) and f:
            out.append(f)
        else:
            out.append("workflow task timed out" if t == "WorkflowTaskTimedOut" else "(no failure message recorded)")
    return out


def _last_task_failed(frame: Any) -> bool:
    """True when the latest workflow-task outcome in the history is a failure (not since recovered)."""
    types = [str(t) for t in frame["event_type"].tolist()]
    for t in reversed(types):
        if t in ("WorkflowTaskFailed", "WorkflowTaskTimedOut"):
            return True
        if t == "WorkflowTaskCompleted":
            return False
    return False



# --- stack traces ------------------------------------------------------------------------------------------------
STACK_TRACE_QUERY = "__stack_trace"
"""The engines' built-in query of where a workflow's code waits (Temporal's SDKs and Cadence's Go and Java
clients answer it; wfkit's Cadence runtime too)."""

WFKIT_STACK_QUERY = "__wfkit_stack_trace"
"""The same question answered by wfkit's runtimes on every engine with each coroutine's whole await chain
(temporalio's own ``__stack_trace`` shows only the outermost frame of each task)."""


def task_stacks(loop: Any) -> str:
    """Where each unfinished task of a workflow's event loop waits, innermost call last (the text of the
    ``__stack_trace`` query: one block per task, frames as ``file:line in function``)."""
    import asyncio

    try:
        asking = asyncio.current_task(loop)  # the query itself, where the runtime answers it in a task
    except RuntimeError:
        asking = None
    blocks = []
    for task in sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name()):
        if task.done() or task is asking:
            continue
        lines = [f"{task.get_name()}:"]
        for frame_line in _await_chain(task.get_coro()):
            lines.append(f"  {frame_line}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _await_chain(coro: Any) -> list[str]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first."""
    out: list[str] = []
    seen = 0
    while coro is not None and seen < 200:
        seen += 1
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            code = frame.f_code
            out.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        nxt = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if nxt is None or not (hasattr(nxt, "cr_frame") or hasattr(nxt, "gi_frame")):
            if nxt is not None:
                out.append(f"(waiting on {type(nxt).__name__})")
            break
        coro = nxt
    return out


# --- start options -----------------------------------------------------------------------------------------------
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every")


def check_cron(expr: str | None) -> str | None:
    """``expr`` when it looks like a cron schedule (five fields, or a macro such as ``@hourly``/``@every 5m``);
    the server checks it in full."""
    if expr is None:
        return None
    if not isinstance(expr, str) or not expr.strip():
        raise WfkitError(f"cron_schedule {expr!r}: expected a cron expression such as '*/5 * * * *' or '@hourly'")
    text = expr.strip()
    if text.startswith("@"):
        if text.split()[0] not in _CRON_MACROS:
            raise WfkitError(f"cron_schedule {expr!r}: unknown macro (expected one of {', '.join(_CRON_MACROS)})")
        return text
    if len(text.split()) != 5:
        raise WfkitError(f"cron_schedule {expr!r}: expected five fields (minute hour day month weekday)")
    return text


def search_attribute_values(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Search attributes as JSON values (datetimes as ISO 8601 text); a clear error for anything else."""
    if not values:
        return None
    if not isinstance(values, dict):
        raise WfkitError(f"search_attributes must be a dict of name -> value, got {type(values).__name__}")
    out: dict[str, Any] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise WfkitError(f"search attribute name {name!r}: expected a non-empty string")
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise WfkitError(f"search attribute {name!r}: the datetime needs a timezone")
            out[name] = value.astimezone(UTC).isoformat()
        elif isinstance(value, (str, bool, int, float)):
            out[name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
        else:
            raise WfkitError(f"search attribute {name!r}: {type(value).__name__} values cannot be indexed "
                             "(str, int, float, bool, datetime or a list of str)")
    return out


# --- namespaces ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Namespace:
    """A Temporal namespace or Cadence domain as the server describes it."""

    name: str
    id: str | None = None
    state: str | None = None
    """registered, deprecated or deleted."""
    description: str | None = None
    owner_email: str | None = None
    retention: timedelta | None = None
    """How long closed workflows stay visible."""
    is_global: bool | None = None
    data: dict[str, str] = dataclasses.field(default_factory=dict)


NAMESPACE_COLUMNS = tuple(f.name for f in dataclasses.fields(Namespace))


class Namespaces(Sequence[Namespace]):
    """The namespaces (Cadence: domains) of a server; ``to_dataframe()`` gives one row each."""

    def __init__(self, items: Iterable[Namespace]):
        self._items = list(items)

    def __getitem__(self, i: Any) -> Any:
        return Namespaces(self._items[i]) if isinstance(i, slice) else self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<wfkit.Namespaces: {', '.join(n.name for n in self._items)}>"

    def to_dataframe(self) -> Any:
        df = _frame(self._items, NAMESPACE_COLUMNS)
        df["retention"] = df["retention"].astype("timedelta64[ns]")
        return df

    def _repr_html_(self) -> str:
        return str(self.to_dataframe()._repr_html_())
