"""wfkit definitions on temporalio: generated workflow classes, activity wrappers, the in-workflow runtime.

Workflows run with temporalio's *unsandboxed* runner. The sandbox re-imports a workflow's module to isolate it,
which cannot work for classes defined in a notebook cell or in ``__main__`` (no file to import), and it costs
time on every workflow start. wfkit's in-workflow API already routes time, randomness, timers and side effects
through the engine, which is what keeps workflow code deterministic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, NoReturn

import temporalio.activity
import temporalio.client
import temporalio.exceptions as tex
import temporalio.worker
import temporalio.workflow as twf

import wfkit.engine as wfe
from wfkit.engine import (
    WFKIT_STACK_QUERY,
    ActivityDefn,
    ActivityInfo,
    ActivityOptions,
    ChildOptions,
    HandlerDefn,
    WorkflowDefn,
    WorkflowInfo,
    decode_signal,
    register_runtime,
    task_stacks,
    telemetry,
    to_json_value,
)

from ._convert import failure_from_temporal, failure_to_temporal, retry_to_temporal

SIDE_EFFECT_ACTIVITY = "__wfkit_side_effect__"
_side_effects: dict[str, Callable[[], Any]] = {}
_seq = itertools.count()


class TemporalWorkflowRuntime:
    engine = "temporal"

    def active(self) -> bool:
        return twf.in_workflow()

    async def execute_activity(self, name: str, args: list[Any], options: ActivityOptions) -> Any:
        try:
            return await twf.execute_activity(
                name, args=args, task_queue=options.task_queue,
                start_to_close_timeout=options.start_to_close_timeout,
                schedule_to_close_timeout=options.schedule_to_close_timeout,
                schedule_to_start_timeout=options.schedule_to_start_timeout,
                heartbeat_timeout=options.heartbeat_timeout,
                retry_policy=retry_to_temporal(options.retry_policy),
                activity_id=options.activity_id,
            )
        except tex.FailureError as err:
            raise failure_from_temporal(err) from err  # type: ignore[misc]

    async def sleep(self, duration: timedelta) -> None:
        await twf.sleep(duration)

    async def wait_condition(self, fn: Callable[[], bool], timeout: timedelta | None) -> None:
        try:
            await twf.wait_condition(fn, timeout=timeout)
        except TimeoutError:
            raise wfe.TimeoutError(f"condition not met within {timeout}", kind="wait_condition") from None

    def get_version(self, change_id: str, min_supported: int, max_supported: int) -> int:
        # Version v of a change is the patch marker "<change_id>/v<v>". New executions record the newest
        # version; replays find the recorded one; executions older than the change have none (DEFAULT_VERSION).
        for v in range(max_supported, max(min_supported, 0) - 1, -1):
            if twf.patched(f"{change_id}/v{v}"):
                return v
        return wfe.DEFAULT_VERSION

    async def side_effect(self, fn: Callable[[], Any]) -> Any:
        # A local activity records the value in history (a marker); replays read it back without calling fn.
        key = f"{twf.info().run_id}/{next(_seq)}"
        _side_effects[key] = fn
        try:
            return await twf.execute_local_activity(SIDE_EFFECT_ACTIVITY, key,
                                                    start_to_close_timeout=timedelta(seconds=60))
        except tex.FailureError as err:
            raise failure_from_temporal(err) from err  # type: ignore[misc]
        finally:
            _side_effects.pop(key, None)

    def now(self) -> datetime:
        return twf.now()

    def uuid4(self) -> uuid.UUID:
        return twf.uuid4()

    def info(self) -> WorkflowInfo:
        i = twf.info()
        return WorkflowInfo(engine="temporal", namespace=i.namespace, workflow_id=i.workflow_id, run_id=i.run_id,
                            workflow_type=i.workflow_type, task_queue=i.task_queue, attempt=i.attempt,
                            start_time=i.start_time, continued_run_id=i.continued_run_id)

    def logger(self) -> logging.LoggerAdapter:
        return twf.logger

    async def execute_child_workflow(self, name: str, args: list[Any], options: ChildOptions) -> Any:
        try:
            return await twf.execute_child_workflow(
                name, args=args, id=options.id or f"{twf.info().workflow_id}/{twf.uuid4()}",
                task_queue=options.task_queue, execution_timeout=options.execution_timeout,
                run_timeout=options.run_timeout, retry_policy=retry_to_temporal(options.retry_policy),
                memo=options.memo,
            )
        except tex.FailureError as err:
            raise failure_from_temporal(err) from err  # type: ignore[misc]

    def continue_as_new(self, args: list[Any]) -> NoReturn:
        twf.continue_as_new(args=args)


class TemporalActivityRuntime:
    engine = "temporal"

    def active(self) -> bool:
        return temporalio.activity.in_activity()

    def heartbeat(self, details: list[Any]) -> None:
        temporalio.activity.heartbeat(*details)

    def info(self) -> ActivityInfo:
        i = temporalio.activity.info()
        return ActivityInfo(engine="temporal", activity_id=i.activity_id, activity_type=i.activity_type,
                            attempt=i.attempt, workflow_id=i.workflow_id or "", run_id=i.workflow_run_id or "",
                            task_queue=i.task_queue, heartbeat_details=tuple(i.heartbeat_details))


register_runtime(TemporalWorkflowRuntime(), TemporalActivityRuntime())


def _reraise_for_temporal(err: Exception) -> NoReturn:
    """Uncaught errors fail the workflow (not just its task), except nondeterminism, which must only fail the
    task so that fixed code can resume it."""
    if isinstance(err, (wfe.NondeterminismError, twf.NondeterminismError)):
        raise err
    converted = failure_to_temporal(err)
    if converted is err:
        raise err
    raise converted from None  # the converted failure carries the chain Temporal records


def _closed(type_name: str, ok: bool) -> None:
    """Count a workflow's outcome once: not again when its history is replayed."""
    if telemetry.enabled() and not twf.unsafe.is_replaying():
        telemetry.workflow_closed("temporal", type_name, ok, (twf.now() - twf.info().start_time).total_seconds())


def _signal_args(h: HandlerDefn, instance: Any, args: tuple[Any, ...]) -> list[Any] | None:
    i = twf.info()
    return decode_signal(h, instance, args, engine="temporal", workflow_id=i.workflow_id,
                         workflow_type=i.workflow_type, replaying=twf.unsafe.is_replaying())


def _signal_handler(h: HandlerDefn, is_async: bool, owner: str, module: str) -> Callable[..., Any]:
    if is_async:
        async def handler(self: Any, *args: Any) -> None:
            decoded = _signal_args(h, self._wfkit_instance, args)
            if decoded is not None:
                await getattr(self._wfkit_instance, h.method)(*decoded)
    else:
        def handler(self: Any, *args: Any) -> None:  # type: ignore[misc]
            decoded = _signal_args(h, self._wfkit_instance, args)
            if decoded is not None:
                getattr(self._wfkit_instance, h.method)(*decoded)
    handler.__name__ = f"signal_{h.method}"
    handler.__qualname__ = f"{owner}.{handler.__name__}"
    handler.__module__ = module
    return twf.signal(name=h.name)(handler)


def _query_handler(h: HandlerDefn, owner: str, module: str) -> Callable[..., Any]:
    def handler(self: Any, *args: Any) -> Any:
        return to_json_value(getattr(self._wfkit_instance, h.method)(*h.sig.decode_args(args)))

    handler.__name__ = f"query_{h.method}"
    handler.__qualname__ = f"{owner}.{handler.__name__}"
    handler.__module__ = module
    return twf.query(name=h.name)(handler)


def _update_handler(h: HandlerDefn, is_async: bool, owner: str, module: str) -> Callable[..., Any]:
    async def handler(self: Any, *args: Any) -> Any:
        try:
            result = getattr(self._wfkit_instance, h.method)(*h.sig.decode_args(args))
            if is_async:
                result = await result
        except Exception as err:  # noqa: BLE001 - the caller gets the failure; the workflow goes on
            _reraise_for_temporal(err)
        return to_json_value(result)

    handler.__name__ = f"update_{h.method}"
    handler.__qualname__ = f"{owner}.{handler.__name__}"
    handler.__module__ = module
    return twf.update(name=h.name)(handler)


def _stack_query(owner: str, module: str) -> Callable[..., Any]:
    def handler(self: Any) -> str:
        return task_stacks(asyncio.get_running_loop())

    handler.__name__ = "wfkit_stack_trace"
    handler.__qualname__ = f"{owner}.{handler.__name__}"
    handler.__module__ = module
    return twf.query(name=WFKIT_STACK_QUERY)(handler)


def temporal_workflow_class(defn: WorkflowDefn) -> type:
    """A temporalio workflow class that runs ``defn``'s class (cached on the definition)."""
    cached = defn.cls.__dict__.get("_wfkit_temporal_cls")
    if cached is not None and cached[0] is defn:
        return cached[1]

    def __init__(self: Any) -> None:
        self._wfkit_instance = defn.cls()

    async def run(self: Any, *args: Any) -> Any:
        inst = self._wfkit_instance
        try:
            result = await getattr(inst, defn.run_method)(*defn.run_sig.decode_args(args))
        except (Exception, asyncio.CancelledError) as err:  # every uncaught error is converted: _reraise_for_temporal
            if not isinstance(err, (wfe.NondeterminismError, twf.NondeterminismError)):
                _closed(defn.name, ok=False)
            if isinstance(err, asyncio.CancelledError):
                raise
            _reraise_for_temporal(err)
        _closed(defn.name, ok=True)
        return to_json_value(result)

    # temporalio wants handlers that look defined on the class, in its module (and not "<locals>").
    owner, module = f"{defn.cls.__name__}Temporal", defn.cls.__module__
    for fn in (run, __init__):
        fn.__qualname__ = f"{owner}.{fn.__name__}"
        fn.__module__ = module
    namespace: dict[str, Any] = {"__init__": __init__, "run": twf.run(run), "__module__": defn.cls.__module__,
                                 "__qualname__": owner}
    for h in defn.signals.values():
        is_async = asyncio.iscoroutinefunction(getattr(defn.cls, h.method))
        namespace[f"_signal_{h.method}"] = _signal_handler(h, is_async, owner, module)
    for h in defn.queries.values():
        namespace[f"_query_{h.method}"] = _query_handler(h, owner, module)
    for h in defn.updates.values():
        is_async = asyncio.iscoroutinefunction(getattr(defn.cls, h.method))
        namespace[f"_update_{h.method}"] = _update_handler(h, is_async, owner, module)
    namespace["_wfkit_stack_trace"] = _stack_query(owner, module)
    cls = type(owner, (), namespace)
    cls = twf.defn(name=defn.name, sandboxed=False)(cls)
    defn.cls._wfkit_temporal_cls = defn, cls  # type: ignore[attr-defined]  # cached on the user's class
    return cls


@contextlib.contextmanager
def _activity_call(name: str) -> Iterator[None]:
    """Around one activity attempt: telemetry, and wfkit's ApplicationError as temporalio's own."""
    telemetry.activity_started("temporal", name)
    t0, ok = time.monotonic(), False
    try:
        yield
        ok = True
    except wfe.ApplicationError as err:
        raise failure_to_temporal(err) from None  # the failure carries its own chain
    finally:
        telemetry.activity_closed("temporal", name, ok, time.monotonic() - t0)


def temporal_activity(defn: ActivityDefn) -> Callable[..., Any]:
    """A temporalio activity running ``defn``'s function with wfkit's conversions."""
    fn, name, decode = defn.fn, defn.name, defn.sig.decode_args
    if defn.is_async:
        async def act(*args: Any) -> Any:
            with _activity_call(name):
                return to_json_value(await fn(*decode(args)))
    else:
        def act(*args: Any) -> Any:  # type: ignore[misc]
            with _activity_call(name):
                return to_json_value(fn(*decode(args)))
    act.__name__ = defn.name
    act.__qualname__ = defn.name
    return temporalio.activity.defn(name=defn.name)(act)


@temporalio.activity.defn(name=SIDE_EFFECT_ACTIVITY)
def _run_side_effect(key: str) -> Any:
    fn = _side_effects.get(key)
    if fn is None:
        raise tex.ApplicationError("side effect function is gone (worker restarted mid-call)",
                                   type="SideEffectLost")
    return fn()


class TemporalWorker:
    """One temporalio worker, running on wfkit's loop until stopped."""

    def __init__(self, client: temporalio.client.Client, task_queue: str, workflows: list[WorkflowDefn],
                 activities: list[ActivityDefn], *, max_concurrent_activities: int | None = None,
                 max_concurrent_workflow_tasks: int | None = None, max_cached_workflows: int | None = None):
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_concurrent_activities or 32,
                                                               thread_name_prefix="wfkit-activity")
        kwargs: dict[str, Any] = {}
        if max_concurrent_activities:
            kwargs["max_concurrent_activities"] = max_concurrent_activities
        if max_concurrent_workflow_tasks:
            kwargs["max_concurrent_workflow_tasks"] = max_concurrent_workflow_tasks
        if max_cached_workflows is not None:
            kwargs["max_cached_workflows"] = max_cached_workflows
        acts = [temporal_activity(a) for a in activities]
        if workflows:
            acts.append(_run_side_effect)
        self._worker = temporalio.worker.Worker(
            client, task_queue=task_queue,
            workflows=[temporal_workflow_class(w) for w in workflows],
            activities=acts,
            activity_executor=self._executor,
            workflow_runner=temporalio.worker.UnsandboxedWorkflowRunner(),
            **kwargs,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._worker.run())
        await asyncio.sleep(0)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._task is None:
            return
        try:
            await self._worker.shutdown()
        finally:
            task, self._task = self._task, None
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - its failure was reported when it ended
                pass
            self._executor.shutdown(wait=False, cancel_futures=True)


async def replay_histories(histories: list[tuple[str, dict[str, Any]]],
                           workflows: list[WorkflowDefn | type]) -> list[BaseException | None]:
    """temporalio's Replayer (unsandboxed, like the workers) over Temporal JSON documents; ``workflows`` are
    wfkit definitions or temporalio ``@workflow.defn`` classes (replayed as they are)."""
    classes = [temporal_workflow_class(d) if isinstance(d, WorkflowDefn) else d for d in workflows]
    replayer = temporalio.worker.Replayer(workflows=classes,
                                          workflow_runner=temporalio.worker.UnsandboxedWorkflowRunner())

    async def source() -> Any:
        for workflow_id, doc in histories:
            yield temporalio.client.WorkflowHistory.from_json(workflow_id, doc)

    out: list[BaseException | None] = []
    async with replayer.workflow_replay_iterator(source()) as results:
        async for result in results:
            out.append(result.replay_failure)
    return out
