"""Engine-neutral workflow and activity definitions: the decorators and what they record.

A decorated class or function is left as the user wrote it (so it can be unit-tested by calling it); the
decorators attach a small definition object that each adapter turns into its engine's own registration.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import warnings
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from ._converter import Signature, signature_of
from ._errors import WfkitError

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "DROPPED_SIGNALS_QUERY",
    "ActivityDefn",
    "RetryPolicy",
    "WorkflowDefn",
    "activity",
    "activity_defn",
    "as_timedelta",
    "decode_signal",
    "migration_state",
    "query",
    "run",
    "signal",
    "update",
    "workflow",
    "workflow_defn",
]

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_ROLE = "__wfkit_role__"

MIGRATION_STATE_QUERY = "__wfkit_migration_state"
"""The query every workflow with a ``@wfkit.migration_state`` method answers (registered by the core, so every
adapter serves it): ``{"state": <the method's value as JSON>, "time": <wfkit.now() as ISO text>}``. The time
is the workflow time of the task the state reflects; ``wfkit.migrate`` uses it to find the signals that reached
the workflow after the state was taken."""


DROPPED_SIGNALS_QUERY = "__wfkit_dropped_signals"
"""The query every wfkit workflow answers (registered by the core): the signals it dropped because their
arguments could not be decoded, ``[{"signal": name, "error": text}, ...]`` in arrival order."""

_DROPPED = "_wfkit_dropped_signals"
_signal_log = logging.getLogger("wfkit.signals")


@dataclasses.dataclass(frozen=True)
class HandlerDefn:
    name: str
    method: str
    sig: Signature


@dataclasses.dataclass(frozen=True)
class WorkflowDefn:
    """What ``@wfkit.workflow`` recorded about a class."""

    name: str
    cls: type
    run_method: str
    run_sig: Signature
    signals: dict[str, HandlerDefn]
    queries: dict[str, HandlerDefn]
    migration_state: str | None
    updates: dict[str, HandlerDefn] = dataclasses.field(default_factory=dict)
    """``@wfkit.update`` handlers (served where the engine has ``Capability.UPDATE``)."""


@dataclasses.dataclass(frozen=True)
class ActivityDefn:
    """What ``@wfkit.activity`` recorded about a function."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    sig: Signature


# Workflow definitions that running workers serve, by type name: a redefinition in a later notebook cell warns.
_served: dict[str, WorkflowDefn] = {}


def _mark(role: str, name: str | None = None) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        setattr(fn, _ROLE, (role, name or fn.__name__))
        return fn

    return deco


def run(fn: F) -> F:
    """Mark the workflow's entry method (``async def run(self, ...)``)."""
    if not inspect.iscoroutinefunction(fn):
        raise WfkitError(f"@wfkit.run method {fn.__qualname__} must be 'async def'")
    return _mark("run")(fn)


def signal(fn: F | None = None, *, name: str | None = None) -> Any:
    """Mark a signal handler (sync or async method; its return value is ignored)."""
    return _mark("signal", name)(fn) if fn is not None else _mark("signal", name)


def query(fn: F | None = None, *, name: str | None = None) -> Any:
    """Mark a query handler: a plain (non-async) method that reads state and returns a value."""
    def deco(f: F) -> F:
        if inspect.iscoroutinefunction(f):
            raise WfkitError(f"@wfkit.query method {f.__qualname__} must be a plain 'def', not 'async def'")
        return _mark("query", name)(f)

    return deco(fn) if fn is not None else deco


def update(fn: F | None = None, *, name: str | None = None) -> Any:
    """Mark an update handler: a (sync or async) method that may change state and returns a value to the caller
    (``handle.update``); engines without updates (Cadence) never call it."""
    return _mark("update", name)(fn) if fn is not None else _mark("update", name)


def migration_state(fn: F) -> F:
    """Mark the method whose return value is the input a migrated copy of this workflow starts from."""
    return _mark("migration_state")(fn)


def workflow(cls: C | None = None, *, name: str | None = None) -> Any:
    """Declare a workflow class. Its type name is ``cls.__name__`` unless ``name`` is given."""

    def deco(c: C) -> C:
        defn = _build_workflow_defn(c, name or c.__name__)
        old = _served.get(defn.name)
        if old is not None and old.cls is not c:
            warnings.warn(
                f"workflow {defn.name!r} was redefined while a running worker still serves the old definition: "
                "restart the worker (w.stop(), then client.worker(...).start()) to serve the new code",
                stacklevel=2,
            )
        c.__wfkit_workflow__ = defn  # type: ignore[attr-defined]
        return c

    return deco(cls) if cls is not None else deco


def _build_workflow_defn(cls: type, name: str) -> WorkflowDefn:
    run_method = None
    signals: dict[str, HandlerDefn] = {}
    queries: dict[str, HandlerDefn] = {}
    updates: dict[str, HandlerDefn] = {}
    state = None
    for attr, member in inspect.getmembers(cls):
        role = getattr(member, _ROLE, None)
        if role is None:
            continue
        kind, handler_name = role
        if kind == "run":
            if run_method is not None and run_method != attr:
                raise WfkitError(f"workflow {name!r} has two @wfkit.run methods: {run_method} and {attr}")
            run_method = attr
        elif kind == "signal":
            signals[handler_name] = HandlerDefn(handler_name, attr, signature_of(member))
        elif kind == "query":
            queries[handler_name] = HandlerDefn(handler_name, attr, signature_of(member))
        elif kind == "update":
            updates[handler_name] = HandlerDefn(handler_name, attr, signature_of(member))
        elif kind == "migration_state":
            state = attr
    if run_method is None:
        raise WfkitError(f"workflow class {cls.__qualname__} has no @wfkit.run method")
    if DROPPED_SIGNALS_QUERY not in queries:
        cls._wfkit_dropped_signals_query = _dropped_signals_query  # type: ignore[attr-defined]
        queries[DROPPED_SIGNALS_QUERY] = HandlerDefn(DROPPED_SIGNALS_QUERY, "_wfkit_dropped_signals_query",
                                                     Signature((), None, None))
    if state is not None and MIGRATION_STATE_QUERY not in queries:
        cls._wfkit_migration_state_query = _migration_state_query(state)  # type: ignore[attr-defined]
        queries[MIGRATION_STATE_QUERY] = HandlerDefn(MIGRATION_STATE_QUERY, "_wfkit_migration_state_query",
                                                     Signature((), None, None))
    return WorkflowDefn(name, cls, run_method, signature_of(getattr(cls, run_method)), signals, queries, state,
                        updates)


def _dropped_signals_query(self: Any) -> list[dict[str, str]]:
    return list(getattr(self, _DROPPED, ()))


def decode_signal(h: HandlerDefn, instance: Any, args: Sequence[Any], *, engine: str, workflow_id: str,
                  workflow_type: str, replaying: bool, decode_error: Exception | None = None) -> list[Any] | None:
    """The arguments to call signal handler ``h`` of ``instance`` with, or None when the signal must be dropped.

    A signal comes from outside the workflow (any client, any SDK): arguments of the wrong shape or number must
    not fail the workflow task (the engine would retry it forever and the workflow would never move again), so
    the signal is dropped, as temporalio does. The drop is logged (workflow id, signal name, decode error),
    counted (``wfkit_signals_dropped_total``) and kept for the ``DROPPED_SIGNALS_QUERY``
    (``handle.dropped_signals()``). The decision is a pure function of the history, so replays drop the same
    signals (and neither log nor count them again). ``decode_error`` is the adapter's own error when the
    payload was not even readable as JSON.
    """
    decoded, error = _decode_signal(h, type(instance), args, decode_error)
    if error is not None:
        instance.__dict__.setdefault(_DROPPED, []).append({"signal": h.name, "error": error})
        if not replaying:
            _signal_log.warning("dropped signal %r to workflow %s (%s): its arguments cannot be decoded: %s",
                                h.name, workflow_id, workflow_type, error)
            from . import telemetry

            telemetry.signal_dropped(engine, workflow_type)
        return None
    return decoded


def _decode_signal(h: HandlerDefn, cls: type, args: Sequence[Any],
                   decode_error: Exception | None = None) -> tuple[list[Any], str | None]:
    """(decoded arguments, None), or ([], why they cannot be passed to the handler)."""
    try:
        if decode_error is not None:
            raise decode_error
        decoded = h.sig.decode_args(args)
        inspect.signature(getattr(cls, h.method)).bind(None, *decoded)
    except Exception as err:  # noqa: BLE001 - whatever the payload is, it must not wedge the workflow
        return [], f"{type(err).__name__}: {err}"
    return decoded, None


def signal_drop_reason(defn: WorkflowDefn, name: str, args: Sequence[Any]) -> str | None:
    """Why ``defn``'s workers drop a signal ``name`` with ``args`` (its JSON values), or None if they take it.
    A name with no handler is not dropped by this rule (engines keep or discard those themselves)."""
    h = defn.signals.get(name)
    return None if h is None else _decode_signal(h, defn.cls, args)[1]


def _migration_state_query(method: str) -> Callable[[Any], Any]:
    def answer(self: Any) -> Any:
        from ._converter import to_json_value
        from ._workflow_api import now

        return {"state": to_json_value(getattr(self, method)()), "time": now().isoformat()}

    return answer


def activity(fn: F | None = None, *, name: str | None = None) -> Any:
    """Declare an activity (``async def`` runs on wfkit's loop; a plain ``def`` runs in a thread pool).

    Its type name is ``fn.__name__`` unless ``name`` is given. The function itself is returned unchanged.
    """

    def deco(f: F) -> F:
        f.__wfkit_activity__ = ActivityDefn(  # type: ignore[attr-defined]
            name or f.__name__, f, inspect.iscoroutinefunction(f), signature_of(f))
        return f

    return deco(fn) if fn is not None else deco


def workflow_defn(obj: Any) -> WorkflowDefn:
    """The definition behind a ``@wfkit.workflow`` class (clear error for anything else)."""
    defn = getattr(obj, "__wfkit_workflow__", None)
    if not isinstance(defn, WorkflowDefn) or defn.cls is not obj:
        raise WfkitError(f"{getattr(obj, '__qualname__', obj)!r} is not a @wfkit.workflow class")
    return defn


def activity_defn(obj: Any) -> ActivityDefn:
    """The definition behind a ``@wfkit.activity`` function (clear error for anything else)."""
    defn = getattr(obj, "__wfkit_activity__", None)
    if not isinstance(defn, ActivityDefn):
        raise WfkitError(f"{getattr(obj, '__qualname__', obj)!r} is not a @wfkit.activity function")
    return defn


def as_timedelta(value: timedelta | float | None, what: str) -> timedelta | None:
    """Accept a timedelta or a number of seconds; reject anything else by name."""
    if value is None or isinstance(value, timedelta):
        if value is not None and value < timedelta(0):
            raise WfkitError(f"{what} must not be negative (got {value})")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise WfkitError(f"{what} must not be negative (got {value})")
        return timedelta(seconds=value)
    raise WfkitError(f"{what} must be a timedelta or a number of seconds, not {type(value).__name__}")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How an activity (or workflow) is retried. The same defaults on every engine.

    wfkit's default for activities is ``RetryPolicy()``: 3 attempts, 1 s apart at first, doubling, at most
    100 s apart. (Temporal's own default retries forever and Cadence's never retries; neither suits one API.)
    """

    initial_interval: timedelta = timedelta(seconds=1)
    """Wait before the first retry."""
    backoff_coefficient: float = 2.0
    """Each wait is the previous one times this."""
    maximum_interval: timedelta | None = None
    """Longest wait between attempts; default 100 x initial_interval."""
    maximum_attempts: int = 3
    """Attempts in all, the first included; 0 = unlimited (bounded on Cadence by schedule_to_close_timeout)."""
    non_retryable_error_types: Sequence[str] = ()
    """Error types (ApplicationError.type or exception class names) that are never retried."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "initial_interval", as_timedelta(self.initial_interval, "initial_interval"))
        object.__setattr__(self, "maximum_interval", as_timedelta(self.maximum_interval, "maximum_interval"))
        object.__setattr__(self, "non_retryable_error_types", tuple(self.non_retryable_error_types))
        if self.maximum_attempts < 0:
            raise WfkitError(f"maximum_attempts must be >= 0 (0 = unlimited), got {self.maximum_attempts}")
        if self.backoff_coefficient < 1:
            raise WfkitError(f"backoff_coefficient must be >= 1, got {self.backoff_coefficient}")

    @property
    def effective_maximum_interval(self) -> timedelta:
        return self.maximum_interval or self.initial_interval * 100


DEFAULT_RETRY_POLICY = RetryPolicy()
