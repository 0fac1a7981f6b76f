"""The wfkit exception tree: one root, the same type for the same failure on every engine.

The engine's own exception is kept as ``__cause__`` wherever an adapter translates one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ActivityError",
    "ApplicationError",
    "AuthenticationFailed",
    "Canceled",
    "ChildWorkflowError",
    "ClientClosed",
    "ConnectionFailed",
    "DevServerError",
    "FailureError",
    "HistoryFormatError",
    "NondeterminismError",
    "QueryFailed",
    "TLSError",
    "Terminated",
    "TimeoutError",
    "UnsupportedFeature",
    "WfkitError",
    "WorkflowAlreadyStarted",
    "WorkflowFailed",
    "WorkflowNotFound",
]


class WfkitError(Exception):
    """Root of every error wfkit raises."""


class ConnectionFailed(WfkitError):
    """The engine could not be reached, or refused the namespace/domain or credentials."""


class ClientClosed(ConnectionFailed):
    """The client was closed: every call made after ``Client.close()``, and every call still in flight when it
    closed, raises this."""


class TLSError(ConnectionFailed):
    """TLS with the server could not be set up: its certificate is not trusted (``tls_ca``), not valid for the name
    (``server_name``) or expired; it wants a client certificate or refused ours (``tls_cert``/``tls_key``); or only
    one side speaks TLS (``tls``). The message names the setting to fix; never a key."""


class AuthenticationFailed(ConnectionFailed):
    """The server, or the proxy in front of it, refused the credentials: no API key, a wrong one, or one without
    access to the namespace. The key is never shown."""


class DevServerError(WfkitError):
    """An embedded server could not be found, built or started. The message says what to do."""


class WorkflowNotFound(WfkitError):
    """No workflow execution with that ID (and run ID) exists."""


class WorkflowAlreadyStarted(WfkitError):
    """A workflow with that ID is already running (or the ID reuse policy forbids a new run)."""

    def __init__(self, message: str, *, workflow_id: str | None = None, run_id: str | None = None):
        super().__init__(message)
        self.workflow_id = workflow_id
        self.run_id = run_id


class UnsupportedFeature(WfkitError):
    """The connected engine cannot do what was asked."""

    def __init__(self, engine: str, feature: str, detail: str = ""):
        msg = f"{engine} does not support {feature}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
        self.engine = engine
        self.feature = feature


class QueryFailed(WfkitError):
    """A query could not be answered (expired, no worker yet, or the query handler raised).

    Retryable: asking again later may succeed.
    """


class NondeterminismError(WfkitError):
    """Workflow code no longer matches its recorded history (or a version is outside the supported range)."""


class NotConvertible(WfkitError):
    """A history records something another engine has no equivalent for (side effects, foreign markers), so it
    cannot be converted for that engine's replayer; the message names what."""


class HistoryFormatError(WfkitError, ValueError):
    """A history document could not be read.

    Attributes:
        index: 0-based position of the offending event in the input (None when the problem is not in an event).
        field: the field that could not be read (dotted path), when known.
    """

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None):
        where = []
        if index is not None:
            where.append(f"event {index}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.index = index
        self.field = field


class FailureError(WfkitError):
    """Base of the failures that travel between workflows, activities and callers.

    Attributes:
        message: the failure's own message.
        cause: the failure that led to this one, if any (another FailureError).
    """

    def __init__(self, message: str = "", *, cause: BaseException | None = None):
        super().__init__(message)
        self.message = message
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause


class ApplicationError(FailureError):
    """An error raised by user code in a workflow or activity; arrives unchanged at the caller.

    Args:
        message: human-readable message.
        *details: JSON-serialisable values carried along.
        type: a name for the kind of error; defaults to the class name. Listed in
            ``RetryPolicy.non_retryable_error_types`` it stops retries.
        non_retryable: never retry this failure, whatever the retry policy says.
    """

    def __init__(self, message: str = "", *details: Any, type: str | None = None,
                 non_retryable: bool = False, cause: BaseException | None = None):
        super().__init__(message, cause=cause)
        self.details: Sequence[Any] = tuple(details)
        self.type = type or (self.__class__.__name__ if self.__class__ is not ApplicationError else None)
        self.non_retryable = non_retryable

    def __repr__(self) -> str:
        return (f"ApplicationError({self.message!r}, type={self.type!r}, "
                f"non_retryable={self.non_retryable}, details={list(self.details)!r})")


class ActivityError(FailureError):
    """An activity failed for good (after its retries); ``.cause`` is the error raised there."""

    def __init__(self, message: str = "", *, activity_type: str | None = None, activity_id: str | None = None,
                 retry_state: str | None = None, cause: BaseException | None = None):
        super().__init__(message, cause=cause)
        self.activity_type = activity_type
        self.activity_id = activity_id
        self.retry_state = retry_state


class ChildWorkflowError(FailureError):
    """A child workflow failed; ``.cause`` is the error raised there."""

    def __init__(self, message: str = "", *, workflow_type: str | None = None, workflow_id: str | None = None,
                 cause: BaseException | None = None):
        super().__init__(message, cause=cause)
        self.workflow_type = workflow_type
        self.workflow_id = workflow_id


class TimeoutError(FailureError):
    """A timeout fired. ``kind`` is one of start_to_close, schedule_to_close, schedule_to_start, heartbeat,
    execution, run."""

    def __init__(self, message: str = "", *, kind: str | None = None, cause: BaseException | None = None):
        super().__init__(message or f"{kind} timeout", cause=cause)
        self.kind = kind


class Canceled(FailureError):
    """The workflow, activity or child was canceled."""


class Terminated(FailureError):
    """The workflow was terminated (``.message`` holds the reason)."""


class WorkflowFailed(WfkitError):
    """A workflow closed without a result. ``.cause`` says why (ApplicationError, ActivityError,
    ChildWorkflowError, TimeoutError, Canceled, Terminated)."""

    def __init__(self, message: str, *, cause: BaseException | None = None, workflow_id: str | None = None,
                 run_id: str | None = None, status: str | None = None):
        root = root_cause(cause) if cause is not None else None
        if root is not None and root is not cause:
            # The one-line message names the innermost failure; the whole chain stays on .cause.
            message += f" (root cause: {describe_failure(root)})"
        super().__init__(message)
        self.cause = cause
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.status = status
        if cause is not None:
            self.__cause__ = cause


def root_cause(exc: BaseException) -> BaseException:
    """The innermost failure of ``exc``'s ``.cause`` chain (``exc`` itself when it has none)."""
    seen = {id(exc)}
    while True:
        inner = getattr(exc, "cause", None)
        if not isinstance(inner, BaseException) or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` of a failure, the type being an ApplicationError's own type name (the error class
    raised in the activity or workflow) when it has one."""
    kind = getattr(exc, "type", None) if isinstance(exc, ApplicationError) else None
    text = exc.message if isinstance(exc, FailureError) else str(exc)
    return f"{kind or type(exc).__name__}: {text}" if text else (kind or type(exc).__name__)
