"""The local engine's client: the ``EngineClient`` calls over a :class:`LocalServer` in this process."""

from __future__ import annotations

import asyncio
import builtins
import os
from typing import Any

import wfkit.engine as wfe
from wfkit.engine import Capability, ConnectConfig, StartOptions

from . import _events as ev
from . import _query
from ._replay import ENGINE
from ._server import LocalServer, LocalWorker, Run

_servers: dict[tuple[str, bool], LocalServer] = {}


def server_for(store: str, skip: bool) -> LocalServer:
    """The process-wide server of ``store`` (``":memory:"`` or a file path), created on first use."""
    key = (store, skip)
    if key not in _servers:
        _servers[key] = LocalServer(skip=skip)
    return _servers[key]


class LocalClient:
    """A connection to the local engine's server of one store, in one namespace."""

    engine = ENGINE

    def __init__(self, server: LocalServer, namespace: str, capabilities: frozenset[Capability], store: str):
        self._server = server
        self.namespace = namespace
        self.capabilities = capabilities
        self.address = "in-process" if store == ":memory:" else f"in-process:{store}"
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
        if options.cron_schedule:
            raise wfe.UnsupportedFeature(ENGINE, "cron_schedule", "use a loop with wfkit.sleep in the workflow")
        return self._server.start(self.namespace, workflow_type, args, options).run_id

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
                if run.status == "continued_as_new" and run.next_run_id:
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
            r.run()
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
        import dataclasses

        run = self._run(workflow_id, run_id)
        parent = None
        if run.parent is not None:
            parent = self._server.runs.get(run.parent[0])
        pending = tuple(
            wfe.PendingActivity(activity_id=att.a["activityId"], activity_type=att.name,
                                state="started" if att.task is not None else "scheduled", attempt=att.attempt,
                                maximum_attempts=int((att.a.get("retryPolicy") or {}).get("maximumAttempts") or 0)
                                or None, heartbeat_details=list(att.details) or None)
            for att in run.activities.values())
        return dataclasses.replace(run.execution(), parent_workflow_id=parent.workflow_id if parent else None,
                                   parent_run_id=parent.run_id if parent else None,
                                   execution_timeout=run.execution_timeout, run_timeout=run.run_timeout,
                                   pending_activities=pending)

    async def task_queue(self, name: str) -> wfe.TaskQueueInfo:
        raise wfe.UnsupportedFeature(ENGINE, "task_queue")

    async def reset(self, workflow_id: str, run_id: str, event_id: int, reason: str, request_id: str) -> str:
        raise wfe.UnsupportedFeature(ENGINE, "reset")

    async def namespaces(self) -> builtins.list[wfe.Namespace]:
        raise wfe.UnsupportedFeature(ENGINE, "namespaces")

    async def describe_namespace(self, name: str) -> wfe.Namespace:
        raise wfe.UnsupportedFeature(ENGINE, "namespaces")

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
        node = _query.parse(query)
        runs = [r for r in self._server.runs.values() if r.namespace == self.namespace]
        runs.sort(key=lambda r: r.start_time, reverse=True)
        return [r for r in runs if _query.evaluate(node, r.execution())]

    async def list(self, query: str | None, limit: int | None) -> wfe.Executions:
        runs = self._matching(query)
        truncated = limit is not None and len(runs) > limit
        if limit is not None:
            runs = runs[:limit]
        return wfe.Executions([r.execution() for r in runs], query=query, truncated=truncated)

    async def count(self, query: str | None) -> int:
        return len(self._matching(query))

    async def history(self, workflow_id: str, run_id: str | None) -> wfe.History:
        run = self._run(workflow_id, run_id)
        return history_of(run.events, workflow_id)

    def worker(self, task_queue: str, workflows: builtins.list[wfe.WorkflowDefn],
               activities: builtins.list[wfe.ActivityDefn], **options: Any) -> LocalWorker:
        return LocalWorker(self._server, task_queue, workflows, activities, identity=f"{os.getpid()}@wfkit-local")

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
    store = config.dev_db or ":memory:"
    skip = bool(getattr(config, "time_skipping", False))
    return LocalClient(server_for(store, skip), config.namespace, capabilities, store)
