"""Describe in full (pending activities, children, decision task, search attributes, timeouts) and task lists,
from Cadence's DescribeWorkflowExecution / DescribeTaskList responses."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cadence import error as cerr
from cadence.api.v1 import service_workflow_pb2 as swf
from cadence.api.v1 import tasklist_pb2, workflow_pb2

import wfkit.engine as wfe
from wfkit.engine import PendingActivity, PendingChild, PendingWorkflowTask, Poller, TaskQueueInfo

from ._convert import FOREVER, decode_values, error_from_failure, rpc_error, to_datetime

if TYPE_CHECKING:
    from ._client import CadenceClient

_ACTIVITY_STATE = {
    workflow_pb2.PENDING_ACTIVITY_STATE_SCHEDULED: "scheduled",
    workflow_pb2.PENDING_ACTIVITY_STATE_STARTED: "started",
    workflow_pb2.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED: "cancel_requested",
}
_DECISION_STATE = {
    workflow_pb2.PENDING_DECISION_STATE_SCHEDULED: "scheduled",
    workflow_pb2.PENDING_DECISION_STATE_STARTED: "started",
}


def _time(msg: Any, field: str) -> datetime | None:
    return to_datetime(getattr(msg, field), msg.HasField(field))


def _duration(msg: Any, field: str) -> timedelta | None:
    if not msg.HasField(field):
        return None
    td: timedelta = getattr(msg, field).ToTimedelta()
    return td if td and td < FOREVER else None


def failure_text(reason: str, details: bytes) -> str | None:
    """``Type: message`` of a Cadence failure (reason + details), read as wfkit reads any client's failure."""
    if not reason and not details:
        return None
    err = error_from_failure(reason, details)
    kind = getattr(err, "type", None) or type(err).__name__
    message = getattr(err, "message", None) or str(err)
    return f"{kind}: {message}"


def _decode(data: bytes) -> Any:
    if not data:
        return None
    try:
        values = decode_values(data)
    except (wfe.WfkitError, ValueError, TypeError) as exc:
        return f"<undecodable: {type(exc).__name__}>"
    return values[0] if len(values) == 1 else values


def describe_full(base: wfe.Execution, resp: swf.DescribeWorkflowExecutionResponse) -> wfe.Execution:
    """``base`` completed with what ``cadence workflow describe`` shows (attempts are 1-based, as on Temporal)."""
    info = resp.workflow_execution_info
    cfg = resp.execution_configuration
    activities = []
    for a in resp.pending_activities:
        state = _ACTIVITY_STATE.get(a.state, "scheduled")
        attempt = a.attempt + 1  # Cadence counts from 0
        activities.append(PendingActivity(
            activity_id=a.activity_id, activity_type=a.activity_type.name, state=state, attempt=attempt,
            maximum_attempts=a.maximum_attempts or None,
            last_failure=failure_text(a.last_failure.reason, a.last_failure.details)
            if a.HasField("last_failure") else None,
            last_heartbeat_time=_time(a, "last_heartbeat_time"), heartbeat_details=_decode(a.heartbeat_details.data),
            scheduled_time=_time(a, "scheduled_time"), last_started_time=_time(a, "last_started_time"),
            # Between retries Cadence moves the scheduled time to when the next attempt is due.
            next_attempt_time=_time(a, "scheduled_time") if state == "scheduled" and attempt > 1 else None,
            # Cadence v1.4 fills the identity of the worker that started the attempt; the last one only on failure
            last_worker_identity=a.last_worker_identity or a.started_worker_identity or None))
    children = tuple(PendingChild(workflow_id=c.workflow_execution.workflow_id,
                                  run_id=c.workflow_execution.run_id or None, workflow_type=c.workflow_type_name,
                                  initiated_event_id=c.initiated_id or None)
                     for c in resp.pending_children)
    task = None
    if resp.HasField("pending_decision"):
        t = resp.pending_decision
        task = PendingWorkflowTask(state=_DECISION_STATE.get(t.state, "scheduled"), attempt=t.attempt + 1,
                                   scheduled_time=_time(t, "scheduled_time"), started_time=_time(t, "started_time"),
                                   original_scheduled_time=_time(t, "original_scheduled_time"))
    parent = info.parent_execution_info.workflow_execution if info.HasField("parent_execution_info") else None
    return dataclasses.replace(
        base, parent_workflow_id=parent.workflow_id if parent is not None else None,
        parent_run_id=(parent.run_id or None) if parent is not None else None,
        run_timeout=_duration(cfg, "execution_start_to_close_timeout"),  # Cadence's is per run
        task_timeout=_duration(cfg, "task_start_to_close_timeout"),
        pending_activities=tuple(activities), pending_children=children, pending_workflow_task=task)


async def task_queue(client: CadenceClient, name: str) -> TaskQueueInfo:
    """Pollers of decision and activity tasks and the backlog hint (``cadence tasklist describe``)."""
    pollers: list[Poller] = []
    backlog: dict[str, int | None] = {}
    for kind, tl_type in (("workflow", tasklist_pb2.TASK_LIST_TYPE_DECISION),
                          ("activity", tasklist_pb2.TASK_LIST_TYPE_ACTIVITY)):
        req = swf.DescribeTaskListRequest(domain=client.domain, task_list=tasklist_pb2.TaskList(name=name),
                                          task_list_type=tl_type, include_task_list_status=True)
        try:
            resp = await client.workflow.DescribeTaskList(req)
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, None, f"describe task list {name!r}") from exc
        pollers += [Poller(identity=p.identity, kind=kind, last_access_time=_time(p, "last_access_time"),
                           rate_per_second=p.rate_per_second or None) for p in resp.pollers]
        backlog[kind] = (resp.task_list_status.backlog_count_hint if resp.HasField("task_list_status") else None)
    return TaskQueueInfo(name=name, pollers=tuple(pollers), workflow_backlog=backlog["workflow"],
                         activity_backlog=backlog["activity"])


async def reset(client: CadenceClient, workflow_id: str, run_id: str, event_id: int, reason: str,
                request_id: str) -> str:
    """ResetWorkflowExecution to after ``event_id`` (a decision task's end), signals after it reapplied."""
    from cadence.api.v1.common_pb2 import WorkflowExecution

    req = swf.ResetWorkflowExecutionRequest(
        domain=client.domain, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        reason=reason, decision_finish_event_id=event_id, request_id=request_id, skip_signal_reapply=False)
    try:
        resp = await client.workflow.ResetWorkflowExecution(req)
    except cerr.CadenceRpcError as exc:
        raise rpc_error(exc, workflow_id, "reset") from exc
    return str(resp.run_id)


# --- domains ------------------------------------------------------------------------------------------------------
def _domain(d: Any) -> wfe.Namespace:
    from cadence.api.v1 import domain_pb2

    state = domain_pb2.DomainStatus.Name(d.status).removeprefix("DOMAIN_STATUS_").lower()
    return wfe.Namespace(
        name=d.name, id=d.id or None, state=None if state == "invalid" else state,
        description=d.description or None, owner_email=d.owner_email or None,
        retention=_duration(d, "workflow_execution_retention_period"), is_global=d.is_global_domain,
        data=dict(d.data))


async def domains(client: CadenceClient) -> list[wfe.Namespace]:
    from cadence.api.v1.service_domain_pb2 import ListDomainsRequest

    out: list[wfe.Namespace] = []
    token = b""
    while True:
        try:
            resp = await client.raw.domain_stub.ListDomains(ListDomainsRequest(page_size=100, next_page_token=token))
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, None, "list domains") from exc
        out += [_domain(d) for d in resp.domains]
        token = resp.next_page_token
        if not token:
            return out


async def describe_domain(client: CadenceClient, name: str) -> wfe.Namespace:
    from cadence.api.v1.service_domain_pb2 import DescribeDomainRequest

    try:
        resp = await client.raw.domain_stub.DescribeDomain(DescribeDomainRequest(name=name))
    except cerr.EntityNotExistsError as exc:
        raise wfe.WfkitError(f"domain {name!r} does not exist on this server") from exc
    except cerr.CadenceRpcError as exc:
        raise rpc_error(exc, None, "describe domain") from exc
    return _domain(resp.domain)
