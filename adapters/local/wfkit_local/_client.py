"""The local engine's client: the ``EngineClient`` calls over a :class:`LocalServer` in this process."""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import os
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import wfkit.engine as wfe
from wfkit.engine import Capability, ConnectConfig, StartOptions

from . import _events as ev
from ._replay import ENGINE
from ._server import LocalServer, LocalWorker, Run
from ._store import Store

_servers: dict[tuple[str, bool], LocalServer] = {}
_namespaces: dict[str, set[str]] = {}


def server_for(store: str, skip: bool) -> LocalServer:
    """The process-wide server of ``store`` (``":memory:"`` or a file path) and clock mode, made on first use; a
    file is read back (its open runs resume once a worker serves them)."""
    key = (store, skip)
    if key not in _servers:
        if store != ":memory:":
            import os

            store = os.path.abspath(os.path.expanduser(store))
            key = (store, skip)
            other = (store, not skip)
            if other in _servers:
                raise wfe.ConnectionFailed(f"local engine state file {store} is open in this process with "
                                           f"time={'skip' if not skip else 'real'}: one clock per file")
        if key not in _servers:
            server = LocalServer(skip=skip, store=Store(store) if store != ":memory:" else None)
            server.namespaces = _namespaces.setdefault(store, {"default"})
            server.load()
            _servers[key] = server
    return _servers[key]


class LocalClient:
    """A connection to the local engine's server of one store, in one namespace."""

    engine = ENGINE

    def __init__(self, server: LocalServer, namespace: str, capabilities: frozenset[Capability], store: str):
        self._server = server
        self.namespace = namespace
        self.capabilities = capabilities
        # what client.url shows, and what connect() reads back to the same engine: the clock and the file
        self.address = ("in-process-skip" if server.skip else "in-process") + ("" if store == ":memory:" else store)
        self.store = store

    @property
    def raw(self) -> LocalServer:
        return self._server

    @property
    def time_skipping(self) -> bool:
        return self._server.skip

    def _run(self, workflow_id: str, run_id: str | None) -> Run:
        return self._server.get_run(self.namespace, workflow_id, run_id)

    async def start(self, workflow_type: str, args: list[Any], options: StartOptions) -> str:
        from ._telemetry import client_start

        with client_start(workflow_type, options.id) as header:
            return self._server.start(self.namespace, workflow_type, args, options, header=header).run_id

    async def signal_with_start(self, workflow_type: str, args: list[Any], options: StartOptions, signal: str,
                                signal_args: list[Any]) -> str:
        run = self._server.runs.get(self._server.current.get((self.namespace, options.id), ""))
        if run is None or run.status != "running":
            run = self._server.start(self.namespace, workflow_type, args, options)
        await self.signal(options.id, run.run_id, signal, signal_args)
        return run.run_id

    async def result(self, workflow_id: str, run_id: str | None, timeout: float | None) -> Any:
        async def follow() -> Any:
            run = self._run(workflow_id, run_id)
            while True:
                if run.status == "running":
                    if run.closed is None:
                        run.closed = asyncio.Event()
                    await run.closed.wait()
                retried = run.status in ("failed", "timed_out") and run.retry_policy is not None
                if run.next_run_id and (run.status == "continued_as_new" or retried):
                    run = self._server.runs[run.next_run_id]
                    continue
                return run

        try:
            run = await asyncio.wait_for(follow(), timeout)
        except TimeoutError:
            raise wfe.TimeoutError(f"no result from {workflow_id!r} within {timeout:g} s (it is still running)",
                                   kind="client") from None
        last = run.events[-1]
        a = ev.attrs(last)
        if run.status == "completed":
            return (ev.values(a.get("result")) or [None])[0]
        cause: BaseException | None
        if run.status == "failed":
            cause = ev.from_failure(a.get("failure"))
        elif run.status == "timed_out":
            cause = wfe.TimeoutError("workflow execution timed out", kind="execution")
        elif run.status == "canceled":
            cause = wfe.Canceled("workflow canceled")
        else:
            cause = wfe.Terminated(a.get("reason") or "terminated")
        raise wfe.WorkflowFailed(f"workflow {workflow_id!r} {run.status}", cause=cause, workflow_id=workflow_id,
                                 run_id=run.run_id, status=run.status)

    async def signal(self, workflow_id: str, run_id: str | None, name: str, args: list[Any]) -> None:
        run = self._run(workflow_id, run_id)
        if run.status != "running":
            raise wfe.WorkflowNotFound(f"workflow {workflow_id!r} is not running ({run.status}): cannot signal it")
        self._server.add_event(run, "WorkflowExecutionSignaled", {"signalName": name, "input": ev.payloads(args),
                                                                  "identity": "wfkit-local"})
        self._server.request_decision(run)

    async def query(self, workflow_id: str, run_id: str | None, name: str, args: list[Any],
                    timeout: float) -> Any:
        run = self._run(workflow_id, run_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            worker = self._server.worker_for(run.task_queue, workflow_type=run.workflow_type)
            if worker is not None and run.first_task_done:
                break
            if loop.time() >= deadline:
                raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r}: no answer within {timeout:g} s (is a "
                                      "worker running for its task queue?)")
            await asyncio.sleep(0.05)
        r = self._server.replayer(run, worker.workflows[run.workflow_type])
        try:
            r.run(final_step=False, query=True)   # the state as of the last completed workflow task
        except Exception as exc:  # noqa: BLE001 - the caller gets a QueryFailed naming it
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r} failed: replay: {exc}") from exc
        return r.query(name, args)

    async def update(self, workflow_id: str, run_id: str | None, name: str, args: builtins.list[Any],
                     timeout: float | None) -> Any:
        raise wfe.UnsupportedFeature(ENGINE, "update")

    async def cancel(self, workflow_id: str, run_id: str | None) -> None:
        run = self._run(workflow_id, run_id)
        if run.status != "running":
            raise wfe.WorkflowNotFound(f"workflow {workflow_id!r} is not running ({run.status}): cannot cancel it")
        self._server.add_event(run, "WorkflowExecutionCancelRequested", {"identity": "wfkit-local"})
        self._server.request_decision(run)

    async def terminate(self, workflow_id: str, run_id: str | None, reason: str | None) -> None:
        run = self._run(workflow_id, run_id)
        if run.status != "running":
            raise wfe.WorkflowNotFound(f"workflow {workflow_id!r} is not running ({run.status}): cannot "
                                       "terminate it")
        self._server.close(run, "terminated", {"reason": reason or "", "identity": "wfkit-local"})

    async def describe(self, workflow_id: str, run_id: str | None) -> wfe.Execution:
        run = self._run(workflow_id, run_id)
        parent = self._server.runs.get(run.parent[0]) if run.parent is not None else None
        pending = tuple(
            wfe.PendingActivity(activity_id=att.a["activityId"], activity_type=att.name,
                                state="started" if att.last_started_time is not None else "scheduled",
                                attempt=att.attempt,
                                maximum_attempts=int((att.a.get("retryPolicy") or {}).get("maximumAttempts") or 0)
                                or None, last_failure=att.last_failure,
                                last_heartbeat_time=att.last_heartbeat_time,
                                heartbeat_details=(att.details[0] if len(att.details) == 1 else list(att.details))
                                if att.details else None,
                                scheduled_time=att.scheduled_time, last_started_time=att.last_started_time,
                                next_attempt_time=att.next_attempt_time, last_worker_identity=att.identity)
            for att in run.activities.values())
        children = []
        for e in run.events:
            if ev.event_type(e) == "ChildWorkflowExecutionStarted":
                a = ev.attrs(e)
                child = self._server.runs.get(a["workflowExecution"]["runId"])
                if child is not None and child.status == "running":
                    children.append(wfe.PendingChild(workflow_id=child.workflow_id, run_id=child.run_id,
                                                     workflow_type=child.workflow_type,
                                                     initiated_event_id=int(a["initiatedEventId"])))
        wft = None
        if run.status == "running" and (run.decision_owed or not run.first_task_done):
            wft = wfe.PendingWorkflowTask(state="scheduled", attempt=run.task_attempt,
                                          scheduled_time=self._server.now(), original_scheduled_time=run.task_since)
        return dataclasses.replace(run.execution(), parent_workflow_id=parent.workflow_id if parent else None,
                                   parent_run_id=parent.run_id if parent else None,
                                   execution_timeout=run.execution_timeout, run_timeout=run.run_timeout,
                                   task_timeout=run.task_timeout, pending_activities=pending,
                                   pending_children=tuple(children), pending_workflow_task=wft)

    async def task_queue(self, name: str) -> wfe.TaskQueueInfo:
        pollers = []
        for w in self._server.workers.get(name, []):
            if w.workflows:
                pollers.append(wfe.Poller(identity=w.identity, kind="workflow", last_access_time=self._server.now()))
            if w.activities:
                pollers.append(wfe.Poller(identity=w.identity, kind="activity", last_access_time=self._server.now()))
        backlog = sum(1 for r in self._server.runs.values()
                      if r.status == "running" and r.task_queue == name and r.decision_owed)
        return wfe.TaskQueueInfo(name=name, pollers=tuple(pollers), workflow_backlog=backlog)

    async def reset(self, workflow_id: str, run_id: str, event_id: int, reason: str, request_id: str) -> str:
        return self._server.reset(self._run(workflow_id, run_id), event_id, reason, request_id).run_id

    async def namespaces(self) -> builtins.list[wfe.Namespace]:
        return [self._namespace(n) for n in sorted(self._server.namespaces)]

    def _namespace(self, name: str) -> wfe.Namespace:
        return wfe.Namespace(name=name, id=f"local-{name}", state="registered",
                             description="a namespace of the local engine (in-process)",
                             retention=timedelta(days=3650), is_global=False)

    async def describe_namespace(self, name: str) -> wfe.Namespace:
        if name not in self._server.namespaces:
            raise wfe.WfkitError(f"namespace {name!r} does not exist on the local engine (known: "
                                 f"{sorted(self._server.namespaces)})")
        return self._namespace(name)

    async def schedules(self) -> builtins.list[wfe.Schedule]:
        raise wfe.UnsupportedFeature(ENGINE, "schedules")

    async def describe_schedule(self, schedule_id: str) -> wfe.Schedule:
        raise wfe.UnsupportedFeature(ENGINE, "schedules")

    async def create_schedule(self, schedule_id: str, workflow_type: str, args: builtins.list[Any],
                              options: StartOptions, spec: wfe.ScheduleSpec, paused: bool, note: str | None) -> None:
        raise wfe.UnsupportedFeature(ENGINE, "schedules")

    async def schedule_action(self, schedule_id: str, action: str, note: str | None) -> None:
        raise wfe.UnsupportedFeature(ENGINE, "schedules")

    def _matching(self, query: str | None) -> builtins.list[Run]:
        node = wfe.parse_query(query)
        runs = [r for r in self._server.runs.values() if r.namespace == self.namespace]
        runs.sort(key=lambda r: r.start_time, reverse=True)
        return [r for r in runs if wfe.evaluate_query(node, r.execution())]

    async def list(self, query: str | None, limit: int | None) -> wfe.Executions:
        runs = self._matching(query)
        truncated = limit is not None and len(runs) > limit
        if limit is not None:
            runs = runs[:limit]
        rows = [r.execution() for r in runs]   # a listing counts no events of an open run (as on the servers)
        rows = [dataclasses.replace(e, history_length=None) if e.status == "running" else e for e in rows]
        return wfe.Executions(rows, query=query, truncated=truncated)

    async def executions(self, query: str | None) -> AsyncGenerator[wfe.Execution, None]:
        for e in (await self.list(query, None)):
            yield e

    async def count(self, query: str | None) -> int:
        return len(self._matching(query))

    async def history(self, workflow_id: str, run_id: str | None) -> wfe.History:
        run = self._run(workflow_id, run_id)
        return history_of(run.events, workflow_id)

    def worker(self, task_queue: str, workflows: builtins.list[wfe.WorkflowDefn],
               activities: builtins.list[wfe.ActivityDefn], **options: Any) -> LocalWorker:
        # max_concurrent_workflow_tasks is met as it is: the local engine runs one workflow task at a time;
        # max_cached_workflows too: the engine runs in this process and keeps its runs' state anyway
        return LocalWorker(self._server, task_queue, workflows, activities, identity=f"{os.getpid()}@wfkit-local",
                           max_concurrent_activities=options.get("max_concurrent_activities"))

    async def sleep(self, seconds: float) -> None:
        """Advance workflow time by ``seconds`` (at once with time skipping, else in real time)."""
        if self._server.skip:
            await self._server.skip_by(seconds)
        else:
            await asyncio.sleep(seconds)

    skip = sleep

    async def close(self) -> None:
        return None


def history_of(events: builtins.list[dict[str, Any]], workflow_id: str | None) -> wfe.History:
    """Canonical events (Temporal proto-JSON) as a ``History`` of the local engine."""
    from google.protobuf import json_format
    from temporalio.api.history.v1 import History as Proto

    proto = json_format.ParseDict({"events": events}, Proto(), ignore_unknown_fields=True)
    return wfe.History.from_proto(proto, engine=ENGINE, workflow_id=workflow_id)


async def connect(config: ConnectConfig, capabilities: frozenset[Capability]) -> LocalClient:
    """A client of the store the URL names (``local://``: memory; ``local:///path.db`` or ``?db=``: a SQLite
    file); no network: a host, a port or TLS is a clear ``ConnectionFailed``."""
    if config.port is not None or config.host not in ("127.0.0.1", "localhost", "in-process", "in-process-skip"):
        where = f"{config.host}:{config.port}" if config.port is not None else config.host
        raise wfe.ConnectionFailed(f"the local engine runs in this process and connects to no server: {where} "
                                   "given (use local:// or local:///path/to/state.db)")
    wfe.tls_material(config)   # a bad key or certificate is named as on the other engines
    if config.tls:
        raise wfe.ConnectionFailed("tls means nothing to the local engine: it has no network connection")
    # An api_key is accepted and unused (no server asks for one), so code that passes one runs unchanged.
    time_mode = config.options.get("time", "skip" if config.host == "in-process-skip" else "real").lower()
    if time_mode not in ("real", "skip"):
        raise wfe.ConnectionFailed(f"local://?time={time_mode!r}: expected time=skip or time=real")
    store = config.dev_db or config.path or ":memory:"
    server = server_for(store, time_mode == "skip")
    if config.namespace not in server.namespaces:
        if not config.register_domain:
            raise wfe.ConnectionFailed(f"namespace {config.namespace!r} does not exist on the local engine (known: "
                                       f"{sorted(server.namespaces)}; add ?register=1 to create it)")
        server.namespaces.add(config.namespace)
        if server.store is not None:
            server.store.add_namespace(config.namespace)
    server.resume_all()
    return LocalClient(server, config.namespace, capabilities, store)
