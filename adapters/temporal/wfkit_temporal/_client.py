"""The wfkit engine client for Temporal, over temporalio's Client."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import temporalio.api.workflowservice.v1 as wsv1
import temporalio.client
import temporalio.common
import temporalio.service
from temporalio.service import RPCError, RPCStatusCode

import wfkit.engine as wfe
from wfkit.engine import (
    ConnectConfig,
    StartOptions,
    check_tls,
    probe_endpoint,
    probe_failure,
    rejection,
    tls_material,
)

from . import CAPABILITIES
from ._convert import execution_from, failure_from_temporal, retry_to_temporal, rpc_error, workflow_failed
from ._payloads import data_converter

if TYPE_CHECKING:
    from ._worker import TemporalWorker

_REUSE = {
    "allow_duplicate": (temporalio.common.WorkflowIDReusePolicy.ALLOW_DUPLICATE, None),
    "allow_duplicate_failed_only": (temporalio.common.WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY, None),
    "reject_duplicate": (temporalio.common.WorkflowIDReusePolicy.REJECT_DUPLICATE, None),
    "terminate_if_running": (temporalio.common.WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                             temporalio.common.WorkflowIDConflictPolicy.TERMINATE_EXISTING),
}


def _tls(cfg: ConnectConfig) -> bool | temporalio.service.TLSConfig:
    if not cfg.tls:
        return False
    if not (cfg.tls_cert or cfg.tls_key or cfg.tls_ca or cfg.server_name):
        return True

    ca, cert, key = tls_material(cfg)
    return temporalio.service.TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key,
                                        domain=cfg.server_name)


async def connect(cfg: ConnectConfig) -> TemporalClient:
    server = None
    if cfg.dev:
        from .devserver import TemporalDevServer

        server = await asyncio.to_thread(TemporalDevServer.start, port=cfg.dev_port, db=cfg.dev_db,
                                         namespace=cfg.namespace)
        cfg.host, cfg.port = server.host, server.port
    try:
        raw = await asyncio.wait_for(_connect_raw(cfg), cfg.connect_timeout)
    except TimeoutError:
        if server is not None:
            server.stop()
        raise wfe.ConnectionFailed(
            f"could not reach Temporal at {cfg.address} within {cfg.connect_timeout:g} s") from None
    except BaseException:
        if server is not None:
            server.stop()
        raise
    return TemporalClient(raw, cfg, server)


def _interceptors() -> list[Any]:
    from wfkit.engine import telemetry

    if not telemetry.enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(telemetry.tracer())]


async def _connect_raw(cfg: ConnectConfig) -> temporalio.client.Client:
    where = f"Temporal at {cfg.address}"
    if cfg.tls:  # one TLS handshake of our own names what is wrong (the SDK's text is rustls' own)
        await check_tls(cfg, where=where, timeout=min(cfg.connect_timeout / 2, 2.0))
    delay = 0.1
    while True:
        try:
            raw = await temporalio.client.Client.connect(
                cfg.address, namespace=cfg.namespace, tls=_tls(cfg), interceptors=_interceptors(),
                api_key=cfg.api_key.text() if cfg.api_key is not None else None,
                identity=cfg.identity or None, data_converter=data_converter(cfg.codec),
                rpc_metadata=dict(cfg.grpc_metadata),
            )
            break
        except RuntimeError as exc:  # temporalio reports connect failures as RuntimeError
            if "not healthy yet" in str(exc):  # a server still starting: retry until connect_timeout
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            raw_text = _clean(exc, cfg)
            refused = rejection(cfg, where, raw_text, code=_status_code(raw_text))
            if refused is not None:  # credentials, or a TLS front refusing the client certificate
                raise refused from RuntimeError(raw_text)
            reason = _reason(raw_text)
            if reason == raw_text:  # not a failure the SDK names plainly: probe the endpoint for one
                probed = await probe_endpoint(cfg.host, cfg.port or 7233, tls=bool(cfg.tls), timeout=2.0)
                if probed is not None:
                    raise probe_failure(where, probed) from RuntimeError(raw_text)
            # the one-line reason; the SDK's transport text (secrets cut out) stays on __cause__
            raise wfe.ConnectionFailed(f"could not connect to {where}: {reason}") from RuntimeError(raw_text)
    try:
        await raw.workflow_service.describe_namespace(wsv1.DescribeNamespaceRequest(namespace=cfg.namespace))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise wfe.ConnectionFailed(
                f"namespace {cfg.namespace!r} does not exist on Temporal at {cfg.address} "
                f"(create it: temporal operator namespace create {cfg.namespace})") from None
        refused = rejection(cfg, where, _clean(exc, cfg), code=exc.status.name)
        if refused is not None:
            raise refused from None
        raise wfe.ConnectionFailed(f"Temporal at {cfg.address} refused: {exc.status.name}: "
                                     f"{_clean(exc, cfg)}") from None
    return raw


# Substrings of the SDK's (Rust tonic/hyper) transport errors and the reason said for each.
_TRANSPORT_REASONS = (
    ("connection refused", "connection refused"),
    ("dns error", "host not found"),
    ("failed to lookup address", "host not found"),
    ("timed out", "timed out"),
    ("certificate", "TLS handshake failed (certificate)"),
    ("tls", "TLS handshake failed"),
    ("connection reset", "connection reset by the server"),
)


def _status_code(text: str) -> str | None:
    """The gRPC status code named in one of the SDK's connect errors (``Status { code: Unauthenticated, …``)."""
    import re

    m = re.search(r"code: ([A-Za-z]+)", text)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", m.group(1)).upper() if m else None


def _reason(text: str) -> str:
    """A transport failure in a few words (``connection refused``), or the SDK's text when it is not one."""
    low = text.lower()
    if "transport" in low or "connect error" in low:
        for needle, reason in _TRANSPORT_REASONS:
            if needle in low:
                return reason
    return text


def _clean(exc: BaseException, cfg: ConnectConfig) -> str:
    """An engine message with any secret of ours cut out."""
    text = str(exc)
    for secret in (cfg.api_key, cfg.tls_key):
        if secret is not None:
            value = secret.get()
            if isinstance(value, str) and value:
                text = text.replace(value, "***")
    return text


class TemporalClient:
    engine = "temporal"
    capabilities = CAPABILITIES

    def __init__(self, raw: temporalio.client.Client, cfg: ConnectConfig, server: Any = None):
        self.raw = raw
        self.address = cfg.address
        self.namespace = cfg.namespace
        self._server = server

    def _handle(self, workflow_id: str, run_id: str | None) -> temporalio.client.WorkflowHandle[Any, Any]:
        return self.raw.get_workflow_handle(workflow_id, run_id=run_id)

    async def start(self, workflow_type: str, args: list[Any], o: StartOptions) -> str:
        return await self._start(workflow_type, args, o)

    async def _start(self, workflow_type: str, args: list[Any], o: StartOptions, **extra: Any) -> str:
        reuse, conflict = _REUSE[o.id_reuse_policy] if o.id_reuse_policy else (None, None)
        kwargs: dict[str, Any] = dict(extra)
        if reuse is not None:
            kwargs["id_reuse_policy"] = reuse
        if conflict is not None:
            kwargs["id_conflict_policy"] = conflict
        if o.cron_schedule:
            kwargs["cron_schedule"] = o.cron_schedule
        if o.search_attributes:
            from ._operate import typed_search_attributes

            kwargs["search_attributes"] = await typed_search_attributes(self.raw, self.namespace,
                                                                        o.search_attributes)
        try:
            h = await self.raw.start_workflow(
                workflow_type, args=args, id=o.id, task_queue=o.task_queue,
                execution_timeout=o.execution_timeout, run_timeout=o.run_timeout, task_timeout=o.task_timeout,
                retry_policy=retry_to_temporal(o.retry_policy), memo=o.memo, **kwargs)
        except temporalio.exceptions.WorkflowAlreadyStartedError as exc:
            raise wfe.WorkflowAlreadyStarted(
                f"workflow {o.id!r} is already started (type {exc.workflow_type})", workflow_id=o.id,
                run_id=getattr(exc, "run_id", None)) from exc
        except RPCError as exc:
            raise rpc_error(exc, o.id, "start") from exc
        return h.result_run_id or h.first_execution_run_id or ""

    async def signal_with_start(self, workflow_type: str, args: list[Any], o: StartOptions, signal: str,
                                signal_args: list[Any]) -> str:
        return await self._start(workflow_type, args, o, start_signal=signal, start_signal_args=signal_args)

    async def result(self, workflow_id: str, run_id: str | None, timeout: float | None) -> Any:
        h = self._handle(workflow_id, run_id)
        try:
            return await asyncio.wait_for(h.result(follow_runs=True), timeout)
        except TimeoutError:
            raise wfe.TimeoutError(f"no result from {workflow_id!r} within {timeout:g} s (it is still running)",
                                     kind="client") from None
        except temporalio.client.WorkflowFailureError as exc:
            raise workflow_failed(exc, workflow_id, run_id) from exc
        except temporalio.client.WorkflowContinuedAsNewError as exc:  # only without follow_runs
            raise wfe.WfkitError(f"workflow {workflow_id!r} continued as new") from exc
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "result") from exc

    async def signal(self, workflow_id: str, run_id: str | None, name: str, args: list[Any]) -> None:
        try:
            await self._handle(workflow_id, run_id).signal(name, args=args)
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "signal") from exc

    async def query(self, workflow_id: str, run_id: str | None, name: str, args: list[Any], timeout: float) -> Any:
        h = self._handle(workflow_id, run_id)
        try:
            return await asyncio.wait_for(h.query(name, args=args, rpc_timeout=timedelta(seconds=timeout)),
                                          timeout + 1)
        except TimeoutError:
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r}: no answer within {timeout:g} s "
                                    "(is a worker running for its task queue?)") from None
        except (temporalio.client.WorkflowQueryFailedError, temporalio.client.WorkflowQueryRejectedError) as exc:
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r} failed: {exc}") from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise rpc_error(exc, workflow_id, "query") from exc
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r} failed ({exc.status.name}): "
                                    f"{exc.message}") from exc

    async def update(self, workflow_id: str, run_id: str | None, name: str, args: list[Any],
                     timeout: float | None) -> Any:
        h = self._handle(workflow_id, run_id)
        try:
            return await asyncio.wait_for(h.execute_update(name, args=args), timeout)
        except TimeoutError:
            raise wfe.TimeoutError(f"update {name!r} on {workflow_id!r}: no result within {timeout:g} s "
                                   "(is a worker running for its task queue?)", kind="client") from None
        except temporalio.client.WorkflowUpdateFailedError as exc:
            cause = failure_from_temporal(exc.cause)
            raise wfe.WfkitError(f"update {name!r} on {workflow_id!r} failed: {cause}") from exc
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "update") from exc

    async def cancel(self, workflow_id: str, run_id: str | None) -> None:
        try:
            await self._handle(workflow_id, run_id).cancel()
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "cancel") from exc

    async def terminate(self, workflow_id: str, run_id: str | None, reason: str | None) -> None:
        try:
            await self._handle(workflow_id, run_id).terminate(reason=reason)
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "terminate") from exc

    async def describe(self, workflow_id: str, run_id: str | None) -> wfe.Execution:
        try:
            d = await self._handle(workflow_id, run_id).describe()
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "describe") from exc
        from ._operate import describe_full

        return await describe_full(self.raw, workflow_id, run_id, await execution_from(d), d)

    async def task_queue(self, name: str) -> wfe.TaskQueueInfo:
        from ._operate import task_queue

        return await task_queue(self.raw, self.namespace, name)

    async def reset(self, workflow_id: str, run_id: str, event_id: int, reason: str, request_id: str) -> str:
        from ._operate import reset

        return await reset(self.raw, self.namespace, workflow_id, run_id, event_id, reason, request_id)

    async def namespaces(self) -> builtins.list[wfe.Namespace]:
        from ._operate import namespaces

        return await namespaces(self.raw)

    async def describe_namespace(self, name: str) -> wfe.Namespace:
        from ._operate import describe_namespace

        return await describe_namespace(self.raw, name)

    async def schedules(self) -> builtins.list[wfe.Schedule]:
        from ._operate import schedules

        return await schedules(self.raw)

    async def describe_schedule(self, schedule_id: str) -> wfe.Schedule:
        from ._operate import describe_schedule

        return await describe_schedule(self.raw, schedule_id)

    async def create_schedule(self, schedule_id: str, workflow_type: str, args: builtins.list[Any],
                              options: StartOptions, spec: wfe.ScheduleSpec, paused: bool, note: str | None) -> None:
        from ._operate import create_schedule

        await create_schedule(self.raw, self.namespace, schedule_id, workflow_type, args, options, spec, paused,
                              note)

    async def schedule_action(self, schedule_id: str, action: str, note: str | None) -> None:
        from ._operate import schedule_action

        await schedule_action(self.raw, schedule_id, action, note)

    async def list(self, query: str | None, limit: int | None) -> wfe.Executions:
        rows = self.executions(query, None if limit is None else limit + 1)
        return await wfe.Executions.collect(rows, query=query, limit=limit)

    async def executions(self, query: str | None, limit: int | None = None) -> AsyncGenerator[wfe.Execution, None]:
        try:
            async for wf in self.raw.list_workflows(query or "", limit=limit):
                yield await execution_from(wf)
        except RPCError as exc:
            raise _query_error(exc, query) from exc

    async def count(self, query: str | None) -> int:
        try:
            return (await self.raw.count_workflows(query or None)).count
        except RPCError as exc:
            raise _query_error(exc, query) from exc

    async def history(self, workflow_id: str, run_id: str | None) -> Any:
        from wfkit.engine import History

        try:
            wh = await self._handle(workflow_id, run_id).fetch_history()
        except RPCError as exc:
            raise rpc_error(exc, workflow_id, "history") from exc
        return History.from_proto(wh, engine="temporal", workflow_id=workflow_id)

    def worker(self, task_queue: str, workflows: builtins.list[wfe.WorkflowDefn],
               activities: builtins.list[wfe.ActivityDefn], **options: Any) -> TemporalWorker:
        from ._worker import TemporalWorker

        return TemporalWorker(self.raw, task_queue, workflows, activities, **options)

    async def close(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.stop)


def _query_error(exc: RPCError, query: str | None) -> wfe.WfkitError:
    if exc.status == RPCStatusCode.INVALID_ARGUMENT:
        out = wfe.WfkitError(f"bad list query {query!r}: {exc.message}")
        out.__cause__ = exc
        return out
    return rpc_error(exc, None, "list")
