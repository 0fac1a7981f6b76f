"""wfkit workflows on cadence-python-client's workflow machinery, and wfkit's in-workflow API on Cadence.

What the SDK gives and wfkit uses as is: its deterministic event loop, its decision state machines (activities,
timers, child workflows, markers, cancellation), replay with nondeterminism detection, ``get_version`` (Cadence's
``Version`` markers, DEFAULT_VERSION = -1), ``side_effect`` (``SideEffect`` markers), signals, queries,
cancellation and continue-as-new.

What wfkit does itself, through the SDK's decision manager rather than its public helpers, and why:

- activities: the SDK's ``execute_activity`` adds a 10 s schedule-to-start timeout and a one-hour
  schedule-to-close timeout of its own, ignores ``activity_id`` and says nothing but a text when an activity fails;
  wfkit schedules the decision itself with its own timeout rules (below), wfkit's retry policy and failure format;
- timers: the SDK sends sub-second durations to the server unrounded (Cadence then truncates 200 ms to 0 s and
  rejects the decision forever); wfkit rounds every duration UP to whole seconds;
- ``wait_condition(timeout=…)``: the SDK has none; wfkit races the condition against a durable timer and cancels
  the timer when the condition wins;
- child workflows: the SDK requires an execution timeout and maps failures to its own exception types; wfkit
  defaults to ten years and raises ``ChildWorkflowError`` with the child's own wfkit error as ``.cause``;
- workflow failures: the SDK records ``reason=class name`` and a text; wfkit records the SPEC failure document
  (see ``_convert``), and turns ``wfkit.NondeterminismError`` into the SDK's fatal decision error, which fails
  only the decision task so that fixed code can resume the workflow;
- asyncio's own timers (``asyncio.sleep``, ``wait_for``, ``timeout``) in workflow code: the SDK's loop refuses
  them; wfkit makes them durable timers, as temporalio does;
- a cancel request that arrives with the start: the SDK cancels the run before its first line; wfkit lets it
  reach its first await first (so ``except CancelledError`` cleanup runs), as on Temporal;
- ``ActivityError.retry_state`` (``timeout``, ``non_retryable_failure``, ``maximum_attempts_reached``, as on
  Temporal), from the attempts the history's ActivityTaskStarted events record (the SDK drops them).

Activity timeouts on Cadence: ``start_to_close`` defaults to ``schedule_to_close``; ``schedule_to_close`` (the bound
on all attempts, as on Temporal) defaults to the workflow's timeout and also becomes the retry policy's expiration;
``schedule_to_start`` defaults to ``schedule_to_close`` and, when given, is listed as non-retryable (as on Temporal;
Cadence would otherwise stretch it to the whole retry window). ``heartbeat_timeout`` goes to the server one second
longer than asked (rounded up), because Cadence compares heartbeat deadlines in whole seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from cadence._internal.context import extract_headers
from cadence._internal.workflow.context import Context
from cadence._internal.workflow.decision_events_iterator import DecisionEventsIterator, is_decision_event
from cadence._internal.workflow.deterministic_event_loop import DeterministicEventLoop, FatalDecisionError
from cadence._internal.workflow.statemachine.decision_state_machine import DecisionType
from cadence._internal.workflow.workflow_engine import DecisionResult, WorkflowEngine
from cadence.api.v1 import workflow_pb2
from cadence.api.v1.common_pb2 import ActivityType, Payload, WorkflowType
from cadence.api.v1.decision_pb2 import (
    Decision,
    FailWorkflowExecutionDecisionAttributes,
    ScheduleActivityTaskDecisionAttributes,
    StartChildWorkflowExecutionDecisionAttributes,
    StartTimerDecisionAttributes,
)
from cadence.api.v1.tasklist_pb2 import TaskList, TaskListKind
from cadence.error import (
    ActivityFailure,
    ChildWorkflowExecutionCanceled,
    ChildWorkflowExecutionFailed,
    ChildWorkflowExecutionTerminated,
    ChildWorkflowExecutionTimedOut,
    ContinueAsNewError,
    StartChildWorkflowExecutionFailed,
)
from cadence.workflow import WorkflowContext, WorkflowDefinition
from cadence.workflow import WorkflowInfo as CadenceWorkflowInfo
from google.protobuf.duration_pb2 import Duration

import wfkit.engine as wfe
from wfkit.engine import (
    STACK_TRACE_QUERY,
    WFKIT_STACK_QUERY,
    ActivityOptions,
    ChildOptions,
    HandlerDefn,
    WorkflowDefn,
    WorkflowInfo,
    decode_signal,
    task_stacks,
    telemetry,
    to_json_value,
)

from . import _telemetry
from ._convert import (
    DATA_CONVERTER,
    FOREVER,
    NON_RETRYABLE_REASON,
    SCHEDULE_TO_START_REASON,
    decode_first,
    decode_values,
    duration,
    encode_failure,
    encode_values,
    error_from_failure,
    memo_to_proto,
    retry_to_cadence,
    timeout_kind_from_name,
    whole_seconds,
)


@dataclasses.dataclass
class ExecutionExtras:
    """What wfkit keeps per workflow execution besides the SDK's context (rebuilt on every decision task)."""

    start_time: datetime | None
    attempt: int
    continued_run_id: str | None
    workflow_timeout: timedelta
    uuid_seq: int = 0
    trace_parent: Any = None
    """The OpenTelemetry context the workflow was started in (telemetry on)."""
    recording: bool = True
    """False while a query task replays the history: nothing is recorded (spans, metrics) then."""
    attempts: dict[str, int] = dataclasses.field(default_factory=dict)
    """Attempts each activity (by ID) has started, from its last ActivityTaskStarted event (counted from 1)."""


def _context() -> Context:
    ctx = WorkflowContext.get()
    if not hasattr(ctx, "_wfkit"):
        raise wfe.WfkitError("this Cadence workflow is not run by a wfkit worker")
    return ctx


def _extras(ctx: Context) -> ExecutionExtras:
    return ctx._wfkit


def _now(ctx: Context) -> datetime:
    """Workflow time: when the current decision task started (the same on every replay)."""
    t = ctx.get_replay_current_time()
    if t is None:
        t = _extras(ctx).start_time or datetime.fromtimestamp(0, UTC)
    return t


def _live(ctx: Context) -> bool:
    """True when this code runs for the first time (not replayed, not for a query): record telemetry then."""
    return _extras(ctx).recording and not ctx.is_replay_mode() and telemetry.enabled()


def _span(ctx: Context, name: str) -> bytes | None:
    i = ctx.info()
    return _telemetry.instant(name, _extras(ctx).trace_parent, {
        "wfkit.workflow_id": i.workflow_id, "wfkit.run_id": i.workflow_run_id, "wfkit.workflow_type": i.workflow_type})


class _ReplayAwareLogger(logging.LoggerAdapter):
    """``wfkit.logger`` inside Cadence workflows: silent while history is replayed."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        try:
            if WorkflowContext.get().is_replay_mode():
                return
        except RuntimeError:
            pass
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        try:
            i = WorkflowContext.get().info()
            extra = {"workflow_id": i.workflow_id, "run_id": i.workflow_run_id, "workflow_type": i.workflow_type}
        except RuntimeError:
            extra = {}
        kwargs["extra"] = {**extra, **(kwargs.get("extra") or {})}
        return msg, kwargs


_workflow_logger = _ReplayAwareLogger(logging.getLogger("wfkit.workflow"), {})


def activity_error(exc: ActivityFailure, name: str, activity_id: str, policy: wfe.RetryPolicy | None,
                   attempts: int | None) -> wfe.ActivityError:
    """The wfkit error for the SDK's ActivityFailure (failed, or timed out when heartbeat details are set).

    ``retry_state`` says why the retries stopped, as on Temporal: ``timeout``, ``non_retryable_failure`` or
    ``maximum_attempts_reached``; a retryable failure before the attempts ran out means the retry window (the
    schedule-to-close timeout) closed.
    """
    text = exc.args[0] if exc.args else ""
    details = exc.failure_details or ""
    head = text[: len(text) - len(details) - 1] if details and text.endswith(details) else text
    cause: BaseException
    if isinstance(exc.heartbeat_details, Payload):  # only timeouts carry them
        kind = timeout_kind_from_name(head)
        last = error_from_failure("", details) if details.lstrip().startswith("{") else None
        cause = wfe.TimeoutError(f"activity {name} {kind.replace('_', '-')} timeout", kind=kind, cause=last)
        retry_state = "timeout"
    else:
        cause = error_from_failure(head, details)
        listed = policy.non_retryable_error_types if policy is not None else ()
        if head == NON_RETRYABLE_REASON or getattr(cause, "non_retryable", False) or head in listed \
                or getattr(cause, "type", None) in listed:
            retry_state = "non_retryable_failure"
        elif policy is None or policy.maximum_attempts == 1 or (
                policy.maximum_attempts and (attempts or 0) >= policy.maximum_attempts):
            retry_state = "maximum_attempts_reached"
        else:
            retry_state = "timeout"
    return wfe.ActivityError(f"activity {name} failed", activity_type=name, activity_id=activity_id,
                               retry_state=retry_state, cause=cause)


class CadenceWorkflowRuntime:
    """wfkit's WorkflowRuntime on the SDK's workflow context."""

    engine = "cadence"

    def active(self) -> bool:
        return WorkflowContext.is_set() and hasattr(WorkflowContext.get(), "_wfkit")

    async def execute_activity(self, name: str, args: list[Any], options: ActivityOptions) -> Any:
        ctx = _context()
        info = ctx.info()
        x = _extras(ctx)
        s2c = options.schedule_to_close_timeout
        bound = s2c or x.workflow_timeout
        attrs = ScheduleActivityTaskDecisionAttributes(
            activity_type=ActivityType(name=name), domain=info.workflow_domain,
            task_list=TaskList(kind=TaskListKind.TASK_LIST_KIND_NORMAL,
                               name=options.task_queue or info.workflow_task_list),
            input=encode_values(args), request_local_dispatch=False,
        )
        attrs.schedule_to_close_timeout.CopyFrom(duration(bound, at_least=1))
        attrs.schedule_to_start_timeout.CopyFrom(duration(options.schedule_to_start_timeout or bound, at_least=1))
        attrs.start_to_close_timeout.CopyFrom(duration(options.start_to_close_timeout or bound, at_least=1))
        if options.heartbeat_timeout:
            # Cadence checks a heartbeat deadline in whole seconds (floor(last beat + T) <= floor(now)), so a
            # gap just under T can already time out; one second more keeps every gap shorter than T alive.
            attrs.heartbeat_timeout.CopyFrom(Duration(seconds=whole_seconds(options.heartbeat_timeout) + 1))
        retry = retry_to_cadence(options.retry_policy, expiration=s2c, fallback_expiration=x.workflow_timeout,
                                 extra_non_retryable=(SCHEDULE_TO_START_REASON,)
                                 if options.schedule_to_start_timeout else ())
        if retry is not None:
            attrs.retry_policy.CopyFrom(retry)
        if _live(ctx):
            _telemetry.put(attrs.header, _span(ctx, f"StartActivity:{name}"))
        dm = ctx._decision_manager
        if options.activity_id:
            # The decision manager names activities by a counter; a user's ID takes its place for this one call.
            custom = options.activity_id
            dm._next_id = lambda: custom
            try:
                future = dm.schedule_activity(attrs)
            finally:
                del dm._next_id
        else:
            future = dm.schedule_activity(attrs)
        try:
            payload = await future
        except ActivityFailure as exc:
            raise activity_error(exc, name, attrs.activity_id, options.retry_policy,
                                 x.attempts.get(attrs.activity_id)) from None
        return decode_first(payload)

    async def sleep(self, duration_: timedelta) -> None:
        seconds = whole_seconds(duration_)
        if seconds > 0:
            await _context().start_timer(timedelta(seconds=seconds))

    async def wait_condition(self, fn: Callable[[], bool], timeout: timedelta | None) -> None:
        ctx = _context()
        if timeout is None:
            await ctx.wait_condition(fn)
            return
        if fn():
            return
        loop: DeterministicEventLoop = asyncio.get_running_loop()

        async def condition() -> None:
            await loop.create_waiter(fn)

        cond = loop.create_task(condition())
        timer = loop.create_task(ctx.start_timer(timedelta(seconds=max(1, whole_seconds(timeout)))))
        try:
            await asyncio.wait([cond, timer], return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            cond.cancel()
            timer.cancel()
            raise
        if cond.done():
            if not timer.done():
                timer.cancel()  # a CancelTimer decision (or nothing, if the timer was never sent)
            cond.result()
            return
        cond.cancel()
        raise wfe.TimeoutError(f"condition not met within {timeout}", kind="wait_condition")

    def get_version(self, change_id: str, min_supported: int, max_supported: int) -> int:
        try:
            return _context().get_version(change_id, min_supported, max_supported)
        except FatalDecisionError as exc:
            # Recorded version outside the supported range: the decision task fails, not the workflow.
            raise FatalDecisionError(f"wfkit.get_version({change_id!r}): {exc}") from None

    async def side_effect(self, fn: Callable[[], Any]) -> Any:
        return _context().side_effect(fn, None)

    def now(self) -> datetime:
        return _now(_context())

    def uuid4(self) -> uuid.UUID:
        ctx = _context()
        x = _extras(ctx)
        x.uuid_seq += 1
        rnd = random.Random(f"{ctx.info().workflow_run_id}/{x.uuid_seq}")
        return uuid.UUID(int=rnd.getrandbits(128), version=4)

    def info(self) -> WorkflowInfo:
        ctx = _context()
        i = ctx.info()
        x = _extras(ctx)
        return WorkflowInfo(engine="cadence", namespace=i.workflow_domain, workflow_id=i.workflow_id,
                            run_id=i.workflow_run_id, workflow_type=i.workflow_type, task_queue=i.workflow_task_list,
                            attempt=x.attempt, start_time=x.start_time, continued_run_id=x.continued_run_id)

    def logger(self) -> logging.LoggerAdapter:
        return _workflow_logger

    async def execute_child_workflow(self, name: str, args: list[Any], options: ChildOptions) -> Any:
        ctx = _context()
        info = ctx.info()
        workflow_id = options.id or f"{info.workflow_id}/{self.uuid4()}"
        given = [t for t in (options.execution_timeout, options.run_timeout) if t is not None]
        timeout = min(given) if given else FOREVER
        attrs = StartChildWorkflowExecutionDecisionAttributes(
            domain=info.workflow_domain, workflow_id=workflow_id, workflow_type=WorkflowType(name=name),
            task_list=TaskList(kind=TaskListKind.TASK_LIST_KIND_NORMAL,
                               name=options.task_queue or info.workflow_task_list),
            input=encode_values(args), parent_close_policy=workflow_pb2.PARENT_CLOSE_POLICY_TERMINATE,
            workflow_id_reuse_policy=workflow_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        )
        attrs.execution_start_to_close_timeout.CopyFrom(duration(timeout, at_least=1))
        attrs.task_start_to_close_timeout.CopyFrom(duration(timedelta(seconds=10)))
        retry = retry_to_cadence(options.retry_policy, expiration=options.execution_timeout,
                                 fallback_expiration=timeout)
        if retry is not None:
            attrs.retry_policy.CopyFrom(retry)
        if options.memo:
            attrs.memo.CopyFrom(memo_to_proto({k: to_json_value(v) for k, v in options.memo.items()}))
        if _live(ctx):
            _telemetry.put(attrs.header, _span(ctx, f"StartChildWorkflow:{name}"))
        started, result = ctx._decision_manager.schedule_child_workflow(
            attrs, parent_workflow_run_id=info.workflow_run_id)
        cause: BaseException
        try:
            await started
            return decode_first(await result)
        except StartChildWorkflowExecutionFailed as exc:
            cause = wfe.ApplicationError(f"child workflow {workflow_id!r} could not start: "
                                           f"{workflow_pb2.ChildWorkflowExecutionFailedCause.Name(exc.cause)}",
                                           type="WorkflowAlreadyStartedError")
        except ChildWorkflowExecutionFailed as exc:
            cause = error_from_failure(exc.failure.reason, exc.failure.details)
        except ChildWorkflowExecutionCanceled:
            cause = wfe.Canceled("child workflow canceled")
        except ChildWorkflowExecutionTimedOut:
            cause = wfe.TimeoutError("child workflow timed out", kind="execution")
        except ChildWorkflowExecutionTerminated:
            cause = wfe.Terminated("child workflow terminated")
        raise wfe.ChildWorkflowError(f"child workflow {name} failed", workflow_type=name,
                                       workflow_id=workflow_id, cause=cause)

    def continue_as_new(self, args: list[Any]) -> NoReturn:
        _context()
        raise ContinueAsNewError(*args)


# ---------------------------------------------------------------------------------------------------------------
# wfkit definitions as SDK workflow definitions


class _JsonParams:
    """Stands in for the SDK's FnSignature: every JSON value of the payload, undecoded (wfkit decodes)."""

    def params_from_payload(self, data_converter: Any, payload: Payload) -> list[Any]:
        return decode_values(payload)


_PARAMS = _JsonParams()


class _Handler(_JsonParams):
    """A signal or query handler as the SDK calls it: ``handler(instance, *args)``."""

    def __init__(self, name: str, fn: Callable[..., Any]):
        self.name = name
        self._fn = fn

    def __call__(self, instance: Any, *args: Any) -> Any:
        return self._fn(instance, *args)


class _Unreadable:
    """A signal payload that is not JSON: the handler drops it (``decode_signal``) instead of the SDK."""

    def __init__(self, error: Exception):
        self.error = error


class _SignalHandler(_Handler):
    def params_from_payload(self, data_converter: Any, payload: Payload) -> list[Any]:
        try:
            return decode_values(payload)
        except Exception as exc:  # noqa: BLE001 - counted and recorded by decode_signal, like any bad input
            return [_Unreadable(exc)]


def _signal(h: HandlerDefn) -> _Handler:
    def call(wrapper: Any, *args: Any) -> Any:
        ctx, inst = _context(), wrapper._wfkit_instance
        i = ctx.info()
        unreadable = args[0].error if len(args) == 1 and isinstance(args[0], _Unreadable) else None
        # "replaying" as for telemetry (_live): also when a query re-runs the history, so a drop is logged once
        replaying = ctx.is_replay_mode() or not _extras(ctx).recording
        decoded = decode_signal(h, inst, args, engine="cadence", workflow_id=i.workflow_id,
                                workflow_type=i.workflow_type, replaying=replaying, decode_error=unreadable)
        return None if decoded is None else getattr(inst, h.method)(*decoded)

    return _SignalHandler(h.name, call)


def _query(h: HandlerDefn) -> _Handler:
    def call(wrapper: Any, *args: Any) -> Any:
        return to_json_value(getattr(wrapper._wfkit_instance, h.method)(*h.sig.decode_args(args)))

    return _Handler(h.name, call)


def _stack_trace(wrapper: Any) -> str:
    """The ``__stack_trace`` query, as Temporal's and Cadence's Go and Java clients answer it."""
    loop = getattr(wrapper, "_wfkit_loop", None)
    return task_stacks(loop) if loop is not None else ""


def _closed(ctx: Context, type_name: str, ok: bool) -> None:
    """Count a workflow's outcome once: not again when its history is replayed."""
    if _live(ctx):
        now = _now(ctx)
        telemetry.workflow_closed("cadence", type_name, ok, (now - (_extras(ctx).start_time or now)).total_seconds())


def cadence_definition(defn: WorkflowDefn) -> WorkflowDefinition:
    """The SDK workflow definition that runs ``defn``'s class (cached on the definition)."""
    cached = defn.cls.__dict__.get("_wfkit_cadence_defn")
    if cached is not None and cached[0] is defn:
        return cached[1]

    class Runner:
        def __init__(self) -> None:
            self._wfkit_instance = defn.cls()

        async def run(self, *args: Any) -> Any:
            inst = self._wfkit_instance
            self._wfkit_loop = asyncio.get_running_loop()  # for the __stack_trace query
            ctx = _context()
            if _live(ctx):
                _span(ctx, f"RunWorkflow:{defn.name}")
            try:
                result = await getattr(inst, defn.run_method)(*defn.run_sig.decode_args(args))
            except wfe.NondeterminismError as exc:
                # Fails only the decision task, so that a fixed deployment can resume the workflow.
                raise FatalDecisionError(str(exc)) from exc
            except (ContinueAsNewError, FatalDecisionError):
                raise
            except (Exception, asyncio.CancelledError):
                _closed(ctx, defn.name, ok=False)
                raise
            _closed(ctx, defn.name, ok=True)
            return to_json_value(result)

    Runner.__name__ = Runner.__qualname__ = f"{defn.cls.__name__}Cadence"
    signals = {name: _signal(h) for name, h in defn.signals.items()}
    queries = {name: _query(h) for name, h in defn.queries.items()}
    for name in (STACK_TRACE_QUERY, WFKIT_STACK_QUERY):
        queries.setdefault(name, _Handler(name, _stack_trace))
    cdefn = WorkflowDefinition(Runner, defn.name, "run", signals, queries, _PARAMS)
    defn.cls._wfkit_cadence_defn = defn, cdefn  # type: ignore[attr-defined]  # cached on the user's class
    return cdefn


class _DurableTimerHandle:
    """What ``loop.call_later`` returns in a Cadence workflow: a durable timer (cancel = CancelTimer)."""

    def __init__(self, future: asyncio.Future[Any], when: float):
        self._future = future
        self._when = when
        self._cancelled = False

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._future.cancel()

    def cancelled(self) -> bool:
        return self._cancelled

    def when(self) -> float:
        return self._when


class WfkitWorkflowEngine(WorkflowEngine):
    """The SDK's workflow engine, with wfkit's failure format for workflows that fail, and asyncio's timers
    (``asyncio.sleep``, ``asyncio.wait_for``, ``asyncio.timeout`` in workflow code) as durable Cadence timers,
    as they are on Temporal (the SDK's loop refuses them)."""

    def __init__(self, info: CadenceWorkflowInfo, definition: WorkflowDefinition, extras: ExecutionExtras):
        super().__init__(info, definition)
        self._context._wfkit = extras
        dm = self._decision_manager
        handle = dm.handle_history_event

        def handle_and_count(event: Any) -> None:
            # The SDK ignores ActivityTaskStarted; its attempt tells why an activity's retries stopped.
            if event.HasField("activity_task_started_event_attributes"):
                a = event.activity_task_started_event_attributes
                machine = dm.aliases.get((DecisionType.ACTIVITY, a.scheduled_event_id))
                if machine is not None:
                    extras.attempts[machine.request.activity_id] = a.attempt + 1
            handle(event)

        dm.handle_history_event = handle_and_count

        instance = self._workflow_instance
        request_cancel = instance.request_cancel

        def request_cancel_after_first_step(info: Any) -> None:
            # A cancel request in the same decision task as the start would cancel the run before its first
            # line, so its cleanup code never ran; as on Temporal, the workflow first runs up to its first await.
            task = instance._task
            if task is not None and not task.done() and inspect.getcoroutinestate(task.get_coro()) == "CORO_CREATED":
                self._event_loop.run_until_yield()
            request_cancel(info)

        instance.request_cancel = request_cancel_after_first_step
        loop = self._event_loop
        loop.time = self._workflow_time
        loop.call_later = self._call_later
        loop.call_at = self._call_at

    def _workflow_time(self) -> float:
        return _now(self._context).timestamp()

    def _call_at(self, when: float, callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        return self._call_later(when - self._workflow_time(), callback, *args, context=context)

    def _call_later(self, delay: float, callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        seconds = max(1, whole_seconds(timedelta(seconds=max(delay, 0))))
        attrs = StartTimerDecisionAttributes()
        attrs.start_to_fire_timeout.FromTimedelta(timedelta(seconds=seconds))
        future = self._decision_manager.start_timer(attrs)
        loop = self._event_loop

        def fired(f: asyncio.Future[Any]) -> None:
            if not f.cancelled():
                loop.call_soon(callback, *args, context=context)

        future.add_done_callback(fired)
        return _DurableTimerHandle(future, self._workflow_time() + seconds)

    def process_new_events(self, events: list[Any]) -> DecisionResult:
        """A sticky decision task: apply only the events since the last decision task this engine answered.

        ``events`` start with that task's DecisionTaskCompleted, then the events its decisions recorded
        (ActivityTaskScheduled, TimerStarted, markers …: they move the decision state machines from requested to
        recorded, as the outputs of a replayed decision task do), then what happened since (the next inputs) up
        to this task's DecisionTaskStarted. The workflow code then runs on from where it waited, as it would at
        the end of a full replay.
        """
        if not events or not events[0].HasField("decision_task_completed_event_attributes"):
            raise ValueError("a sticky decision task's history starts with the last DecisionTaskCompleted")
        dm = self._decision_manager
        with self._context._activate() as ctx, extract_headers(self._context_propagators, self._headers):
            i = 1
            while i < len(events) and is_decision_event(events[i]):
                dm.handle_history_event(events[i])
                i += 1
            self._process_decision_events(ctx, DecisionEventsIterator(events[i:]))
            return DecisionResult(decisions=dm.collect_pending_decisions())

    def answer_query(self, query: Any) -> DecisionResult:
        """A query on this engine's current state (a cached run: nothing is replayed)."""
        with self._context._activate(), extract_headers(self._context_propagators, self._headers):
            return self._execute_query(query)

    def _maybe_complete_workflow(self) -> Decision | None:
        inst = self._workflow_instance
        if inst.is_done():
            task = inst._task
            assert task is not None
            if not task.cancelled():
                exc = task.exception()
                if isinstance(exc, Exception) and not isinstance(
                        exc, (ContinueAsNewError, FatalDecisionError, asyncio.InvalidStateError)):
                    return Decision(fail_workflow_execution_decision_attributes=FailWorkflowExecutionDecisionAttributes(
                        failure=encode_failure(exc)))
        return super()._maybe_complete_workflow()


def new_engine(defn: WorkflowDefinition, events: list[Any], *, domain: str, workflow_id: str, run_id: str,
               workflow_type: str, task_queue: str, recording: bool = True) -> WfkitWorkflowEngine:
    first = events[0]
    started = first.workflow_execution_started_event_attributes
    timeout = started.execution_start_to_close_timeout.ToTimedelta() \
        if started.HasField("execution_start_to_close_timeout") else FOREVER
    extras = ExecutionExtras(
        start_time=first.event_time.ToDatetime(tzinfo=UTC),
        attempt=started.attempt + 1, continued_run_id=started.continued_execution_run_id or None,
        workflow_timeout=timeout if timeout > timedelta(0) else FOREVER, recording=recording,
        trace_parent=_telemetry.context_from(started.header) if telemetry.enabled() else None,
    )
    info = CadenceWorkflowInfo(workflow_type=workflow_type, workflow_domain=domain, workflow_id=workflow_id,
                               workflow_run_id=run_id, workflow_task_list=started.task_list.name or task_queue,
                               data_converter=DATA_CONVERTER)
    return WfkitWorkflowEngine(info, defn, extras)


def replay(events: list[Any], workflows: list[WorkflowDefn], *, domain: str = "replay",
           workflow_id: str = "replay", run_id: str = "replay") -> None:
    """Replay one run's history (``cadence.api.v1`` events) through ``workflows``' current code.

    Raises:
        wfe.NondeterminismError: the code no longer makes the decisions the history recorded (or a recorded
            version is outside the supported range). Any other error of the code is raised as it is.
    """
    if not events or not events[0].HasField("workflow_execution_started_event_attributes"):
        raise wfe.HistoryFormatError("a Cadence history starts with WorkflowExecutionStarted", index=0)
    started = events[0].workflow_execution_started_event_attributes
    name = started.workflow_type.name
    defns = {d.name: d for d in workflows}
    if name not in defns:
        raise wfe.WfkitError(f"replay: no workflow named {name!r} among {sorted(defns)}")
    engine = new_engine(cadence_definition(defns[name]), events, domain=domain, workflow_id=workflow_id,
                        run_id=run_id, workflow_type=name, task_queue=started.task_list.name, recording=False)
    try:
        if asyncio._get_running_loop() is None:
            engine.process_decision(list(events))
        else:  # the SDK's deterministic loop cannot run in a thread that already runs an event loop
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wfkit-replay") as pool:
                pool.submit(engine.process_decision, list(events)).result()
    except FatalDecisionError as exc:
        raise wfe.NondeterminismError(f"replay of {workflow_id!r} ({name}) diverged from its history: {exc}") \
            from exc
