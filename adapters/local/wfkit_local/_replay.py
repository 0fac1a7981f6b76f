"""Workflow code on a deterministic event loop, driven by its history.

A worker keeps a run's replayer in memory between workflow tasks (sticky execution: ``advance`` applies only
the new events). Without one (another worker, new code, a failed task, a restart, a query, ``wfkit.replay``) a
fresh instance of the workflow class replays the run's whole history: events are applied in order (activity
results, timers fired, signals, cancel requests); at each recorded ``WorkflowTaskStarted`` the loop runs until no
coroutine can move, and the commands the code issued must match the command events recorded after that task's
``WorkflowTaskCompleted`` (else ``NondeterminismError``). After the last event the code runs once more: the
commands it issues then are the new workflow task's decisions.

The loop is an ``asyncio.AbstractEventLoop`` stepped by hand: ``call_later``/``call_at`` are durable timers (so
``asyncio.sleep`` and ``asyncio.wait_for`` in workflow code are recorded), and ``loop.time()`` is workflow time.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn

import wfkit.engine as wfe
from wfkit.engine import (
    ActivityInfo,
    ActivityOptions,
    ChildOptions,
    WorkflowDefn,
    WorkflowInfo,
    decode_signal,
    register_runtime,
    to_json_value,
)

from . import _events as ev

ENGINE = "local"
_log = logging.getLogger("wfkit.local.workflow")


class _ReplayQuietLogger(logging.LoggerAdapter):
    """``wfkit.logger`` in workflow code: records once, not again each time the history is replayed."""

    def isEnabledFor(self, level: int) -> bool:
        if _active is not None and _active.replaying:
            return False
        return self.logger.isEnabledFor(level)


_workflow_log = _ReplayQuietLogger(_log, {})

_active: Replayer | None = None
_activity: contextvars.ContextVar[Any] = contextvars.ContextVar("wfkit_local_activity", default=None)


class _ContinueAsNew(BaseException):
    def __init__(self, args: list[Any]):
        super().__init__("continue as new")
        self.args_ = args


class Command:
    __slots__ = ("kind", "key", "attrs", "future", "event_id", "explicit")

    def __init__(self, kind: str, key: str, attrs: dict[str, Any], future: asyncio.Future[Any] | None = None,
                 explicit: bool = True):
        self.kind, self.key, self.attrs, self.future = kind, key, attrs, future
        self.event_id: int | None = None
        self.explicit = explicit
        """False when the key holds an ID the runtime chose (an activity's, a timer's, a child's): SDKs choose
        differently, so a replay compares such a command by kind and type only."""

    def matches(self, kind: str, key: str) -> bool:
        if self.kind != kind:
            return False
        if self.explicit:
            return self.key == key
        return self.key.split(" ", 1)[0] == key.split(" ", 1)[0] if kind in ("activity", "child") else True

    def __repr__(self) -> str:
        return f"{self.kind} {self.key}"


def _command_of_event(name: str, a: dict[str, Any]) -> tuple[str, str]:
    kind = ev.COMMAND_EVENTS[name]
    if kind == "activity":
        return kind, f"{a['activityType']['name']} {a.get('activityId', '')}"
    if kind == "timer":
        return kind, str(a.get("timerId"))
    if kind == "marker":
        return kind, f"{a.get('markerName')} {ev.values(a.get('details', {}).get('id'))}"
    if kind == "child":
        return kind, f"{a['workflowType']['name']} {a.get('workflowId')}"
    if kind == "cancel_activity":
        return kind, str(a.get("scheduledEventId"))
    if kind == "cancel_timer":
        return kind, str(a.get("timerId"))
    return kind, ""


class WorkflowLoop(asyncio.AbstractEventLoop):  # the methods workflow code may use; the rest raise
    """A hand-stepped loop: ``run_until_idle`` runs what is ready; timers become workflow commands."""

    def __init__(self, replayer: Replayer):
        self._r = replayer
        self._ready: collections.deque[asyncio.Handle] = collections.deque()

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:  # type: ignore[override]
        h = asyncio.Handle(callback, args, self, context)
        self._ready.append(h)
        return h

    def call_later(self, delay: float, callback: Any, *args: Any,  # type: ignore[override]
                   context: Any = None) -> asyncio.TimerHandle:
        return self.call_at(self.time() + max(delay, 0), callback, *args, context=context)

    def call_at(self, when: float, callback: Any, *args: Any,  # type: ignore[override]
                context: Any = None) -> asyncio.TimerHandle:
        h = asyncio.TimerHandle(when, callback, args, self, context)
        h._scheduled = True  # type: ignore[attr-defined]  # as BaseEventLoop.call_at marks it
        self._r.start_timer(h, max(when - self.time(), 0))
        return h

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        self._r.cancel_timer(handle)

    def time(self) -> float:
        return self._r.now_dt.timestamp()

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(self, coro: Any, *, name: Any = None, context: Any = None) -> asyncio.Task[Any]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return False

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            _log.debug("unhandled error in workflow task: %s", context.get("message"))

    def run_until_idle(self) -> None:
        while self._ready:
            h = self._ready.popleft()
            if not h._cancelled:
                h._run()


class Replayer:
    """One run's workflow code driven by its history (see the module docstring)."""

    def __init__(self, defn: WorkflowDefn, events: list[dict[str, Any]], *, now: datetime, namespace: str,
                 workflow_id: str, run_id: str):
        self.defn, self.events, self.current_now = defn, events, now
        self.namespace, self.workflow_id, self.run_id = namespace, workflow_id, run_id
        self.loop = WorkflowLoop(self)  # type: ignore[abstract]
        self.commands: list[Command] = []
        self.replaying = True
        self.now_dt = now
        self.instance: Any = None
        self.main: asyncio.Task[Any] | None = None
        self.outcome: Command | None = None
        self._seq = 0
        self._by_event: dict[int, Command] = {}
        self._timers: dict[asyncio.TimerHandle, Command] = {}
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._versions: dict[str, int] = {}
        self._markers: dict[str, list[Any]] = {}
        self._rng = random.Random(run_id)
        self.start_attrs: dict[str, Any] = {}
        self.start_time = now

    # -- commands issued by workflow code --

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _add(self, cmd: Command) -> Command:
        if self.outcome is None:
            self.commands.append(cmd)
        return cmd

    def start_timer(self, handle: asyncio.TimerHandle, seconds: float) -> None:
        seq = str(self._next())
        cmd = self._add(Command("timer", seq, {"timerId": seq, "startToFireTimeout": f"{seconds:.6f}s"},
                                explicit=False))
        cmd.future = None
        self._timers[handle] = cmd

    def cancel_timer(self, handle: asyncio.TimerHandle) -> None:
        cmd = self._timers.pop(handle, None)
        if cmd is None:
            return
        if cmd in self.commands and cmd.event_id is None:
            self.commands.remove(cmd)   # started and canceled in the same task: nothing recorded
            return
        self._add(Command("cancel_timer", cmd.key, {"timerId": cmd.key, "startedEventId": str(cmd.event_id)}))

    async def execute_activity(self, name: str, args: list[Any], options: ActivityOptions) -> Any:
        seq = self._next()
        act_id = options.activity_id or str(seq)
        a: dict[str, Any] = {"activityId": act_id, "activityType": {"name": name},
                             "taskQueue": {"name": options.task_queue or self.task_queue},
                             "input": ev.payloads(args), "retryPolicy": ev.retry_policy(options.retry_policy)}
        for key, td in (("scheduleToCloseTimeout", options.schedule_to_close_timeout),
                        ("scheduleToStartTimeout", options.schedule_to_start_timeout),
                        ("startToCloseTimeout", options.start_to_close_timeout),
                        ("heartbeatTimeout", options.heartbeat_timeout)):
            if td is not None:
                a[key] = ev.duration(td)
        fut = self.loop.create_future()
        cmd = self._add(Command("activity", f"{name} {act_id}", a, fut, explicit=options.activity_id is not None))

        def on_done(f: asyncio.Future[Any]) -> None:
            if f.cancelled() and cmd.event_id is not None and self.outcome is None:
                self._add(Command("cancel_activity", str(cmd.event_id), {"scheduledEventId": str(cmd.event_id)}))
            elif f.cancelled() and cmd in self.commands and cmd.event_id is None:
                self.commands.remove(cmd)

        fut.add_done_callback(on_done)
        return await fut

    async def sleep(self, duration: timedelta) -> None:
        await asyncio.sleep(duration.total_seconds())

    async def wait_condition(self, fn: Callable[[], bool], timeout: timedelta | None) -> None:
        if fn():
            return
        fut: asyncio.Future[None] = self.loop.create_future()
        self._conditions.append((fn, fut))
        if timeout is None:
            await fut
            return
        try:
            await asyncio.wait_for(fut, timeout.total_seconds())
        except TimeoutError:
            raise wfe.TimeoutError(f"condition not met within {timeout}", kind="wait_condition") from None

    def get_version(self, change_id: str, min_supported: int, max_supported: int) -> int:
        if change_id in self._versions:
            return self._versions[change_id]
        recorded = self._recorded_version(change_id)
        if recorded is None and self.replaying:
            version = wfe.DEFAULT_VERSION
        else:
            version = max_supported if recorded is None else recorded
            self._add(Command("marker", f"Version {[change_id]}", {
                "markerName": "Version", "details": {"id": ev.payloads([change_id]),
                                                     "version": ev.payloads([version])}}))
        self._versions[change_id] = version
        return version

    def _recorded_version(self, change_id: str) -> int | None:
        for e in self.events:
            if ev.event_type(e) == "MarkerRecorded":
                a = ev.attrs(e)
                if a.get("markerName") == "Version" and ev.values(a["details"].get("id")) == [change_id]:
                    return int(ev.values(a["details"]["version"])[0])
        return None

    async def side_effect(self, fn: Callable[[], Any]) -> Any:
        seq = self._next()
        recorded = self._markers.get(str(seq))
        key = f"SideEffect {[str(seq)]}"
        if recorded is None:
            for e in self.events:
                if ev.event_type(e) == "MarkerRecorded":
                    a = ev.attrs(e)
                    if a.get("markerName") == "SideEffect" and ev.values(a["details"].get("id")) == [str(seq)]:
                        recorded = ev.values(a["details"]["data"])
        value = recorded[0] if recorded is not None else fn()
        self._add(Command("marker", key, {"markerName": "SideEffect", "details": {
            "id": ev.payloads([str(seq)]), "data": ev.payloads([value])}}))
        return value

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def info(self) -> WorkflowInfo:
        a = self.start_attrs
        return WorkflowInfo(engine=ENGINE, namespace=self.namespace, workflow_id=self.workflow_id,
                            run_id=self.run_id, workflow_type=self.defn.name, task_queue=self.task_queue,
                            attempt=int(a.get("attempt", 1)), start_time=self.start_time,
                            continued_run_id=a.get("continuedExecutionRunId") or None)

    @property
    def task_queue(self) -> str:
        return str(self.start_attrs.get("taskQueue", {}).get("name", ""))

    async def execute_child_workflow(self, name: str, args: list[Any], options: ChildOptions) -> Any:
        seq = self._next()
        child_id = options.id or f"{self.workflow_id}/{self.uuid4()}"
        a: dict[str, Any] = {"workflowId": child_id, "workflowType": {"name": name},
                             "taskQueue": {"name": options.task_queue or self.task_queue},
                             "input": ev.payloads(args), "namespace": self.namespace}
        if options.execution_timeout is not None:
            a["workflowExecutionTimeout"] = ev.duration(options.execution_timeout)
        if options.run_timeout is not None:
            a["workflowRunTimeout"] = ev.duration(options.run_timeout)
        if options.retry_policy is not None:
            a["retryPolicy"] = ev.retry_policy(options.retry_policy)
        if options.memo:
            a["memo"] = {"fields": {k: ev.payloads([to_json_value(v)])["payloads"][0]
                                    for k, v in options.memo.items()}}
        del seq
        fut = self.loop.create_future()
        self._add(Command("child", f"{name} {child_id}", a, fut, explicit=options.id is not None))
        return await fut

    def continue_as_new(self, args: list[Any]) -> NoReturn:
        raise _ContinueAsNew(args)

    # -- driving --

    def _step(self) -> None:
        global _active
        outer = asyncio.events._get_running_loop()
        previous, _active = _active, self
        asyncio.events._set_running_loop(self.loop)
        try:
            while True:
                self.loop.run_until_idle()
                woke = False
                for fn, fut in list(self._conditions):
                    if fut.done():
                        self._conditions.remove((fn, fut))
                    elif fn():
                        self._conditions.remove((fn, fut))
                        fut.set_result(None)
                        woke = True
                if not woke and not self.loop._ready:
                    break
            if self.main is not None and self.main.done() and self.outcome is None:
                self._finish(self.main)
        finally:
            asyncio.events._set_running_loop(outer)
            _active = previous

    def _finish(self, main: asyncio.Task[Any]) -> None:
        if main.cancelled():
            self.outcome = Command("cancel", "", {})
        elif isinstance(main.exception(), _ContinueAsNew):
            exc = main.exception()
            assert isinstance(exc, _ContinueAsNew)
            self.outcome = Command("continue_as_new", "", {"input": ev.payloads(exc.args_)})
        elif main.exception() is not None:
            err = main.exception()
            assert err is not None
            if isinstance(err, wfe.NondeterminismError):
                raise err
            if isinstance(err, asyncio.CancelledError):
                self.outcome = Command("cancel", "", {})
            else:
                self.outcome = Command("fail", "", {"failure": ev.failure(err)})
        else:
            self.outcome = Command("complete", "", {"result": ev.payloads([main.result()])})
        self.commands.append(self.outcome)

    def _call(self, fn: Callable[[], Any]) -> Any:
        global _active
        outer = asyncio.events._get_running_loop()
        previous, _active = _active, self
        asyncio.events._set_running_loop(self.loop)
        try:
            return fn()
        finally:
            asyncio.events._set_running_loop(outer)
            _active = previous

    def _apply(self, name: str, e: dict[str, Any]) -> None:
        a = ev.attrs(e)
        if name == "WorkflowExecutionStarted":
            self.start_attrs = a
            self.start_time = ev.parse_time(e["eventTime"])
            args = ev.values(a.get("input"))

            async def run() -> Any:
                inst = self.instance
                result = await getattr(inst, self.defn.run_method)(*self.defn.run_sig.decode_args(args))
                return to_json_value(result)

            def create() -> None:
                self.instance = self.defn.cls()
                self.main = self.loop.create_task(run())

            self._call(create)
        elif name in ("ActivityTaskCompleted", "ActivityTaskFailed", "ActivityTaskTimedOut", "ActivityTaskCanceled"):
            cmd = self._by_event.get(int(a["scheduledEventId"]))
            if cmd is None or cmd.future is None or cmd.future.done():
                return
            if name == "ActivityTaskCompleted":
                cmd.future.set_result((ev.values(a.get("result")) or [None])[0])
                return
            sched = cmd.attrs
            act_cause: BaseException | None = (wfe.Canceled("activity canceled") if name == "ActivityTaskCanceled"
                                               else ev.from_failure(a.get("failure")))
            cmd.future.set_exception(wfe.ActivityError(
                "activity error", activity_type=sched["activityType"]["name"], activity_id=sched["activityId"],
                retry_state=a.get("retryState", "").removeprefix("RETRY_STATE_").lower() or None, cause=act_cause))
        elif name == "TimerFired":
            for handle, cmd in list(self._timers.items()):
                if cmd.key == str(a.get("timerId")):
                    del self._timers[handle]
                    if not handle.cancelled():
                        self.loop._ready.append(handle)
        elif name in ("ChildWorkflowExecutionCompleted", "ChildWorkflowExecutionFailed",
                      "ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionTimedOut",
                      "ChildWorkflowExecutionTerminated", "StartChildWorkflowExecutionFailed"):
            cmd = self._by_event.get(int(a["initiatedEventId"]))
            if cmd is None or cmd.future is None or cmd.future.done():
                return
            if name == "ChildWorkflowExecutionCompleted":
                cmd.future.set_result((ev.values(a.get("result")) or [None])[0])
                return
            cause: BaseException | None
            if name == "ChildWorkflowExecutionFailed":
                cause = ev.from_failure(a.get("failure"))
            elif name == "ChildWorkflowExecutionTimedOut":
                cause = wfe.TimeoutError("child timed out", kind="execution")
            elif name == "ChildWorkflowExecutionCanceled":
                cause = wfe.Canceled("child canceled")
            elif name == "StartChildWorkflowExecutionFailed":
                cause = wfe.WorkflowAlreadyStarted(f"child {a.get('workflowId')} already started")
            else:
                cause = wfe.Terminated("child terminated")
            cmd.future.set_exception(wfe.ChildWorkflowError(
                "child workflow execution error", workflow_type=cmd.attrs["workflowType"]["name"],
                workflow_id=cmd.attrs["workflowId"], cause=cause))
        elif name == "WorkflowExecutionSignaled":
            self._signal(a["signalName"], ev.values(a.get("input")))
        elif name == "WorkflowExecutionCancelRequested":
            if self.main is not None and not self.main.done():
                self._call(self.main.cancel)

    def _signal(self, signal: str, args: list[Any]) -> None:
        h = self.defn.signals.get(signal)
        if h is None:
            _log.warning("workflow %s got signal %r it has no handler for: dropped", self.workflow_id, signal)
            return

        def deliver() -> None:
            decoded = decode_signal(h, self.instance, args, engine=ENGINE, workflow_id=self.workflow_id,
                                    workflow_type=self.defn.name, replaying=self.replaying)
            if decoded is None:
                return
            out = getattr(self.instance, h.method)(*decoded)
            if asyncio.iscoroutine(out):
                self.loop.create_task(out)

        self._call(deliver)

    def _match(self, recorded: list[tuple[int, str, dict[str, Any]]]) -> None:
        got = self.commands
        self.commands = []
        want = [(eid, *_command_of_event(name, a)) for eid, name, a in recorded]
        if len(got) != len(want) or not all(c.matches(k, key) for c, (_, k, key) in zip(got, want, strict=False)):
            raise wfe.NondeterminismError(
                f"workflow {self.workflow_id} ({self.defn.name}): the code issued "
                f"{[repr(c) for c in got] or 'nothing'} where its history recorded "
                f"{[f'{k} {key}'.strip() for _, k, key in want] or 'nothing'}")
        for cmd, (eid, _kind, key) in zip(got, want, strict=True):
            cmd.event_id = eid
            if cmd.kind in ("activity", "child"):
                self._by_event[eid] = cmd
            if cmd.kind == "timer":   # fired and canceled by the ID the history holds
                cmd.key = key

    def run_recorded(self) -> None:
        """Replay the recorded workflow tasks only (``wfkit.replay``): raises what diverges."""
        self.run(final_step=False)

    def run(self, final_step: bool = True, *, query: bool = False) -> list[Command]:
        """Replay the history; the commands of the new workflow task. Events after the last completed workflow
        task are new to the code (signal drops are logged and counted once), except for a query's replay."""
        i, n = 0, len(self.events)
        last_done = max((k for k, e in enumerate(self.events) if ev.event_type(e) == "WorkflowTaskCompleted"),
                        default=-1)
        while i < n:
            e = self.events[i]
            if i > last_done and final_step and not query:
                self.replaying = False
            name = ev.event_type(e)
            if name == "WorkflowTaskStarted":
                failed = i + 1 < n and ev.event_type(self.events[i + 1]) in ("WorkflowTaskFailed",
                                                                              "WorkflowTaskTimedOut")
                if not failed:
                    self.now_dt = ev.parse_time(e["eventTime"])
                    self._step()
            elif name == "WorkflowTaskCompleted":
                # this task's commands: every command event up to the next workflow task (what the server
                # recorded because of them, a child started or an activity canceled, may come in between)
                recorded = []
                j = i + 1
                while j < n and ev.event_type(self.events[j]) not in ("WorkflowTaskScheduled", "WorkflowTaskStarted"):
                    if ev.event_type(self.events[j]) in ev.COMMAND_EVENTS:
                        recorded.append((int(self.events[j]["eventId"]), ev.event_type(self.events[j]),
                                         ev.attrs(self.events[j])))
                    j += 1
                self._match(recorded)
            elif name not in ev.COMMAND_EVENTS:
                self._apply(name, e)
            i += 1
        if not final_step:
            return []
        self.replaying = False
        self.now_dt = self.current_now
        self.commands = [c for c in self.commands if c.event_id is None]
        self._step()
        return self.commands

    def advance(self, start: int, now: datetime) -> list[Command]:
        """Sticky execution: this replayer already ran the history up to ``start`` (just after the workflow task
        it decided last); apply what came since and run the code once: the new task's commands."""
        self.replaying, self.now_dt, self.commands = False, now, []
        for e in self.events[start:]:
            name = ev.event_type(e)
            if name not in ev.COMMAND_EVENTS and not name.startswith("WorkflowTask"):
                self._apply(name, e)
        self._step()
        return self.commands

    def recorded(self, cmd: Command, event_id: int) -> None:
        """The server recorded ``cmd`` as event ``event_id`` (what a replay's matching would have found)."""
        cmd.event_id = event_id
        if cmd.kind in ("activity", "child"):
            self._by_event[event_id] = cmd

    def query(self, name: str, args: list[Any]) -> Any:
        if name == wfe.WFKIT_STACK_QUERY:
            return self._call(lambda: wfe.task_stacks(self.loop))
        if name == wfe.DROPPED_SIGNALS_QUERY:
            return list(getattr(self.instance, "__dict__", {}).get("_wfkit_dropped_signals", []))
        h = self.defn.queries.get(name)
        if h is None:
            raise wfe.QueryFailed(f"query {name!r} on {self.workflow_id!r} failed: the workflow {self.defn.name} "
                                  f"has no such query (known: {sorted(self.defn.queries)})")
        try:
            return to_json_value(self._call(lambda: getattr(self.instance, h.method)(*h.sig.decode_args(args))))
        except wfe.WfkitError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing query handler is the caller's QueryFailed
            raise wfe.QueryFailed(f"query {name!r} on {self.workflow_id!r} failed: {type(exc).__name__}: "
                                  f"{exc}") from exc


class LocalWorkflowRuntime:
    engine = ENGINE

    def _r(self) -> Replayer:
        assert _active is not None
        return _active

    def active(self) -> bool:
        return _active is not None

    async def execute_activity(self, name: str, args: list[Any], options: ActivityOptions) -> Any:
        return await self._r().execute_activity(name, args, options)

    async def sleep(self, duration: timedelta) -> None:
        await self._r().sleep(duration)

    async def wait_condition(self, fn: Callable[[], bool], timeout: timedelta | None) -> None:
        await self._r().wait_condition(fn, timeout)

    def get_version(self, change_id: str, min_supported: int, max_supported: int) -> int:
        return self._r().get_version(change_id, min_supported, max_supported)

    async def side_effect(self, fn: Callable[[], Any]) -> Any:
        return await self._r().side_effect(fn)

    def now(self) -> datetime:
        return self._r().now_dt

    def uuid4(self) -> uuid.UUID:
        return self._r().uuid4()

    def info(self) -> WorkflowInfo:
        return self._r().info()

    def logger(self) -> logging.Logger | logging.LoggerAdapter:
        return _workflow_log

    async def execute_child_workflow(self, name: str, args: list[Any], options: ChildOptions) -> Any:
        return await self._r().execute_child_workflow(name, args, options)

    def continue_as_new(self, args: list[Any]) -> NoReturn:
        self._r().continue_as_new(args)


class LocalActivityRuntime:
    engine = ENGINE

    def active(self) -> bool:
        return _activity.get() is not None

    def heartbeat(self, details: list[Any]) -> None:
        """Record liveness; in a sync activity (a thread, which cannot be interrupted) a requested cancellation
        is raised here, as ``asyncio.CancelledError``."""
        attempt = _activity.get()
        if attempt is not None:
            attempt.heartbeat(details)
            if attempt.cancel_requested:
                try:
                    asyncio.get_running_loop()
                except RuntimeError:   # no loop in this thread: a sync activity
                    raise asyncio.CancelledError("activity cancellation requested") from None

    def info(self) -> ActivityInfo:
        attempt = _activity.get()
        assert attempt is not None
        return attempt.info


register_runtime(LocalWorkflowRuntime(), LocalActivityRuntime())
