"""The wfkit engine client for Cadence: cadence-python-client's channel and its raw ``cadence.api.v1`` stubs.

The SDK's own helpers (start, signal, query, cancel) encode with its data converter and take its option
dicts; wfkit already hands over plain JSON values and normalised options, so every call here builds the request
itself and goes through the same stubs (and the SDK's gRPC interceptors: yarpc headers, retries of transient
errors, error mapping). Result, terminate, describe, list and history have no SDK helper at all.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import socket
import uuid
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import cadence
import grpc
from cadence import error as cerr
from cadence.api.v1 import history_pb2, workflow_pb2
from cadence.api.v1.common_pb2 import WorkflowExecution, WorkflowType
from cadence.api.v1.query_pb2 import WorkflowQuery
from cadence.api.v1.service_domain_pb2 import DescribeDomainRequest, RegisterDomainRequest
from cadence.api.v1.service_visibility_pb2 import CountWorkflowExecutionsRequest, ListOpenWorkflowExecutionsRequest
from cadence.api.v1.service_visibility_pb2_grpc import VisibilityAPIStub
from cadence.api.v1.service_workflow_pb2 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    QueryWorkflowRequest,
    RequestCancelWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from cadence.api.v1.tasklist_pb2 import TaskList
from google.protobuf.duration_pb2 import Duration
from grpc.aio import ClientCallDetails, UnaryUnaryClientInterceptor

import wfkit.engine as wfe
from wfkit.engine import (
    Capability,
    ConnectConfig,
    StartOptions,
    check_tls,
    probe_endpoint,
    probe_failure,
    rejection,
    tls_material,
)

from . import CAPABILITIES, _telemetry
from ._convert import (
    DATA_CONVERTER,
    FOREVER,
    decode_first,
    duration,
    encode_values,
    error_from_failure,
    execution_from,
    memo_to_proto,
    retry_to_cadence,
    rpc_error,
)

if TYPE_CHECKING:
    from ._worker import CadenceWorker

DEFAULT_RETENTION = timedelta(days=3)
"""Retention of a domain wfkit registers (``?register=1``): closed workflows stay listable for three days."""

LONG_POLL = 70.0
"""RPC deadline of a long poll (the server answers within ~20 s when nothing happens)."""
HISTORY_PAGE_SIZE = 1000
"""Events per page when a whole history is fetched."""

_REUSE = {
    "allow_duplicate": workflow_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
    "allow_duplicate_failed_only": workflow_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
    "reject_duplicate": workflow_pb2.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    "terminate_if_running": workflow_pb2.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING,
}


class _AuthInterceptor(UnaryUnaryClientInterceptor):
    """Adds the API key as Cadence's ``cadence-authorization`` header (a JWT on servers with auth enabled)."""

    def __init__(self, key: Any):
        self._key = key  # a wfkit Secret: never formatted into text

    async def intercept_unary_unary(self, continuation: Any, details: ClientCallDetails, request: Any) -> Any:
        md = list(details.metadata or ()) + [("cadence-authorization", self._key.text())]
        details = ClientCallDetails(method=details.method, timeout=details.timeout, metadata=grpc.aio.Metadata(*md),
                                    credentials=details.credentials, wait_for_ready=details.wait_for_ready)
        return await continuation(details, request)


_TRANSIENT = ("Not enough hosts", "cannot be loaded", "shard status unknown", "Shard closed")


class _TransientRetryInterceptor(UnaryUnaryClientInterceptor):
    """Retries, for up to 10 s, the errors a Cadence server gives while its services (re)join the membership
    ring or its domain cache loads ("Not enough hosts to serve the request", "domain exists but cannot be
    loaded"): the SDK retries only UNAVAILABLE-like codes and these arrive as UNKNOWN. They happen before the
    request is executed, and starts and signals carry request IDs that the server deduplicates."""

    async def intercept_unary_unary(self, continuation: Any, details: ClientCallDetails, request: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(details.timeout or 10.0, 10.0)
        delay = 0.05
        while True:
            call = await continuation(details, request)
            try:
                await call
                return call
            except cerr.CadenceRpcError as exc:
                text = str(exc.args[0] if exc.args else "")
                if not any(t in text for t in _TRANSIENT) or loop.time() + delay > deadline:
                    return call
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def _credentials(cfg: ConnectConfig) -> grpc.ChannelCredentials | None:
    if not cfg.tls:
        return None

    ca, cert, key = tls_material(cfg)
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


# gRPC's reconnect backoff starts at 1 s and grows 1.6x up to 120 s: a channel that saw its server go away came
# back 10-120 s after the restarted server was ready. Retry the connection every 0.2-1 s instead (loopback and LAN
# servers; the SDK's calls wait for it), and give each channel subchannels of its own, so that a new client is not
# held back by the backoff of an older one to the same address.
_CHANNEL_ARGUMENTS: dict[str, Any] = {
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.use_local_subchannel_pool": 1,
}


def _channel_settings(cfg: ConnectConfig) -> tuple[grpc.ChannelCredentials | None, dict[str, Any], list[Any]]:
    """What every channel of ``cfg`` is built with (the SDK's and ``_check_access``'s): TLS credentials (None:
    plaintext), channel arguments (the server name to verify, the reconnect backoff) and the API key's
    interceptor."""
    creds = _credentials(cfg)
    arguments = dict(_CHANNEL_ARGUMENTS)
    if creds is not None and cfg.server_name:
        arguments["grpc.ssl_target_name_override"] = cfg.server_name
    auth: list[Any] = [_AuthInterceptor(cfg.api_key)] if cfg.api_key is not None else []
    return creds, arguments, auth


def _new_raw(cfg: ConnectConfig) -> cadence.Client:
    creds, arguments, auth = _channel_settings(cfg)
    options: dict[str, Any] = {
        "domain": cfg.namespace, "target": cfg.address, "data_converter": DATA_CONVERTER,
        "identity": cfg.identity or f"{os.getpid()}@{socket.gethostname()}", "channel_arguments": arguments,
    }
    if creds is not None:
        options["credentials"] = creds
    interceptors: list[Any] = [_TransientRetryInterceptor(), *auth]
    if cfg.codec is not None:
        from ._codec import CodecInterceptor

        interceptors.insert(0, CodecInterceptor(cfg.codec))
    options["interceptors"] = interceptors
    return cadence.Client(**options)


async def connect(cfg: ConnectConfig) -> CadenceClient:
    server = None
    if cfg.dev:
        from .devserver import CadenceDevServer

        server = await asyncio.to_thread(CadenceDevServer.start, port=cfg.dev_port, db=cfg.dev_db,
                                         domain=cfg.namespace)
        cfg.host, cfg.port = server.host, server.port
    try:
        raw = await _connect_raw(cfg)
        advanced = await _has_advanced_visibility(raw)
    except BaseException:
        if server is not None:
            await asyncio.to_thread(server.stop)
        raise
    return CadenceClient(raw, cfg, server, advanced_visibility=advanced)


async def _connect_raw(cfg: ConnectConfig) -> cadence.Client:
    # Say at once what is plainly wrong (a bad key file, no such host, nothing listening, not gRPC, TLS on one
    # side only): the SDK's channel would retry it silently until the timeout.
    where = f"Cadence at {cfg.address}"
    if cfg.tls:
        tls_material(cfg)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reason = await probe_endpoint(cfg.host, cfg.port or 7833, tls=cfg.tls, timeout=min(cfg.connect_timeout / 2, 2.0))
    if reason is not None:
        raise probe_failure(where, reason)
    if cfg.tls:  # gRPC's channel retries a failed handshake silently until the timeout: say at once why it fails
        await check_tls(cfg, where=where, timeout=min(cfg.connect_timeout / 2, 2.0))
    raw = _new_raw(cfg)  # on wfkit's loop: the channel belongs to it
    try:
        try:
            await asyncio.wait_for(raw.ready(), max(cfg.connect_timeout - (loop.time() - started), 0.1))
        except TimeoutError:
            raise wfe.ConnectionFailed(
                f"could not reach Cadence at {cfg.address} within {cfg.connect_timeout:g} s (it accepts connections "
                "but does not answer gRPC)") from None
        if cfg.tls or cfg.api_key is not None:
            await _check_access(cfg, where, max(cfg.connect_timeout - (loop.time() - started), 0.1))
        await _ensure_domain(raw, cfg)
    except BaseException:
        await raw.close()
        raise
    return raw


async def _check_access(cfg: ConnectConfig, where: str, timeout: float) -> None:
    """One DescribeDomain on a channel of its own, without the SDK's retries (which retry a proxy's HTTP 400 as
    INTERNAL until the deadline): a refused API key or client certificate is reported at once."""
    from cadence.api.v1 import service_domain_pb2_grpc

    creds, arguments, auth = _channel_settings(cfg)
    options = list(arguments.items())
    metadata = [("rpc-service", "cadence-frontend"), ("rpc-caller", "wfkit"), ("rpc-encoding", "proto")]
    channel = (grpc.aio.secure_channel(cfg.address, creds, options=options, interceptors=auth) if creds is not None
               else grpc.aio.insecure_channel(cfg.address, options=options, interceptors=auth))
    try:
        await service_domain_pb2_grpc.DomainAPIStub(channel).DescribeDomain(
            DescribeDomainRequest(name=cfg.namespace), timeout=timeout, metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        refused = rejection(cfg, where, str(exc.details() or ""), code=exc.code().name)
        if refused is not None:
            raise refused from None
    finally:
        await channel.close()


async def _ensure_domain(raw: cadence.Client, cfg: ConnectConfig) -> None:
    domain = cfg.namespace
    registered = False
    try:
        await raw.domain_stub.DescribeDomain(DescribeDomainRequest(name=domain), timeout=cfg.connect_timeout)
    except cerr.EntityNotExistsError:
        if not cfg.register_domain:
            raise wfe.ConnectionFailed(
                f"domain {domain!r} does not exist on Cadence at {cfg.address}: connect with "
                f"cadence://{cfg.address}?domain={domain}&register=1 (or register_domain=True) to register it"
            ) from None
        await _register_domain(raw, cfg)
        registered = True
    except cerr.CadenceRpcError as exc:
        refused = rejection(cfg, f"Cadence at {cfg.address}", str(exc.args[0] if exc.args else ""), code=exc.code.name)
        if refused is not None:
            raise refused from None
        raise wfe.ConnectionFailed(f"Cadence at {cfg.address} refused: {exc.code.name}: "
                                     f"{exc.args[0] if exc.args else exc}") from None
    await _wait_domain_usable(raw, cfg, patience=max(cfg.connect_timeout, 30) if registered else cfg.connect_timeout)


async def _register_domain(raw: cadence.Client, cfg: ConnectConfig) -> None:
    retention = Duration()
    retention.FromTimedelta(DEFAULT_RETENTION)
    try:
        await raw.domain_stub.RegisterDomain(RegisterDomainRequest(
            name=cfg.namespace, description="registered by wfkit", workflow_execution_retention_period=retention),
            timeout=cfg.connect_timeout)
    except cerr.DomainAlreadyExistsError:
        pass
    except cerr.CadenceRpcError as exc:
        raise wfe.ConnectionFailed(f"could not register domain {cfg.namespace!r} on Cadence at {cfg.address}: "
                                     f"{exc.code.name}: {exc.args[0] if exc.args else exc}") from None


async def _wait_domain_usable(raw: cadence.Client, cfg: ConnectConfig, *, patience: float) -> None:
    """Wait until workflow calls work, not just domain calls: a freshly started server answers DescribeDomain
    before its history hosts have joined the ring ("Not enough hosts"), and a new domain is describable before
    the frontend's domain cache (refreshed every ~10 s) has loaded it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    visibility = VisibilityAPIStub(raw._channel)
    probe_id = WorkflowExecution(workflow_id=f"wfkit-connect-probe-{uuid.uuid4().hex}")
    while True:
        try:
            req = ListOpenWorkflowExecutionsRequest(domain=cfg.namespace, page_size=1)
            req.start_time_filter.latest_time.GetCurrentTime()
            await visibility.ListOpenWorkflowExecutions(req, timeout=cfg.connect_timeout)
            try:  # reaches a history host
                await raw.workflow_stub.DescribeWorkflowExecution(DescribeWorkflowExecutionRequest(
                    domain=cfg.namespace, workflow_execution=probe_id), timeout=cfg.connect_timeout)
            except cerr.EntityNotExistsError as exc:
                if "domain" in str(exc.args[0] if exc.args else exc).lower():
                    raise
            return
        except cerr.CadenceRpcError as exc:
            text = str(exc.args[0] if exc.args else exc)
            loading = (isinstance(exc, cerr.EntityNotExistsError) or "cannot be loaded" in text
                       or "Not enough hosts" in text or exc.code == grpc.StatusCode.UNAVAILABLE)
            if not loading:
                return  # something else: the calls themselves will say what
            if loop.time() > deadline:
                raise wfe.ConnectionFailed(f"domain {cfg.namespace!r} exists on Cadence at {cfg.address} but the "
                                             f"server did not make it usable within {patience:g} s ({text}): "
                                             "try again in a few seconds") from None
            await asyncio.sleep(0.25)


async def _has_advanced_visibility(raw: cadence.Client) -> bool:
    """Elasticsearch/Pinot visibility answers CountWorkflowExecutions; SQL (basic) visibility refuses it."""
    try:
        await VisibilityAPIStub(raw._channel).CountWorkflowExecutions(
            CountWorkflowExecutionsRequest(domain=raw.domain, query=""), timeout=5)
        return True
    except cerr.CadenceRpcError:
        return False


class CadenceClient:
    """wfkit's EngineClient on one Cadence domain."""

    engine = "cadence"
    max_scan = 10_000
    """List and count on basic (SQL) visibility evaluate what the server cannot filter over at most this many
    executions (``UnsupportedFeature`` past it)."""

    def __init__(self, raw: cadence.Client, cfg: ConnectConfig, server: Any = None, *,
                 advanced_visibility: bool = False):
        self.raw = raw
        self.address = cfg.address
        self.namespace = cfg.namespace
        self.domain = cfg.namespace
        self.max_scan = cfg.max_scan
        self.identity = raw.identity
        self.advanced_visibility = advanced_visibility
        self.capabilities = CAPABILITIES | (
            {Capability.ADVANCED_VISIBILITY, Capability.SEARCH_ATTRIBUTES} if advanced_visibility else set())
        self.workflow = raw.workflow_stub
        self.visibility = VisibilityAPIStub(raw._channel)
        self._server = server

    def _execution(self, workflow_id: str, run_id: str | None) -> WorkflowExecution:
        return WorkflowExecution(workflow_id=workflow_id, run_id=run_id or "")

    # --- start ---------------------------------------------------------------------------------------
    async def start(self, workflow_type: str, args: list[Any], o: StartOptions) -> str:
        req = self._start_request(workflow_type, args, o)
        try:
            if _telemetry.enabled():
                with _telemetry.client_start(workflow_type, o.id) as carrier:
                    _telemetry.put(req.header, carrier)
                    resp = await self.workflow.StartWorkflowExecution(req)
            else:
                resp = await self.workflow.StartWorkflowExecution(req)
        except cerr.WorkflowExecutionAlreadyStartedError as exc:
            raise wfe.WorkflowAlreadyStarted(
                f"workflow {o.id!r} is already started (or its ID reuse policy forbids a new run)",
                workflow_id=o.id, run_id=exc.run_id or None) from exc
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, o.id, "start") from exc
        return resp.run_id

    async def signal_with_start(self, workflow_type: str, args: list[Any], o: StartOptions, signal: str,
                                signal_args: list[Any]) -> str:
        req = SignalWithStartWorkflowExecutionRequest(start_request=self._start_request(workflow_type, args, o),
                                                      signal_name=signal, signal_input=encode_values(signal_args))
        try:
            resp = await self.workflow.SignalWithStartWorkflowExecution(req)
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, o.id, "signal_with_start") from exc
        return resp.run_id

    def _start_request(self, workflow_type: str, args: list[Any], o: StartOptions) -> StartWorkflowExecutionRequest:
        given = [t for t in (o.execution_timeout, o.run_timeout) if t is not None]
        timeout = min(given) if given else FOREVER  # Cadence's execution timeout is per run
        req = StartWorkflowExecutionRequest(
            domain=self.domain, workflow_id=o.id, workflow_type=WorkflowType(name=workflow_type),
            task_list=TaskList(name=o.task_queue), input=encode_values(args), identity=self.identity,
            request_id=str(uuid.uuid4()),
            workflow_id_reuse_policy=_REUSE[o.id_reuse_policy or "allow_duplicate"],
        )
        req.execution_start_to_close_timeout.CopyFrom(duration(timeout, at_least=1))
        req.task_start_to_close_timeout.CopyFrom(duration(o.task_timeout or timedelta(seconds=10), at_least=1))
        retry = retry_to_cadence(o.retry_policy, expiration=o.execution_timeout, fallback_expiration=timeout)
        if retry is not None:
            req.retry_policy.CopyFrom(retry)
        if o.memo:
            req.memo.CopyFrom(memo_to_proto(o.memo))
        if o.cron_schedule:
            req.cron_schedule = o.cron_schedule
        for name, value in (o.search_attributes or {}).items():
            req.search_attributes.indexed_fields[name].data = json.dumps(value).encode()
        return req

    # --- result --------------------------------------------------------------------------------------
    async def result(self, workflow_id: str, run_id: str | None, timeout: float | None) -> Any:
        try:
            return await asyncio.wait_for(self._follow_to_result(workflow_id, run_id), timeout)
        except TimeoutError:
            raise wfe.TimeoutError(f"no result from {workflow_id!r} within {timeout:g} s (it is still running)",
                                     kind="client") from None

    async def close_event(self, workflow_id: str, run_id: str | None) -> history_pb2.HistoryEvent:
        """Long-poll one run's history for its close event."""
        token = b""
        while True:
            req = GetWorkflowExecutionHistoryRequest(
                domain=self.domain, workflow_execution=self._execution(workflow_id, run_id), next_page_token=token,
                wait_for_new_event=True, history_event_filter_type=history_pb2.EVENT_FILTER_TYPE_CLOSE_EVENT)
            try:
                resp = await self.workflow.GetWorkflowExecutionHistory(req, timeout=LONG_POLL)
            except cerr.CadenceRpcError as exc:
                if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue
                raise rpc_error(exc, workflow_id, "result") from exc
            if resp.history.events:
                return resp.history.events[-1]
            token = resp.next_page_token

    async def _follow_to_result(self, workflow_id: str, run_id: str | None) -> Any:
        while True:
            ev = await self.close_event(workflow_id, run_id)
            kind = ev.WhichOneof("attributes")
            if kind == "workflow_execution_continued_as_new_event_attributes":
                run_id = ev.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                continue
            return outcome(ev, workflow_id, run_id)

    # --- signal, query, cancel, terminate ------------------------------------------------------------
    async def signal(self, workflow_id: str, run_id: str | None, name: str, args: list[Any]) -> None:
        req = SignalWorkflowExecutionRequest(
            domain=self.domain, workflow_execution=self._execution(workflow_id, run_id), identity=self.identity,
            request_id=str(uuid.uuid4()), signal_name=name, signal_input=encode_values(args))
        try:
            await self.workflow.SignalWorkflowExecution(req)
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, workflow_id, "signal") from exc

    async def query(self, workflow_id: str, run_id: str | None, name: str, args: list[Any], timeout: float) -> Any:
        req = QueryWorkflowRequest(domain=self.domain, workflow_execution=self._execution(workflow_id, run_id),
                                   query=WorkflowQuery(query_type=name, query_args=encode_values(args)))
        try:
            resp = await asyncio.wait_for(self.workflow.QueryWorkflow(req, timeout=timeout), timeout + 1)
        except TimeoutError:
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r}: no answer within {timeout:g} s "
                                    "(is a worker running for its task queue?)") from None
        except (cerr.EntityNotExistsError, cerr.WorkflowExecutionAlreadyCompletedError) as exc:
            raise rpc_error(exc, workflow_id, "query") from exc
        except cerr.CadenceRpcError as exc:
            if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r}: no answer within {timeout:g} s "
                                        "(is a worker running for its task queue?)") from exc
            msg = exc.args[0] if exc.args else str(exc)
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r} failed ({exc.code.name}): {msg}") from exc
        if resp.HasField("query_rejected"):
            status = workflow_pb2.WorkflowExecutionCloseStatus.Name(resp.query_rejected.close_status)
            raise wfe.QueryFailed(f"query {name!r} on {workflow_id!r} rejected (close status {status})")
        return decode_first(resp.query_result)

    async def update(self, workflow_id: str, run_id: str | None, name: str, args: builtins.list[Any],
                     timeout: float | None) -> Any:
        raise wfe.UnsupportedFeature("cadence", Capability.UPDATE, "Cadence has no workflow updates: use a signal "
                                     "and a query")

    async def cancel(self, workflow_id: str, run_id: str | None) -> None:
        req = RequestCancelWorkflowExecutionRequest(domain=self.domain,
                                                    workflow_execution=self._execution(workflow_id, run_id),
                                                    identity=self.identity, request_id=str(uuid.uuid4()))
        try:
            await self.workflow.RequestCancelWorkflowExecution(req)
        except cerr.CancellationAlreadyRequestedError:
            pass
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, workflow_id, "cancel") from exc

    async def terminate(self, workflow_id: str, run_id: str | None, reason: str | None) -> None:
        req = TerminateWorkflowExecutionRequest(domain=self.domain,
                                                workflow_execution=self._execution(workflow_id, run_id),
                                                reason=reason or "", identity=self.identity)
        try:
            await self.workflow.TerminateWorkflowExecution(req)
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, workflow_id, "terminate") from exc

    # --- describe, list, count, history --------------------------------------------------------------
    async def describe(self, workflow_id: str, run_id: str | None) -> wfe.Execution:
        req = DescribeWorkflowExecutionRequest(domain=self.domain,
                                               workflow_execution=self._execution(workflow_id, run_id))
        try:
            resp = await self.workflow.DescribeWorkflowExecution(req)
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, workflow_id, "describe") from exc
        from ._operate import describe_full

        return describe_full(execution_from(resp.workflow_execution_info,
                                            task_queue=resp.execution_configuration.task_list.name or None), resp)

    async def task_queue(self, name: str) -> wfe.TaskQueueInfo:
        from ._operate import task_queue

        return await task_queue(self, name)

    async def reset(self, workflow_id: str, run_id: str, event_id: int, reason: str, request_id: str) -> str:
        from ._operate import reset

        return await reset(self, workflow_id, run_id, event_id, reason, request_id)

    async def namespaces(self) -> builtins.list[wfe.Namespace]:
        from ._operate import domains

        return await domains(self)

    async def describe_namespace(self, name: str) -> wfe.Namespace:
        from ._operate import describe_domain

        return await describe_domain(self, name)

    # Cadence v1.4 has no server-side schedules: the core raises UnsupportedFeature before these (cron on start
    # is Cadence's way).
    async def schedules(self) -> builtins.list[wfe.Schedule]:
        raise wfe.UnsupportedFeature("cadence", Capability.SCHEDULES)

    async def describe_schedule(self, schedule_id: str) -> wfe.Schedule:
        raise wfe.UnsupportedFeature("cadence", Capability.SCHEDULES)

    async def create_schedule(self, schedule_id: str, workflow_type: str, args: builtins.list[Any],
                              options: StartOptions, spec: wfe.ScheduleSpec, paused: bool, note: str | None) -> None:
        raise wfe.UnsupportedFeature("cadence", Capability.SCHEDULES)

    async def schedule_action(self, schedule_id: str, action: str, note: str | None) -> None:
        raise wfe.UnsupportedFeature("cadence", Capability.SCHEDULES)

    async def list(self, query: str | None, limit: int | None) -> wfe.Executions:
        return await wfe.Executions.collect(self.executions(query), query=query, limit=limit)

    def executions(self, query: str | None) -> AsyncGenerator[wfe.Execution, None]:
        from ._visibility import executions

        return executions(self, query)

    async def count(self, query: str | None) -> int:
        from ._visibility import count_executions

        return await count_executions(self, query)

    async def history_events(self, workflow_id: str, run_id: str | None) -> builtins.list[history_pb2.HistoryEvent]:
        events: list[history_pb2.HistoryEvent] = []
        token = b""
        while True:
            req = GetWorkflowExecutionHistoryRequest(domain=self.domain,
                                                     workflow_execution=self._execution(workflow_id, run_id),
                                                     page_size=HISTORY_PAGE_SIZE, next_page_token=token)
            try:
                resp = await self.workflow.GetWorkflowExecutionHistory(req)
            except cerr.CadenceRpcError as exc:
                raise rpc_error(exc, workflow_id, "history") from exc
            events.extend(resp.history.events)
            token = resp.next_page_token
            if not token:
                return events

    async def history(self, workflow_id: str, run_id: str | None) -> Any:
        """The run's history with its payloads as stored (wfkit's client decodes it, once, with its codec)."""
        from ._codec import RAW_HISTORY

        raw = RAW_HISTORY.set(True)
        try:
            events = await self.history_events(workflow_id, run_id)
        finally:
            RAW_HISTORY.reset(raw)
        try:
            from wfkit.engine import History
        except ImportError:  # the history layer is not installed yet: the raw events
            return events
        return History.from_proto(events, engine="cadence", workflow_id=workflow_id)

    # --- workers and lifecycle -----------------------------------------------------------------------
    def worker(self, task_queue: str, workflows: builtins.list[wfe.WorkflowDefn],
               activities: builtins.list[wfe.ActivityDefn], **options: Any) -> CadenceWorker:
        from ._worker import CadenceWorker

        return CadenceWorker(self, task_queue, workflows, activities, **options)

    async def close(self) -> None:
        try:
            await self.raw.close()
        finally:
            if self._server is not None:
                server, self._server = self._server, None
                await asyncio.to_thread(server.stop)


def outcome(ev: history_pb2.HistoryEvent, workflow_id: str, run_id: str | None) -> Any:
    """The result of a completed run, or the ``WorkflowFailed`` its close event stands for."""
    kind = ev.WhichOneof("attributes")
    if kind == "workflow_execution_completed_event_attributes":
        return decode_first(ev.workflow_execution_completed_event_attributes.result)
    cause: BaseException
    if kind == "workflow_execution_failed_event_attributes":
        f = ev.workflow_execution_failed_event_attributes.failure
        status, cause = "failed", error_from_failure(f.reason, f.details)
    elif kind == "workflow_execution_canceled_event_attributes":
        details = decode_first(ev.workflow_execution_canceled_event_attributes.details) \
            if ev.workflow_execution_canceled_event_attributes.details.data else None
        status, cause = "canceled", wfe.Canceled(str(details) if details else "canceled")
    elif kind == "workflow_execution_terminated_event_attributes":
        a = ev.workflow_execution_terminated_event_attributes
        status, cause = "terminated", wfe.Terminated(a.reason or "terminated")
    elif kind == "workflow_execution_timed_out_event_attributes":
        status, cause = "timed_out", wfe.TimeoutError("workflow execution timed out", kind="execution")
    else:
        raise wfe.WfkitError(f"workflow {workflow_id!r}: unexpected close event {kind}")
    msg = f"workflow {workflow_id!r} {status.replace('_', ' ')}"
    if str(cause):
        msg += f": {type(cause).__name__}: {cause}"
    return_error = wfe.WorkflowFailed(msg, cause=cause, workflow_id=workflow_id, run_id=run_id, status=status)
    raise return_error
