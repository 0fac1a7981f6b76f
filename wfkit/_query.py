"""wfkit's list-query language, for engines that evaluate ``client.list`` / ``client.count`` queries themselves
(re-exported to adapters by :mod:`wfkit.engine`).

The language is Temporal's visibility syntax, wfkit's subset: ``=, !=, <>, <, >, <=, >=, IN, NOT IN, BETWEEN … AND
…, STARTS_WITH, AND, OR`` and parentheses over WorkflowId, WorkflowType, ExecutionStatus, TaskQueue, StartTime,
CloseTime and RunId. :func:`parse_query` turns a query into a tree of :class:`QueryComparison` and
:class:`QueryBoolOp` (values already typed: statuses as wfkit's status names, times as aware datetimes);
:func:`evaluate_query` decides whether an execution matches. A query outside the subset raises
:class:`QuerySyntaxError`, saying where.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from wfkit._errors import WfkitError
from wfkit._execution import Execution

FIELDS = {"workflowid": "WorkflowId", "workflowtype": "WorkflowType", "executionstatus": "ExecutionStatus",
          "taskqueue": "TaskQueue", "starttime": "StartTime", "closetime": "CloseTime", "runid": "RunId"}
"""The fields a query may name: lower-cased name → canonical name (names match in any case)."""
_STATUS_NAMES = {"running": "running", "completed": "completed", "failed": "failed", "canceled": "canceled",
                 "cancelled": "canceled", "terminated": "terminated", "continuedasnew": "continued_as_new",
                 "continued_as_new": "continued_as_new", "timedout": "timed_out", "timed_out": "timed_out"}
_TEMPORAL_STATUS = {"running": "Running", "completed": "Completed", "failed": "Failed", "canceled": "Canceled",
                    "terminated": "Terminated", "continued_as_new": "ContinuedAsNew", "timed_out": "TimedOut"}


class QuerySyntaxError(WfkitError, ValueError):
    """The list query is not in the supported subset (the message says where)."""


# ---------------------------------------------------------------------------------------------------------------
# parsing

@dataclasses.dataclass(frozen=True)
class QueryComparison:
    """One condition: ``field op values``."""

    field: str
    """The field's canonical name (one of the values of :data:`FIELDS`)."""
    op: str
    """``= != < > <= >=`` or ``in``, ``not_in``, ``between``, ``starts_with``."""
    values: tuple[Any, ...]
    """The operands, typed for the field (``between``: low and high)."""


@dataclasses.dataclass(frozen=True)
class QueryBoolOp:
    """Conditions joined by one boolean operator."""

    op: str
    """``and`` or ``or``."""
    items: tuple[Any, ...]
    """The operands: :class:`QueryComparison` or :class:`QueryBoolOp` nodes."""


_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)
)""", re.VERBOSE)


def _tokenize(query: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None:
            raise QuerySyntaxError(f"cannot read the list query at position {pos}: {query[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        if kind == "str":
            value: Any = text[1:-1].replace("''", "'") if text[0] == "'" else bytes(text[1:-1], "utf-8").decode(
                "unicode_escape")
        elif kind == "num":
            value = float(text) if "." in text else int(text)
        elif kind == "ident":
            value = text.strip("`")
        else:
            value = text
        tokens.append((kind, value, m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = _tokenize(query)
        self.i = 0

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> tuple[str, Any, int]:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError(f"list query ends too early: {self.query!r}")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "ident" and str(tok[1]).upper() == word:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: Any = None) -> tuple[str, Any, int]:
        tok = self.next()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise QuerySyntaxError(f"expected {value or kind} at position {tok[2]} of {self.query!r}")
        return tok

    def parse(self) -> Any:
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise QuerySyntaxError(f"unexpected {tok[1]!r} at position {tok[2]} of {self.query!r}")
        return node

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.keyword("OR"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else QueryBoolOp("or", tuple(items))

    def and_expr(self) -> Any:
        items = [self.atom()]
        while self.keyword("AND"):
            items.append(self.atom())
        return items[0] if len(items) == 1 else QueryBoolOp("and", tuple(items))

    def atom(self) -> Any:
        tok = self.peek()
        if tok is not None and tok[0] == "punct" and tok[1] == "(":
            self.next()
            node = self.or_expr()
            self.expect("punct", ")")
            return node
        return self.comparison()

    def value(self, field: str) -> Any:
        kind, value, pos = self.next()
        if kind not in ("str", "num"):
            raise QuerySyntaxError(f"expected a value at position {pos} of {self.query!r}")
        return _coerce(field, value, pos, self.query)

    def comparison(self) -> QueryComparison:
        kind, name, pos = self.next()
        if kind != "ident":
            raise QuerySyntaxError(f"expected a field name at position {pos} of {self.query!r}")
        field = FIELDS.get(str(name).lower())
        if field is None:
            raise QuerySyntaxError(f"unknown field {name!r} in list query (supported: {', '.join(FIELDS.values())})")
        if self.keyword("NOT"):
            if self.keyword("IN"):
                return QueryComparison(field, "not_in", self.value_list(field))
            raise QuerySyntaxError(f"expected IN after NOT in {self.query!r}")
        if self.keyword("IN"):
            return QueryComparison(field, "in", self.value_list(field))
        if self.keyword("BETWEEN"):
            low = self.value(field)
            if not self.keyword("AND"):
                raise QuerySyntaxError(f"expected AND in BETWEEN of {self.query!r}")
            return QueryComparison(field, "between", (low, self.value(field)))
        if self.keyword("STARTS_WITH"):
            return QueryComparison(field, "starts_with", (self.value(field),))
        kind, op, pos = self.next()
        if kind != "op":
            raise QuerySyntaxError(f"expected an operator after {name} at position {pos} of {self.query!r}")
        return QueryComparison(field, "!=" if op == "<>" else op, (self.value(field),))

    def value_list(self, field: str) -> tuple[Any, ...]:
        self.expect("punct", "(")
        values = [self.value(field)]
        while True:
            kind, v, pos = self.next()
            if kind == "punct" and v == ")":
                return tuple(values)
            if kind != "punct" or v != ",":
                raise QuerySyntaxError(f"expected , or ) at position {pos} of {self.query!r}")
            values.append(self.value(field))


def _coerce(field: str, value: Any, pos: int, query: str) -> Any:
    if field in ("StartTime", "CloseTime"):
        return parse_time(value, where=f"position {pos} of {query!r}")
    if field == "ExecutionStatus":
        key = str(value).replace(" ", "").lower()
        if key not in _STATUS_NAMES:
            raise QuerySyntaxError(f"unknown ExecutionStatus {value!r} (one of {', '.join(_TEMPORAL_STATUS.values())})")
        return _STATUS_NAMES[key]
    return str(value)


def parse_time(value: Any, *, where: str = "") -> datetime:
    """RFC 3339 text (``2024-05-01T12:00:00Z``) or Unix nanoseconds."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1e9, UTC)
    try:
        t = datetime.fromisoformat(str(value).strip().replace("z", "Z"))
    except ValueError:
        raise QuerySyntaxError(f"not a time: {value!r} at {where} (use RFC 3339, e.g. 2024-05-01T12:00:00Z)") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def parse_query(query: str | None) -> Any:
    """The query's syntax tree (None for an empty query = everything)."""
    if query is None or not query.strip():
        return None
    return _Parser(query).parse()


# ---------------------------------------------------------------------------------------------------------------
# evaluation (three-valued: None = "cannot tell yet", for a TaskQueue a listing row does not carry)

def _field_value(e: Execution, field: str) -> Any:
    return {"WorkflowId": e.workflow_id, "WorkflowType": e.workflow_type, "ExecutionStatus": e.status,
            "TaskQueue": e.task_queue, "StartTime": e.start_time, "CloseTime": e.close_time,
            "RunId": e.run_id}[field]


def _compare(v: Any, op: str, values: tuple[Any, ...]) -> bool:
    if v is None:
        return op in ("!=", "not_in")  # a missing CloseTime differs from every time
    try:
        if op == "=":
            return v == values[0]
        if op == "!=":
            return v != values[0]
        if op == "<":
            return v < values[0]
        if op == ">":
            return v > values[0]
        if op == "<=":
            return v <= values[0]
        if op == ">=":
            return v >= values[0]
        if op == "in":
            return v in values
        if op == "not_in":
            return v not in values
        if op == "between":
            return values[0] <= v <= values[1]
        if op == "starts_with":
            return str(v).startswith(str(values[0]))
    except TypeError:
        return False
    raise QuerySyntaxError(f"unknown operator {op}")


def evaluate_query(node: Any, e: Execution, *, task_queue_known: bool = True) -> bool | None:
    """Whether ``e`` matches the syntax tree ``node`` (None matches everything). With ``task_queue_known=False``
    (a listing row that carries no task queue) a TaskQueue condition on a row without one is undecided, and the
    answer is None when the rest of the query cannot decide without it."""
    if node is None:
        return True
    if isinstance(node, QueryComparison):
        if node.field == "TaskQueue" and e.task_queue is None and not task_queue_known:
            return None
        return _compare(_field_value(e, node.field), node.op, node.values)
    results = [evaluate_query(item, e, task_queue_known=task_queue_known) for item in node.items]
    if node.op == "and":
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def query_fields(node: Any) -> set[str]:
    """The fields the syntax tree ``node`` names."""
    if node is None:
        return set()
    if isinstance(node, QueryComparison):
        return {node.field}
    return set().union(*(query_fields(i) for i in node.items))

