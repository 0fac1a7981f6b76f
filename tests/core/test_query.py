"""wfkit's list-query language without a server: the parser's trees and errors, and the three-valued evaluator
the engines that evaluate list queries themselves share (``wfkit.engine.parse_query``/``evaluate_query``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from wfkit.engine import (
    Execution,
    QueryBoolOp,
    QueryComparison,
    QuerySyntaxError,
    WfkitError,
    evaluate_query,
    parse_query,
    query_fields,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _run(**kw) -> Execution:
    base = dict(engine="local", workflow_id="order-1", run_id="r1", workflow_type="Order", status="running",
                task_queue="q", start_time=T0, close_time=None, history_length=None)
    return Execution(**{**base, **kw})


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_query_is_everything(empty):
    assert parse_query(empty) is None
    assert evaluate_query(None, _run()) is True


def test_trees_fields_and_precedence():
    node = parse_query("workflowtype = 'Order' AND (ExecutionStatus = 'Completed' OR WorkflowId <> \"x\")")
    assert node == QueryBoolOp("and", (
        QueryComparison("WorkflowType", "=", ("Order",)),
        QueryBoolOp("or", (QueryComparison("ExecutionStatus", "=", ("completed",)),
                           QueryComparison("WorkflowId", "!=", ("x",)))),
    ))
    assert query_fields(node) == {"WorkflowType", "ExecutionStatus", "WorkflowId"}
    # AND binds tighter than OR
    assert parse_query("RunId = 'a' OR RunId = 'b' AND RunId = 'c'").op == "or"


def test_operators_and_typed_values():
    assert parse_query("`WorkflowId` IN ('a', 'it''s')") == QueryComparison("WorkflowId", "in", ("a", "it's"))
    assert parse_query("ExecutionStatus NOT IN ('Timed Out', 'cancelled')") == QueryComparison(
        "ExecutionStatus", "not_in", ("timed_out", "canceled"))
    assert parse_query("WorkflowId STARTS_WITH 'order-'") == QueryComparison("WorkflowId", "starts_with", ("order-",))
    between = parse_query("StartTime BETWEEN '2024-05-01T12:00:00Z' AND 1714564800000000000")
    assert between == QueryComparison("StartTime", "between", (T0, T0))
    naive = parse_query("CloseTime >= '2024-05-01T12:00:00'")
    assert naive.values == (T0,)


@pytest.mark.parametrize(("query", "message"), [
    ("Wat = 'x'", "unknown field 'Wat'"),
    ("WorkflowId = ", "list query ends too early"),
    ("WorkflowId = 'a' 'b'", "unexpected 'b' at position 17"),
    ("ExecutionStatus = 'Sleeping'", "unknown ExecutionStatus 'Sleeping'"),
    ("StartTime > 'yesterday'", "not a time: 'yesterday'"),
    ("WorkflowId NOT 'a'", "expected IN after NOT"),
    ("WorkflowId IN ('a' 'b')", "expected , or ) at position 19"),
    ("WorkflowId = 'a' ; x", "cannot read the list query at position 16"),
    ("(WorkflowId = 'a'", "list query ends too early"),
])
def test_syntax_errors_say_where(query, message):
    with pytest.raises(QuerySyntaxError, match=re.escape(message)) as info:
        parse_query(query)
    assert isinstance(info.value, WfkitError) and isinstance(info.value, ValueError)


def test_evaluation():
    done = _run(status="completed", close_time=T0)
    assert evaluate_query(parse_query("ExecutionStatus = 'Completed' AND CloseTime >= '2024-05-01T12:00:00Z'"), done)
    assert evaluate_query(parse_query("WorkflowId STARTS_WITH 'order' AND RunId IN ('r2', 'r3')"), done) is False
    # a missing CloseTime differs from every time, and compares with none
    assert evaluate_query(parse_query("CloseTime != '2024-05-01T12:00:00Z'"), _run()) is True
    assert evaluate_query(parse_query("CloseTime < '2030-01-01T00:00:00Z'"), _run()) is False


def test_an_unknown_task_queue_leaves_the_answer_open():
    row = _run(task_queue=None)
    node = parse_query("TaskQueue = 'q' AND WorkflowType = 'Order'")
    assert evaluate_query(node, row, task_queue_known=False) is None
    assert evaluate_query(node, _run(), task_queue_known=False) is True
    # the rest of the query decides without it
    assert evaluate_query(parse_query("TaskQueue = 'q' AND WorkflowType = 'Other'"), row,
                          task_queue_known=False) is False
    assert evaluate_query(parse_query("TaskQueue = 'q' OR WorkflowType = 'Order'"), row,
                          task_queue_known=False) is True
    # known to have none: an ordinary comparison
    assert evaluate_query(node, row) is False
