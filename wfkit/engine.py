"""The contract between wfkit and an engine plugin: the one wfkit module an adapter imports.

An engine plugin is a package registered under the ``wfkit.engines`` entry-point group whose entry point is an
object satisfying :class:`Engine`. Its client satisfies :class:`EngineClient`, its workers :class:`EngineWorker`,
its embedded server :class:`DevServer`, and its in-workflow code registers a :class:`WorkflowRuntime` and an
:class:`ActivityRuntime` with :func:`register_runtime`. What an engine cannot do is left out of its
``capabilities`` (members of :class:`Capability`); wfkit then raises :class:`UnsupportedFeature` naming both.

Everything an adapter needs from wfkit is re-exported here: the definitions it runs (:class:`WorkflowDefn`,
:class:`ActivityDefn`), the values it returns (:class:`Execution`, :class:`Executions`, ``History``), the option
dataclasses it receives, the error tree, the JSON converter, TLS reading, the dev-server process base,
telemetry hooks and wfkit's list-query language (parser and evaluator). Importing this module is cheap:
``History`` and the history dialects (pandas) load on first use.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import AsyncGenerator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from wfkit import telemetry
from wfkit._capability import Capability
from wfkit._config import TAGS_MEMO_KEY, ConnectConfig, Secret, check_api_key, split_address, tls_material
from wfkit._converter import from_json_value, json_values, to_json_value
from wfkit._definitions import (
    DEFAULT_RETRY_POLICY,
    DROPPED_SIGNALS_QUERY,
    MIGRATION_STATE_QUERY,
    ActivityDefn,
    HandlerDefn,
    RetryPolicy,
    WorkflowDefn,
    activity_defn,
    decode_signal,
    workflow_defn,
)
from wfkit._errors import (
    ActivityError,
    ApplicationError,
    AuthenticationFailed,
    Canceled,
    ChildWorkflowError,
    ConnectionFailed,
    DevServerError,
    FailureError,
    HistoryFormatError,
    NondeterminismError,
    NotConvertible,
    QueryFailed,
    Terminated,
    TimeoutError,
    TLSError,
    UnsupportedFeature,
    WfkitError,
    WorkflowAlreadyStarted,
    WorkflowFailed,
    WorkflowNotFound,
)
from wfkit._execution import STATUSES, Execution, Executions
from wfkit._operate import (
    STACK_TRACE_QUERY,
    WFKIT_STACK_QUERY,
    Namespace,
    PendingActivity,
    PendingChild,
    PendingWorkflowTask,
    Poller,
    TaskQueueInfo,
    task_stacks,
)
from wfkit._probe import check_tls, probe_endpoint, probe_failure, rejection
from wfkit._query import (
    QueryBoolOp,
    QueryComparison,
    QuerySyntaxError,
    evaluate_query,
    parse_query,
    query_fields,
)
from wfkit._schedules import Schedule, ScheduleSpec
from wfkit._workflow_api import (
    DEFAULT_VERSION,
    ActivityInfo,
    ActivityOptions,
    ActivityRuntime,
    ChildOptions,
    WorkflowInfo,
    WorkflowRuntime,
    register_runtime,
)
from wfkit.codecs._apply import ENVELOPE_PREFIX, decode_messages, encode_messages
from wfkit.codecs._payload import CodecError, Payload, PayloadCodec
from wfkit.devserver import HOST, ServerProcess, ensure_port_free, free_port, port_open, tail

if TYPE_CHECKING:
    from wfkit.history import History
    from wfkit.history.dialects import HistoryDialect

__all__ = [
    "DEFAULT_RETRY_POLICY", "DEFAULT_VERSION", "DROPPED_SIGNALS_QUERY", "HOST", "ID_REUSE_POLICIES",
    "MIGRATION_STATE_QUERY", "STATUSES", "TAGS_MEMO_KEY",
    # the contract
    "Capability", "DevServer", "Engine", "EngineClient", "EngineWorker", "StartOptions",
    "WorkflowRuntime", "ActivityRuntime", "register_runtime", "History", "HistoryDialect", "builtin_dialect",
    # values and options
    "ActivityDefn", "ActivityInfo", "ActivityOptions", "ChildOptions", "ConnectConfig", "Execution",
    "Executions", "HandlerDefn", "RetryPolicy", "Secret", "WorkflowDefn", "WorkflowInfo", "activity_defn",
    "workflow_defn", "PendingActivity", "PendingChild", "PendingWorkflowTask", "Poller", "TaskQueueInfo",
    "Namespace", "Schedule", "ScheduleSpec",
    # helpers
    "STACK_TRACE_QUERY", "WFKIT_STACK_QUERY", "task_stacks", "ServerProcess", "decode_signal",
    "ensure_port_free", "free_port", "probe_endpoint", "check_tls", "probe_failure", "rejection",
    # the list-query language, for engines that evaluate list queries themselves
    "QueryBoolOp", "QueryComparison", "QuerySyntaxError", "evaluate_query", "parse_query", "query_fields",
    "from_json_value", "json_values", "port_open", "tail", "telemetry", "tls_material", "to_json_value",
    "check_api_key", "split_address",
    # payload codecs: the interface, and running one over an engine's protobuf messages
    "CodecError", "ENVELOPE_PREFIX", "Payload", "PayloadCodec", "decode_messages", "encode_messages",
    # errors
    "ActivityError", "ApplicationError", "AuthenticationFailed", "Canceled", "ChildWorkflowError", "ConnectionFailed",
    "DevServerError", "TLSError",
    "FailureError", "HistoryFormatError", "NondeterminismError", "NotConvertible", "QueryFailed", "Terminated",
    "TimeoutError", "UnsupportedFeature", "WfkitError", "WorkflowAlreadyStarted", "WorkflowFailed", "WorkflowNotFound",
]


ID_REUSE_POLICIES = ("allow_duplicate", "allow_duplicate_failed_only", "reject_duplicate", "terminate_if_running")


@dataclasses.dataclass(frozen=True)
class StartOptions:
    """Engine-neutral options of ``client.start``, validated and normalised by the core."""

    id: str
    """The workflow ID."""
    task_queue: str
    """The task queue (Cadence: task list) the workflow's tasks go to."""
    execution_timeout: timedelta | None = None
    """Limit on the whole execution, continue-as-new included (None: the engine's default)."""
    run_timeout: timedelta | None = None
    """Limit on one run."""
    task_timeout: timedelta | None = None
    """Limit on one workflow task."""
    id_reuse_policy: str | None = None
    """One of :data:`ID_REUSE_POLICIES`, or None for the engine's default."""
    retry_policy: RetryPolicy | None = None
    """Retries of the whole workflow, or None for none."""
    memo: dict[str, Any] | None = None
    """JSON values stored with the execution (wfkit's tags under :data:`TAGS_MEMO_KEY`)."""
    cron_schedule: str | None = None
    """A cron expression: the workflow runs on this schedule, each run a new run of the same ID."""
    search_attributes: dict[str, Any] | None = None
    """Indexed values visibility can filter on (JSON values; times as ISO 8601 text); the names must be
    registered on the server."""


@runtime_checkable
class EngineWorker(Protocol):
    """A worker polling one task queue (what :meth:`EngineClient.worker` returns)."""

    async def start(self) -> None:
        """Start polling (returns once polling has begun)."""
        ...

    async def stop(self) -> None:
        """Stop polling; in-flight tasks finish or are handed back to the server."""
        ...


@runtime_checkable
class EngineClient(Protocol):
    """A connection to one namespace (Cadence: domain) of one server. Every workflow value crossing it is plain
    JSON (the core converts with :func:`to_json_value`/:func:`from_json_value`)."""

    engine: str
    """The plugin's name."""
    address: str
    """host:port of the server's frontend."""
    namespace: str
    """The namespace (Cadence: domain)."""
    capabilities: frozenset[Capability]
    """The engine's capabilities, plus what this connection found the server to support."""

    @property
    def raw(self) -> Any:
        """The engine SDK's own client, for what wfkit does not cover."""
        ...

    async def start(self, workflow_type: str, args: list[Any], options: StartOptions) -> str:
        """Start a workflow; the new run's ID. Raises ``WorkflowAlreadyStarted``."""
        ...

    async def signal_with_start(self, workflow_type: str, args: list[Any], options: StartOptions, signal: str,
                                signal_args: list[Any]) -> str:
        """Signal workflow ``options.id``, starting it first (with ``args`` and ``options``) when no run of it is
        open; the ID of the run that got the signal."""
        ...

    async def result(self, workflow_id: str, run_id: str | None, timeout: float | None) -> Any:
        """Wait for the run (following continue-as-new) and return its JSON result, or raise
        ``WorkflowFailed`` whose cause is the failure."""
        ...

    async def signal(self, workflow_id: str, run_id: str | None, name: str, args: list[Any]) -> None: ...

    async def query(self, workflow_id: str, run_id: str | None, name: str, args: list[Any],
                    timeout: float) -> Any: ...

    async def update(self, workflow_id: str, run_id: str | None, name: str, args: builtins.list[Any],
                     timeout: float | None) -> Any:
        """Run update ``name`` with ``args`` and return its JSON result (``Capability.UPDATE``)."""
        ...

    async def cancel(self, workflow_id: str, run_id: str | None) -> None: ...

    async def terminate(self, workflow_id: str, run_id: str | None, reason: str | None) -> None: ...

    async def describe(self, workflow_id: str, run_id: str | None) -> Execution:
        """The execution with everything the server reports of it: pending activities (attempts, last failure,
        heartbeat, next attempt), pending children, the pending workflow task, search attributes, parent and
        timeouts."""
        ...

    async def task_queue(self, name: str) -> TaskQueueInfo:
        """The pollers (workflow and activity) of task queue ``name`` and its backlog where the server reports
        it; an unknown queue is an empty one."""
        ...

    async def reset(self, workflow_id: str, run_id: str, event_id: int, reason: str, request_id: str) -> str:
        """Reset run ``run_id`` to after event ``event_id`` (the end of a workflow task), reapplying the signals
        received after it; the new run's ID. The server deduplicates by ``request_id``."""
        ...

    async def namespaces(self) -> builtins.list[Namespace]:
        """Every namespace (Cadence: domain) of the server."""
        ...

    async def describe_namespace(self, name: str) -> Namespace:
        """One namespace (Cadence: domain); ``ConnectionFailed``-free: ``WfkitError`` naming it when unknown."""
        ...

    async def schedules(self) -> builtins.list[Schedule]:
        """Every schedule of the namespace (``Capability.SCHEDULES``)."""
        ...

    async def describe_schedule(self, schedule_id: str) -> Schedule: ...

    async def create_schedule(self, schedule_id: str, workflow_type: str, args: builtins.list[Any],
                              options: StartOptions, spec: ScheduleSpec, paused: bool, note: str | None) -> None:
        """Create a schedule that starts ``workflow_type`` with ``args`` and ``options`` (``options.id``: the
        workflow ID each action starts) whenever ``spec`` says."""
        ...

    async def schedule_action(self, schedule_id: str, action: str, note: str | None) -> None:
        """``pause``, ``unpause``, ``trigger`` (act now) or ``delete`` a schedule."""
        ...

    async def list(self, query: str | None, limit: int | None) -> Executions:
        """Executions matching ``query`` (wfkit's list-query language), at most ``limit``."""
        ...

    def executions(self, query: str | None) -> AsyncGenerator[Execution, None]:
        """Executions matching ``query``, newest first, as the server pages them: a listing of any size in
        bounded memory (``list`` is this, collected up to a limit). Optional: without it, ``Client.iter_list``
        (and the export) collect ``list(query, limit)`` in memory first."""
        ...

    async def count(self, query: str | None) -> int: ...

    async def history(self, workflow_id: str, run_id: str | None) -> History: ...

    def worker(self, task_queue: str, workflows: builtins.list[WorkflowDefn],
               activities: builtins.list[ActivityDefn], **options: Any) -> EngineWorker:
        """A worker (not started) serving ``workflows`` and ``activities`` on ``task_queue``; ``options`` are
        ``max_concurrent_activities``, ``max_concurrent_workflow_tasks`` and ``max_cached_workflows`` (the
        sticky cache's size, 0 = off) when given."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class DevServer(Protocol):
    """An embedded server on 127.0.0.1, in its own process group, stopped at exit."""

    @property
    def url(self) -> str:
        """The wfkit URL of the server's namespace (what ``wfkit.connect`` takes)."""
        ...

    @property
    def address(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    @property
    def pid(self) -> int: ...

    def alive(self) -> bool: ...

    def log_tail(self, lines: int = 20) -> str: ...

    def stop(self, timeout: float = 20) -> None: ...


@runtime_checkable
class Engine(Protocol):
    """An engine plugin: the object a ``wfkit.engines`` entry point names.

    The registry (``wfkit._engines``) refuses a plugin without one of the required members, naming it; the
    optional ones (``apply_client_config``, ``native_workflow_name``, and ``adapt_codec(obj)``, which turns the
    engine SDK's own codec objects into a ``PayloadCodec``) default as their docstrings say."""

    name: str
    """The URL scheme and the name wfkit reports (``Execution.engine``, ``History.engine``)."""
    capabilities: frozenset[Capability]
    """What the engine supports on every server."""
    default_port: int
    """The frontend port when a URL names none."""
    namespace_term: str
    """What the engine calls a namespace, as a URL query key (``namespace``, or ``domain`` on Cadence)."""

    async def connect(self, config: ConnectConfig) -> EngineClient:
        """Connect within ``config.connect_timeout``; ``ConnectionFailed`` (never a secret in it) otherwise."""
        ...

    def apply_client_config(self, config: ConnectConfig) -> None:
        """Before ``connect``: fill the settings ``config`` leaves unset (those not in ``config.explicit``) from
        the engine's own client configuration: environment variables, and a profiles file for engines with
        ``Capability.CLIENT_PROFILES`` (``config.profile`` names one). ``WfkitError`` names a bad file, profile or
        variable, never a secret. Optional: without it, nothing is filled in (and ``profile=`` needs
        ``Capability.CLIENT_PROFILES`` in any case)."""
        ...

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> DevServer:
        """Start an embedded server (``db``: a file that keeps its state; ``build``: build it if needed)."""
        ...

    def history_dialect(self) -> HistoryDialect:
        """How this engine's histories read and write (see :mod:`wfkit.history.dialects`)."""
        ...

    def history_proto_class(self) -> type:
        """The engine SDK's ``History`` protobuf message class."""
        ...

    async def replay(self, histories: Sequence[History], workflows: Sequence[WorkflowDefn | type]) -> list[
            BaseException | None]:
        """Replay each history (of any engine: convert what is not yours, or return the reason as the error)
        through the current code of ``workflows`` (wfkit definitions, and classes of this engine's own SDK that
        ``native_workflow_name`` accepted); per history, None or what went wrong (``NondeterminismError`` when
        the code diverged)."""
        ...

    def native_workflow_name(self, cls: type) -> str | None:
        """The workflow type name when ``cls`` is a workflow class of this engine's own SDK (replayed as it is,
        without wfkit), else None. Optional: without it, None (only wfkit workflows replay)."""
        ...

    def native_history_json(self, history: History, *, indent: int | None = None) -> str:
        """``history`` as this engine's own tools and replayer read it (converted when recorded elsewhere).
        Raises ``WfkitError`` naming what cannot be converted."""
        ...


def builtin_dialect(name: str) -> HistoryDialect:
    """The history dialect wfkit ships for ``name`` (what an adapter's ``history_dialect()`` may return)."""
    from wfkit.history.dialects import get_dialect

    return get_dialect(name)


def __getattr__(name: str) -> Any:
    if name == "History":
        from wfkit.history import History

        return History
    if name == "HistoryDialect":
        from wfkit.history.dialects import HistoryDialect

        return HistoryDialect
    raise AttributeError(f"module 'wfkit.engine' has no attribute {name!r}")
