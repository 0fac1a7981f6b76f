"""Describe in full (pending activities, children, workflow task, search attributes, timeouts) and task queues,
from temporalio's raw DescribeWorkflowExecution / DescribeTaskQueue responses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import temporalio.api.enums.v1 as enums
import temporalio.api.taskqueue.v1 as tqv1
import temporalio.api.workflowservice.v1 as wsv1
import temporalio.client
from temporalio.service import RPCError

import wfkit.engine as wfe
from wfkit.engine import PendingActivity, PendingChild, PendingWorkflowTask, Poller, TaskQueueInfo

from ._convert import rpc_error

_ACTIVITY_STATE = {
    enums.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED: "scheduled",
    enums.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED: "started",
    enums.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED: "cancel_requested",
}
_TASK_STATE = {
    enums.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED: "scheduled",
    enums.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED: "started",
}


def _time(msg: Any, field: str) -> datetime | None:
    if not msg.HasField(field):
        return None
    return getattr(msg, field).ToDatetime(tzinfo=UTC)


def _duration(msg: Any, field: str) -> timedelta | None:
    if not msg.HasField(field):
        return None
    td = getattr(msg, field).ToTimedelta()
    return td if td else None


def failure_text(f: Any) -> str | None:
    """``Type: message`` of a Temporal ``Failure`` (its application type when it has one)."""
    if f is None or not (f.message or f.HasField("application_failure_info")):
        return None
    kind = f.application_failure_info.type if f.HasField("application_failure_info") else ""
    return f"{kind}: {f.message}" if kind else f.message


async def _decode(raw: temporalio.client.Client, payloads: Any) -> Any:
    if not payloads.payloads:
        return None
    try:
        values = await raw.data_converter.decode(payloads.payloads)
    except Exception as exc:  # noqa: BLE001 - another SDK's codec: say so rather than hide the activity
        return f"<undecodable: {type(exc).__name__}>"
    return values[0] if len(values) == 1 else list(values)


async def describe_full(raw: temporalio.client.Client, workflow_id: str, run_id: str | None,
                        base: wfe.Execution, d: temporalio.client.WorkflowExecutionDescription) -> wfe.Execution:
    """``base`` (from temporalio's description) completed with what ``temporal workflow describe`` shows."""
    resp: wsv1.DescribeWorkflowExecutionResponse = d.raw_description
    info = resp.workflow_execution_info
    cfg = resp.execution_config
    activities = []
    for a in resp.pending_activities:
        activities.append(PendingActivity(
            activity_id=a.activity_id, activity_type=a.activity_type.name,
            state=_ACTIVITY_STATE.get(a.state, enums.PendingActivityState.Name(a.state).lower()
                                      .removeprefix("pending_activity_state_")),
            attempt=a.attempt or 1, maximum_attempts=a.maximum_attempts or None,
            last_failure=failure_text(a.last_failure) if a.HasField("last_failure") else None,
            last_heartbeat_time=_time(a, "last_heartbeat_time"),
            heartbeat_details=await _decode(raw, a.heartbeat_details) if a.HasField("heartbeat_details") else None,
            scheduled_time=_time(a, "scheduled_time"), last_started_time=_time(a, "last_started_time"),
            next_attempt_time=_time(a, "next_attempt_schedule_time"),
            last_worker_identity=a.last_worker_identity or None))
    children = tuple(PendingChild(workflow_id=c.workflow_id, run_id=c.run_id or None,
                                  workflow_type=c.workflow_type_name, initiated_event_id=c.initiated_id or None)
                     for c in resp.pending_children)
    task = None
    if resp.HasField("pending_workflow_task"):
        t = resp.pending_workflow_task
        task = PendingWorkflowTask(state=_TASK_STATE.get(t.state, "scheduled"), attempt=t.attempt or 1,
                                   scheduled_time=_time(t, "scheduled_time"), started_time=_time(t, "started_time"),
                                   original_scheduled_time=_time(t, "original_scheduled_time"))
    search = search_attributes_of(d)
    parent = info.parent_execution if info.HasField("parent_execution") else None
    return dataclasses.replace(
        base, search_attributes=search,
        parent_workflow_id=parent.workflow_id if parent is not None else None,
        parent_run_id=(parent.run_id or None) if parent is not None else None,
        execution_timeout=_duration(cfg, "workflow_execution_timeout"),
        run_timeout=_duration(cfg, "workflow_run_timeout"),
        task_timeout=_duration(cfg, "default_workflow_task_timeout"),
        pending_activities=tuple(activities), pending_children=children, pending_workflow_task=task)


async def task_queue(raw: temporalio.client.Client, namespace: str, name: str) -> TaskQueueInfo:
    """Pollers of both task kinds, and the backlog the server reports (``temporal task-queue describe``)."""
    pollers: list[Poller] = []
    backlog: dict[str, int | None] = {}
    for kind, tq_type in (("workflow", enums.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                          ("activity", enums.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)):
        req = wsv1.DescribeTaskQueueRequest(namespace=namespace, task_queue=tqv1.TaskQueue(name=name),
                                            task_queue_type=tq_type, include_task_queue_status=True)
        try:
            resp = await raw.workflow_service.describe_task_queue(req)
        except RPCError as exc:
            raise rpc_error(exc, None, f"describe task queue {name!r}") from exc
        pollers += [Poller(identity=p.identity, kind=kind, last_access_time=_time(p, "last_access_time"),
                           rate_per_second=p.rate_per_second or None) for p in resp.pollers]
        backlog[kind] = (resp.task_queue_status.backlog_count_hint if resp.HasField("task_queue_status")
                         else None)
    return TaskQueueInfo(name=name, pollers=tuple(pollers), workflow_backlog=backlog["workflow"],
                         activity_backlog=backlog["activity"])


async def reset(raw: temporalio.client.Client, namespace: str, workflow_id: str, run_id: str, event_id: int,
                reason: str, request_id: str) -> str:
    """ResetWorkflowExecution to after ``event_id``, signals after it reapplied; the new run's ID."""
    import temporalio.api.common.v1 as common

    req = wsv1.ResetWorkflowExecutionRequest(
        namespace=namespace, workflow_execution=common.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        reason=reason, workflow_task_finish_event_id=event_id, request_id=request_id,
        reset_reapply_type=enums.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL, identity=raw.identity)
    try:
        resp = await raw.workflow_service.reset_workflow_execution(req)
    except RPCError as exc:
        raise rpc_error(exc, workflow_id, "reset") from exc
    return str(resp.run_id)


# --- search attributes -------------------------------------------------------------------------------------------
def _keys() -> dict[int, Any]:
    from temporalio.common import SearchAttributeKey as K

    t = enums.IndexedValueType
    return {t.INDEXED_VALUE_TYPE_KEYWORD: K.for_keyword, t.INDEXED_VALUE_TYPE_TEXT: K.for_text,
            t.INDEXED_VALUE_TYPE_INT: K.for_int, t.INDEXED_VALUE_TYPE_DOUBLE: K.for_float,
            t.INDEXED_VALUE_TYPE_BOOL: K.for_bool, t.INDEXED_VALUE_TYPE_DATETIME: K.for_datetime,
            t.INDEXED_VALUE_TYPE_KEYWORD_LIST: K.for_keyword_list}


async def typed_search_attributes(raw: temporalio.client.Client, namespace: str,
                                  values: dict[str, Any]) -> temporalio.common.TypedSearchAttributes:
    """wfkit's JSON search attributes typed as the namespace registered them (a clear error for a name it
    does not know or a value of the wrong type)."""
    import temporalio.api.operatorservice.v1 as opv1
    import temporalio.common

    try:
        resp = await raw.operator_service.list_search_attributes(
            opv1.ListSearchAttributesRequest(namespace=namespace))
    except RPCError as exc:
        raise rpc_error(exc, None, "list search attributes") from exc
    registered = {**dict(resp.system_attributes), **dict(resp.custom_attributes)}
    keys = _keys()
    pairs = []
    for name, value in values.items():
        kind = registered.get(name)
        if kind is None or kind not in keys:
            custom = ", ".join(sorted(resp.custom_attributes)) or "none"
            raise wfe.WfkitError(f"search attribute {name!r} is not registered on namespace {namespace!r} "
                                 f"(custom ones: {custom}; register it: temporal operator search-attribute "
                                 f"create --name {name} --type Keyword)")
        key = keys[kind](name)
        try:
            typed = _typed(value, key.value_type)
        except (TypeError, ValueError) as exc:
            raise wfe.WfkitError(f"search attribute {name!r} ({enums.IndexedValueType.Name(kind).split('_')[-1]}): "
                                 f"{value!r} does not fit: {exc}") from None
        pairs.append(temporalio.common.SearchAttributePair(key, typed))
    return temporalio.common.TypedSearchAttributes(pairs)


def _typed(value: Any, py: type) -> Any:
    if py is datetime:
        if not isinstance(value, str):
            raise TypeError("expected a datetime")
        return datetime.fromisoformat(value)
    if py is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("expected a number")
        return float(value)
    if py is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("expected an integer")
        return value
    if py is bool:
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if py is str:
        if not isinstance(value, str):
            raise TypeError("expected text")
        return value
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise TypeError("expected a list of text")
    return list(value)


SYSTEM_SEARCH_ATTRIBUTES = ("BuildIds",)
"""System attributes the server sets on runs (with those named ``Temporal…``): not the user's to set or move."""


def search_attributes_of(wf: temporalio.client.WorkflowExecution) -> dict[str, Any]:
    """An execution's custom search attributes as JSON values (datetimes as ISO 8601 text); the ones the server
    sets itself (``BuildIds``, ``TemporalChangeVersion`` …) are left out."""
    out: dict[str, Any] = {}
    for pair in wf.typed_search_attributes:
        if pair.key.name in SYSTEM_SEARCH_ATTRIBUTES or pair.key.name.startswith("Temporal"):
            continue
        v = pair.value
        out[pair.key.name] = v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, list) else v
    return out


# --- namespaces ---------------------------------------------------------------------------------------------------
def _namespace(d: Any) -> wfe.Namespace:
    info, cfg = d.namespace_info, d.config
    state = enums.NamespaceState.Name(info.state).removeprefix("NAMESPACE_STATE_").lower()
    return wfe.Namespace(
        name=info.name, id=info.id or None, state=None if state == "unspecified" else state,
        description=info.description or None, owner_email=info.owner_email or None,
        retention=_duration(cfg, "workflow_execution_retention_ttl"), is_global=d.is_global_namespace,
        data=dict(info.data))


async def namespaces(raw: temporalio.client.Client) -> list[wfe.Namespace]:
    out: list[wfe.Namespace] = []
    token = b""
    while True:
        try:
            resp = await raw.workflow_service.list_namespaces(
                wsv1.ListNamespacesRequest(page_size=100, next_page_token=token))
        except RPCError as exc:
            raise rpc_error(exc, None, "list namespaces") from exc
        out += [_namespace(d) for d in resp.namespaces]
        token = resp.next_page_token
        if not token:
            return out


async def describe_namespace(raw: temporalio.client.Client, name: str) -> wfe.Namespace:
    from temporalio.service import RPCStatusCode

    try:
        return _namespace(await raw.workflow_service.describe_namespace(wsv1.DescribeNamespaceRequest(namespace=name)))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise wfe.WfkitError(f"namespace {name!r} does not exist on this server") from exc
        raise rpc_error(exc, None, "describe namespace") from exc


# --- schedules ----------------------------------------------------------------------------------------------------
def _spec_text(spec: Any) -> str:
    parts = [f"cron {c}" for c in spec.cron_expressions]
    parts += [f"every {i.every}" for i in spec.intervals]
    if spec.calendars and not spec.cron_expressions:
        parts += [f"{len(spec.calendars)} calendar spec(s)"]
    return "; ".join(parts)


def _schedule(schedule_id: str, schedule: Any, info: Any, num_actions: int | None = None) -> wfe.Schedule:
    action = schedule.action
    wf_type = getattr(action, "workflow", None)
    recent = tuple((r.scheduled_at, getattr(r.action, "workflow_id", "")) for r in info.recent_actions)
    return wfe.Schedule(
        id=schedule_id, workflow_type=wf_type if isinstance(wf_type, str) else None,
        workflow_id=getattr(action, "id", None), task_queue=getattr(action, "task_queue", None),
        spec=_spec_text(schedule.spec), paused=bool(schedule.state.paused), note=schedule.state.note or None,
        next_action_times=tuple(info.next_action_times), recent_actions=recent, num_actions=num_actions)


async def schedules(raw: temporalio.client.Client) -> list[wfe.Schedule]:
    out = []
    try:
        async for s in await raw.list_schedules():
            out.append(_schedule(s.id, s.schedule, s.info))
    except RPCError as exc:
        raise rpc_error(exc, None, "list schedules") from exc
    return out


async def describe_schedule(raw: temporalio.client.Client, schedule_id: str) -> wfe.Schedule:
    try:
        d = await raw.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        raise _schedule_error(exc, schedule_id, "describe") from exc
    return _schedule(schedule_id, d.schedule, d.info, d.info.num_actions)


def _schedule_error(exc: RPCError, schedule_id: str, what: str) -> wfe.WfkitError:
    from temporalio.service import RPCStatusCode

    if exc.status == RPCStatusCode.NOT_FOUND:
        return wfe.WfkitError(f"schedule {schedule_id!r} does not exist")
    return rpc_error(exc, None, f"{what} schedule {schedule_id!r}")


async def create_schedule(raw: temporalio.client.Client, namespace: str, schedule_id: str, workflow_type: str,
                          args: list[Any], o: wfe.StartOptions, spec: wfe.ScheduleSpec, paused: bool,
                          note: str | None) -> None:
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleIntervalSpec,
        ScheduleState,
    )
    from temporalio.client import ScheduleSpec as TSpec

    from ._convert import retry_to_temporal

    kwargs: dict[str, Any] = {}
    if o.search_attributes:
        kwargs["typed_search_attributes"] = await typed_search_attributes(raw, namespace, o.search_attributes)
    action = ScheduleActionStartWorkflow(
        workflow_type, args=args, id=o.id, task_queue=o.task_queue, execution_timeout=o.execution_timeout,
        run_timeout=o.run_timeout, task_timeout=o.task_timeout, retry_policy=retry_to_temporal(o.retry_policy),
        memo=o.memo, **kwargs)
    schedule = Schedule(action=action,
                        spec=TSpec(cron_expressions=list(spec.cron),
                                   intervals=[ScheduleIntervalSpec(every=e) for e in spec.every]),
                        state=ScheduleState(paused=paused, note=note))
    try:
        await raw.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        raise wfe.WfkitError(f"schedule {schedule_id!r} already exists") from None
    except RPCError as exc:
        raise rpc_error(exc, None, f"create schedule {schedule_id!r}") from exc


async def schedule_action(raw: temporalio.client.Client, schedule_id: str, action: str, note: str | None) -> None:
    h = raw.get_schedule_handle(schedule_id)
    try:
        if action == "pause":
            await h.pause(note=note)
        elif action == "unpause":
            await h.unpause(note=note)
        elif action == "trigger":
            await h.trigger()
        elif action == "delete":
            await h.delete()
        else:
            raise wfe.WfkitError(f"schedule action {action!r}: expected pause, unpause, trigger or delete")
    except RPCError as exc:
        raise _schedule_error(exc, schedule_id, action) from exc
