"""The API that workflow and activity code calls (``wfkit.execute_activity``, ``wfkit.sleep``, ...).

Each function finds the engine runtime that is executing the current workflow (adapters register one when
their worker module is imported) and hands it engine-neutral options. Arguments are turned into plain JSON
values here, and results back into the declared types, so both engines see the same data.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid as _uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from ._converter import from_json_value, to_json_value
from ._definitions import DEFAULT_RETRY_POLICY, ActivityDefn, RetryPolicy, WorkflowDefn, as_timedelta, workflow_defn
from ._errors import NondeterminismError, WfkitError

DEFAULT_VERSION = -1
"""What ``get_version`` returns for executions that started before a change was made."""


@dataclasses.dataclass(frozen=True)
class WorkflowInfo:
    """About the workflow execution whose code is running (``wfkit.info()``)."""

    engine: str
    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    attempt: int
    start_time: datetime | None = None
    continued_run_id: str | None = None


@dataclasses.dataclass(frozen=True)
class ActivityInfo:
    """About the activity attempt that is running (``wfkit.activity_info()``)."""

    engine: str
    activity_id: str
    activity_type: str
    attempt: int
    workflow_id: str
    run_id: str
    task_queue: str
    heartbeat_details: tuple[Any, ...] = ()


@dataclasses.dataclass(frozen=True)
class ActivityOptions:
    """Engine-neutral options of one activity call, normalised (timedeltas, a retry policy)."""

    task_queue: str | None
    start_to_close_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    schedule_to_start_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    retry_policy: RetryPolicy
    activity_id: str | None


@dataclasses.dataclass(frozen=True)
class ChildOptions:
    """Engine-neutral options of one child workflow call."""

    id: str | None
    task_queue: str | None
    execution_timeout: timedelta | None
    run_timeout: timedelta | None
    retry_policy: RetryPolicy | None
    memo: dict[str, Any] | None


class WorkflowRuntime(Protocol):
    """What an adapter provides to run wfkit's in-workflow API on its engine."""

    engine: str

    def active(self) -> bool: ...
    async def execute_activity(self, name: str, args: list[Any], options: ActivityOptions) -> Any: ...
    async def sleep(self, duration: timedelta) -> None: ...
    async def wait_condition(self, fn: Callable[[], bool], timeout: timedelta | None) -> None: ...
    def get_version(self, change_id: str, min_supported: int, max_supported: int) -> int: ...
    async def side_effect(self, fn: Callable[[], Any]) -> Any: ...
    def now(self) -> datetime: ...
    def uuid4(self) -> _uuid.UUID: ...
    def info(self) -> WorkflowInfo: ...
    def logger(self) -> logging.Logger | logging.LoggerAdapter: ...
    async def execute_child_workflow(self, name: str, args: list[Any], options: ChildOptions) -> Any: ...
    def continue_as_new(self, args: list[Any]) -> NoReturn: ...


class ActivityRuntime(Protocol):
    engine: str

    def active(self) -> bool: ...
    def heartbeat(self, details: list[Any]) -> None: ...
    def info(self) -> ActivityInfo: ...


_workflow_runtimes: list[WorkflowRuntime] = []
_activity_runtimes: list[ActivityRuntime] = []


def register_runtime(workflow_runtime: WorkflowRuntime, activity_runtime: ActivityRuntime) -> None:
    """Called by an adapter's worker module when it is imported."""
    if workflow_runtime not in _workflow_runtimes:
        _workflow_runtimes.append(workflow_runtime)
    if activity_runtime not in _activity_runtimes:
        _activity_runtimes.append(activity_runtime)


def _runtime(what: str) -> WorkflowRuntime:
    for rt in _workflow_runtimes:
        if rt.active():
            return rt
    raise WfkitError(f"wfkit.{what}() can only be called from workflow code run by a wfkit worker")


def _activity_runtime(what: str) -> ActivityRuntime:
    for rt in _activity_runtimes:
        if rt.active():
            return rt
    raise WfkitError(f"wfkit.{what}() can only be called from an activity run by a wfkit worker")


def _name_and_hint(target: Any, kind: str) -> tuple[str, Any]:
    if isinstance(target, str):
        return target, None
    if kind == "activity":
        defn = getattr(target, "__wfkit_activity__", None)
        if isinstance(defn, ActivityDefn):
            return defn.name, defn.sig.result
        raise WfkitError(f"execute_activity: {target!r} is not a @wfkit.activity function or an activity name")
    defn_w: WorkflowDefn = workflow_defn(target)
    return defn_w.name, defn_w.run_sig.result


async def execute_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    task_queue: str | None = None,
    start_to_close_timeout: timedelta | float | None = None,
    schedule_to_close_timeout: timedelta | float | None = None,
    schedule_to_start_timeout: timedelta | float | None = None,
    heartbeat_timeout: timedelta | float | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_id: str | None = None,
    result_type: Any = None,
) -> Any:
    """Run an activity and return its result (decoded to its declared return type or ``result_type``).

    At least one of ``start_to_close_timeout`` / ``schedule_to_close_timeout`` is required. Without
    ``retry_policy`` the activity is retried with wfkit's default policy (see ``RetryPolicy``).

    Raises:
        ActivityError: the activity failed for good; ``.cause`` is the error raised in it.
    """
    name, hint = _name_and_hint(activity, "activity")
    opts = ActivityOptions(
        task_queue=task_queue,
        start_to_close_timeout=as_timedelta(start_to_close_timeout, "start_to_close_timeout"),
        schedule_to_close_timeout=as_timedelta(schedule_to_close_timeout, "schedule_to_close_timeout"),
        schedule_to_start_timeout=as_timedelta(schedule_to_start_timeout, "schedule_to_start_timeout"),
        heartbeat_timeout=as_timedelta(heartbeat_timeout, "heartbeat_timeout"),
        retry_policy=retry_policy or DEFAULT_RETRY_POLICY,
        activity_id=activity_id,
    )
    if opts.start_to_close_timeout is None and opts.schedule_to_close_timeout is None:
        raise WfkitError(f"execute_activity({name!r}): give start_to_close_timeout or schedule_to_close_timeout")
    rt = _runtime("execute_activity")
    result = await rt.execute_activity(name, [to_json_value(a) for a in args], opts)
    return from_json_value(result, result_type if result_type is not None else hint)


async def sleep(duration: timedelta | float) -> None:
    """Durable timer: wait ``duration`` (a timedelta or seconds) in workflow time."""
    td = as_timedelta(duration, "sleep duration")
    assert td is not None
    await _runtime("sleep").sleep(td)


async def wait_condition(fn: Callable[[], bool], *, timeout: timedelta | float | None = None) -> None:
    """Wait until ``fn()`` is true (re-checked after every state change).

    Raises:
        TimeoutError: ``timeout`` passed first (kind ``wait_condition``).
    """
    await _runtime("wait_condition").wait_condition(fn, as_timedelta(timeout, "timeout"))


def get_version(change_id: str, min_supported: int, max_supported: int) -> int:
    """Which version of a change this execution runs: ``max_supported`` for new executions, the recorded one on
    replay, ``DEFAULT_VERSION`` for executions that started before the change.

    Raises:
        NondeterminismError: the recorded version is outside ``[min_supported, max_supported]``.
    """
    if not isinstance(change_id, str) or not change_id:
        raise WfkitError("get_version: change_id must be a non-empty string")
    if min_supported > max_supported:
        raise WfkitError(f"get_version({change_id!r}): min_supported {min_supported} > max_supported {max_supported}")
    if min_supported < DEFAULT_VERSION:
        raise WfkitError(f"get_version({change_id!r}): versions start at DEFAULT_VERSION ({DEFAULT_VERSION})")
    version = _runtime("get_version").get_version(change_id, min_supported, max_supported)
    if not min_supported <= version <= max_supported:
        raise NondeterminismError(
            f"get_version({change_id!r}): this execution recorded version {version}, outside the supported "
            f"range [{min_supported}, {max_supported}]")
    return version


async def side_effect(fn: Callable[[], Any], *, result_type: Any = None) -> Any:
    """Run ``fn`` once (e.g. a random choice) and record its result; replays return the recorded value."""
    value = await _runtime("side_effect").side_effect(lambda: to_json_value(fn()))
    return from_json_value(value, result_type)


def now() -> datetime:
    """Deterministic current time of the workflow (timezone-aware UTC)."""
    return _runtime("now").now()


def uuid4() -> _uuid.UUID:
    """Deterministic random UUID (the same on replay)."""
    return _runtime("uuid4").uuid4()


def info() -> WorkflowInfo:
    """About the running workflow execution."""
    return _runtime("info").info()


async def execute_child_workflow(
    workflow: type | str,
    *args: Any,
    id: str | None = None,
    task_queue: str | None = None,
    execution_timeout: timedelta | float | None = None,
    run_timeout: timedelta | float | None = None,
    retry_policy: RetryPolicy | None = None,
    memo: dict[str, Any] | None = None,
    result_type: Any = None,
) -> Any:
    """Start a child workflow and wait for its result.

    ``id`` chooses the child's workflow ID. Without it, wfkit gives ``<parent workflow ID>/<uuid>`` on every
    engine (the uuid from ``wfkit.uuid4()``, so replays agree). Children started by other SDKs have other
    defaults: the Go Cadence client ``<parent run ID>_<n>`` (n counting from 1), temporalio a bare UUID; pass
    ``id=`` where a workflow must find its child by a predictable ID.

    Raises:
        ChildWorkflowError: the child failed; ``.cause`` is the error raised there.
    """
    name, hint = _name_and_hint(workflow, "workflow")
    opts = ChildOptions(id, task_queue, as_timedelta(execution_timeout, "execution_timeout"),
                        as_timedelta(run_timeout, "run_timeout"), retry_policy, memo)
    rt = _runtime("execute_child_workflow")
    result = await rt.execute_child_workflow(name, [to_json_value(a) for a in args], opts)
    return from_json_value(result, result_type if result_type is not None else hint)


def continue_as_new(*args: Any) -> NoReturn:
    """End this run and start a fresh one of the same workflow with ``args`` (history starts over)."""
    _runtime("continue_as_new").continue_as_new([to_json_value(a) for a in args])


def heartbeat(*details: Any) -> None:
    """From an activity: report liveness (and progress ``details``); delivers cancellation requests."""
    _activity_runtime("heartbeat").heartbeat([to_json_value(d) for d in details])


def activity_info() -> ActivityInfo:
    """From an activity: about the running attempt."""
    return _activity_runtime("activity_info").info()


class _WorkflowLogger:
    """``wfkit.logger``: inside workflows the engine's replay-aware logger, elsewhere the ``wfkit`` logger."""

    _plain = logging.getLogger("wfkit")

    def _target(self) -> logging.Logger | logging.LoggerAdapter:
        for rt in _workflow_runtimes:
            if rt.active():
                return rt.logger()
        for art in _activity_runtimes:
            if art.active():
                return logging.getLogger("wfkit.activity")
        return self._plain

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __repr__(self) -> str:
        return "<wfkit.logger>"


logger = _WorkflowLogger()
