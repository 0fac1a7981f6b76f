"""``client.list`` / ``client.count`` on Cadence, for SPEC's query language (Temporal's visibility subset).

The subset: ``=, !=, <, >, <=, >=, IN, BETWEEN … AND …, STARTS_WITH, AND, OR`` and parentheses over WorkflowId,
WorkflowType, ExecutionStatus, TaskQueue, StartTime and CloseTime (RunId too), parsed and evaluated by wfkit's
``parse_query``/``evaluate_query`` (from ``wfkit.engine``); this module plans what the server can filter.

With basic (SQL) visibility, the Cadence dev server's, ListOpen/ListClosedWorkflowExecutions take one equality
(WorkflowId, WorkflowType, or — closed runs only — a close status) plus a StartTime range. wfkit pushes exactly
that down, taken from the query's top-level AND, asks only the open or only the closed listing when the statuses
the query allows say so, and evaluates the whole query client-side over the rows that come back, newest first.
Past ``max_scan`` rows read (10,000) without having filled ``limit`` it raises ``UnsupportedFeature``. Listing rows
have no task queue: a TaskQueue condition that decides the match describes that execution. ``count`` counts by
listing. With advanced visibility the query is translated to Cadence's syntax and evaluated on the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from cadence import error as cerr
from cadence.api.v1.service_visibility_pb2 import (
    ListClosedWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsRequest,
    ListWorkflowExecutionsRequest,
)
from cadence.api.v1.visibility_pb2 import StartTimeFilter, StatusFilter, WorkflowExecutionFilter, WorkflowTypeFilter

import wfkit.engine as wfe
from wfkit.engine import STATUSES, QueryBoolOp, QueryComparison, evaluate_query, parse_query, query_fields

from ._convert import STATUS_TO_CLOSE, execution_from, rpc_error

PAGE_SIZE = 1000



# ---------------------------------------------------------------------------------------------------------------
# push-down planning

@dataclasses.dataclass
class Plan:
    statuses: set[str]
    workflow_id: str | None = None
    workflow_type: str | None = None
    earliest: datetime | None = None
    latest: datetime | None = None

    @property
    def want_open(self) -> bool:
        return "running" in self.statuses

    @property
    def closed_statuses(self) -> set[str]:
        return self.statuses - {"running"}


def _probe(status: str, close_time: datetime | None) -> wfe.Execution:
    return wfe.Execution(engine="cadence", workflow_id="", run_id="", workflow_type="", status=status,
                           task_queue=None, start_time=None, close_time=close_time, history_length=None)


def plan(node: Any) -> Plan:
    """What the server can filter: from the top-level AND's conditions that decide on their own."""
    conjuncts = list(node.items) if isinstance(node, QueryBoolOp) and node.op == "and" else ([node] if node else [])
    p = Plan(statuses=set(STATUSES))
    for c in conjuncts:
        f = query_fields(c)
        if f == {"ExecutionStatus"}:
            p.statuses &= {s for s in STATUSES if evaluate_query(c, _probe(s, None))}
        elif f == {"CloseTime"} and evaluate_query(c, _probe("running", None)) is False:
            p.statuses.discard("running")  # a condition on CloseTime never holds for a running workflow
        if not isinstance(c, QueryComparison):
            continue
        if c.op == "=" and c.field == "WorkflowId" and p.workflow_id is None:
            p.workflow_id = c.values[0]
        elif c.op == "=" and c.field == "WorkflowType" and p.workflow_type is None:
            p.workflow_type = c.values[0]
        elif c.field == "StartTime":
            lo = hi = None
            if c.op in (">", ">="):
                lo = c.values[0]
            elif c.op in ("<", "<="):
                hi = c.values[0]
            elif c.op == "=":
                lo = hi = c.values[0]
            elif c.op == "between":
                lo, hi = c.values
            if lo is not None:
                p.earliest = lo if p.earliest is None else max(p.earliest, lo)
            if hi is not None:
                p.latest = hi if p.latest is None else min(p.latest, hi)
    return p


# ---------------------------------------------------------------------------------------------------------------
# listing

_EPOCH = datetime.fromtimestamp(0, UTC)
_LAST = datetime(2262, 1, 1, tzinfo=UTC)  # the server counts Unix nanoseconds in an int64


_WIDEN = timedelta(seconds=1)


def _time_filter(p: Plan) -> StartTimeFilter:
    """The StartTime range pushed down, widened to whole seconds and one more on each side: the server's SQL
    visibility compares start times as text, so a bound on a whole second (``...:20Z``) sorts after the runs
    started later in that second (``...:20.5Z``) and loses them. Every row is then filtered exactly by
    ``evaluate_query``, to the nanosecond."""
    f = StartTimeFilter()
    earliest = min(max((p.earliest or _EPOCH).replace(microsecond=0) - _WIDEN, _EPOCH), _LAST)
    latest = p.latest.replace(microsecond=0) + 2 * _WIDEN if p.latest else datetime.now(UTC) + timedelta(days=1)
    latest = min(max(latest, earliest), _LAST)
    f.earliest_time.FromDatetime(earliest)
    f.latest_time.FromDatetime(latest)
    return f


async def _pages(client: Any, p: Plan, closed: bool, close_status: str | None) -> AsyncIterator[Any]:
    token = b""
    while True:
        if closed:
            req: Any = ListClosedWorkflowExecutionsRequest(domain=client.domain, page_size=PAGE_SIZE,
                                                           next_page_token=token, start_time_filter=_time_filter(p))
            if p.workflow_id is not None:
                req.execution_filter.CopyFrom(WorkflowExecutionFilter(workflow_id=p.workflow_id))
            elif p.workflow_type is not None:
                req.type_filter.CopyFrom(WorkflowTypeFilter(name=p.workflow_type))
            elif close_status is not None:
                req.status_filter.CopyFrom(StatusFilter(status=STATUS_TO_CLOSE[close_status]))
            call = client.visibility.ListClosedWorkflowExecutions
        else:
            req = ListOpenWorkflowExecutionsRequest(domain=client.domain, page_size=PAGE_SIZE, next_page_token=token,
                                                    start_time_filter=_time_filter(p))
            if p.workflow_id is not None:
                req.execution_filter.CopyFrom(WorkflowExecutionFilter(workflow_id=p.workflow_id))
            elif p.workflow_type is not None:
                req.type_filter.CopyFrom(WorkflowTypeFilter(name=p.workflow_type))
            call = client.visibility.ListOpenWorkflowExecutions
        try:
            resp = await call(req)
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, None, "list") from exc
        for info in resp.executions:
            yield info
        token = resp.next_page_token
        if not token or not resp.executions:
            return


def _start_key(info: Any) -> int:
    return info.start_time.seconds * 1_000_000_000 + info.start_time.nanos


async def _merged(streams: list[AsyncIterator[Any]]) -> AsyncIterator[Any]:
    """Rows of several newest-first streams, newest first."""
    heads: list[Any] = []
    live: list[AsyncIterator[Any]] = []
    for s in streams:
        row = await anext(s, None)
        if row is not None:
            heads.append(row)
            live.append(s)
    while heads:
        i = max(range(len(heads)), key=lambda k: _start_key(heads[k]))
        yield heads[i]
        nxt = await anext(live[i], None)
        if nxt is None:
            del heads[i], live[i]
        else:
            heads[i] = nxt


def _streams(client: Any, p: Plan) -> list[AsyncIterator[Any]]:
    streams: list[AsyncIterator[Any]] = []
    if p.want_open:
        streams.append(_pages(client, p, False, None))
    closed = p.closed_statuses
    if closed:
        # One status alone can go to the server; a WorkflowId/WorkflowType filter takes precedence.
        only = next(iter(closed)) if len(closed) == 1 else None
        streams.append(_pages(client, p, True, only))
    return streams


async def _scan(client: Any, query: str | None) -> AsyncGenerator[wfe.Execution, None]:
    """Matching executions, newest first, from basic (SQL) visibility: the server narrows, this filters."""
    node = parse_query(query)
    p = plan(node)
    needs_tq = "TaskQueue" in query_fields(node)
    scanned = 0
    max_scan = getattr(client, "max_scan", 10_000)
    describe_sem = asyncio.Semaphore(16)
    async for info in _merged(_streams(client, p)):
        scanned += 1
        if scanned > max_scan:
            raise wfe.UnsupportedFeature(
                "cadence", "list queries the server cannot narrow down",
                f"basic (SQL) visibility filters only one of WorkflowId = / WorkflowType = / one close status, "
                f"plus a StartTime range; {query!r} needs more than {max_scan} executions evaluated client-side "
                f"(narrow it with WorkflowType = '…' or a StartTime range, or raise client max_scan)")
        e = execution_from(info)
        verdict = evaluate_query(node, e, task_queue_known=not needs_tq)
        if verdict is None:
            async with describe_sem:
                e = await client.describe(e.workflow_id, e.run_id)
            verdict = evaluate_query(node, e)
        if verdict:
            yield e


def executions(client: Any, query: str | None) -> AsyncGenerator[wfe.Execution, None]:
    """Executions matching ``query``, newest first, a page at a time."""
    if getattr(client, "advanced_visibility", False):
        return _advanced(client, query)
    return _scan(client, query)


async def count_executions(client: Any, query: str | None) -> int:
    if getattr(client, "advanced_visibility", False):
        from cadence.api.v1.service_visibility_pb2 import CountWorkflowExecutionsRequest

        try:
            resp = await client.visibility.CountWorkflowExecutions(
                CountWorkflowExecutionsRequest(domain=client.domain, query=to_cadence_query(parse_query(query))))
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, None, "count") from exc
        return int(resp.count)
    n = 0
    async for _ in _scan(client, query):
        n += 1
    return n


# ---------------------------------------------------------------------------------------------------------------
# advanced visibility (Elasticsearch / Pinot): Cadence's own query syntax, evaluated on the server

_CADENCE_FIELD = {"WorkflowId": "WorkflowID", "WorkflowType": "WorkflowType", "ExecutionStatus": "CloseStatus",
                  "TaskQueue": "TaskList", "StartTime": "StartTime", "CloseTime": "CloseTime", "RunId": "RunID"}
_CLOSE_STATUS_NUM = {"running": -1, "completed": 0, "failed": 1, "canceled": 2, "terminated": 3,
                     "continued_as_new": 4, "timed_out": 5}


def _literal(field: str, v: Any) -> str:
    if field in ("StartTime", "CloseTime"):
        return str(int(v.timestamp() * 1_000_000_000))
    if field == "ExecutionStatus":
        return str(_CLOSE_STATUS_NUM[v])
    return "'" + str(v).replace("'", "''") + "'"


def to_cadence_query(node: Any) -> str:
    """The query in Cadence's advanced-visibility syntax (fields renamed, times as Unix nanoseconds)."""
    if node is None:
        return ""
    if isinstance(node, QueryBoolOp):
        return "(" + f" {node.op.upper()} ".join(to_cadence_query(i) for i in node.items) + ")"
    f = _CADENCE_FIELD[node.field]
    vals = [_literal(node.field, v) for v in node.values]
    if node.op in ("in", "not_in"):
        return f"{f} {'NOT IN' if node.op == 'not_in' else 'IN'} ({', '.join(vals)})"
    if node.op == "between":
        return f"{f} BETWEEN {vals[0]} AND {vals[1]}"
    if node.op == "starts_with":
        prefix = str(node.values[0]).replace("'", "''")
        return f"{f} LIKE '{prefix}%'"
    return f"{f} {node.op} {vals[0]}"


async def _advanced(client: Any, query: str | None) -> AsyncGenerator[wfe.Execution, None]:
    q = to_cadence_query(parse_query(query))
    token = b""
    while True:
        try:
            resp = await client.visibility.ListWorkflowExecutions(ListWorkflowExecutionsRequest(
                domain=client.domain, page_size=PAGE_SIZE, next_page_token=token, query=q))
        except cerr.CadenceRpcError as exc:
            raise rpc_error(exc, None, "list") from exc
        for info in resp.executions:
            yield execution_from(info)
        token = resp.next_page_token
        if not token:
            return


__all__ = [
    "count_executions",
    "executions",
    "plan",
    "to_cadence_query",
]
