"""wfkit: Temporal and Cadence from Jupyter — one workflow definition, one client API, histories as data.

Light on import: engine SDKs, pandas, matplotlib and ipywidgets load when first needed.
"""

from __future__ import annotations

from typing import Any

from ._batch import BatchPlan
from ._client import Client, Worker, WorkflowHandle, connect, connect_sync
from ._config import Secret
from ._definitions import RetryPolicy, activity, migration_state, query, run, signal, update, workflow
from ._engines import CAPABILITIES
from ._engines import available as available_engines
from ._errors import (
    ActivityError,
    ApplicationError,
    AuthenticationFailed,
    Canceled,
    ChildWorkflowError,
    ClientClosed,
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
from ._execution import Execution, Executions
from ._operate import (
    Diagnosis,
    Finding,
    Namespace,
    Namespaces,
    PendingActivity,
    PendingChild,
    PendingWorkflowTask,
    Poller,
    TaskQueueInfo,
)
from ._reset import ResetPlan
from ._schedules import Schedule, Schedules, ScheduleSpec
from ._workflow_api import (
    DEFAULT_VERSION,
    ActivityInfo,
    WorkflowInfo,
    activity_info,
    continue_as_new,
    execute_activity,
    execute_child_workflow,
    get_version,
    heartbeat,
    info,
    logger,
    now,
    side_effect,
    sleep,
    uuid4,
    wait_condition,
)
from .engine import Capability

__version__ = "0.1.0"

__all__ = [
    # connecting
    "connect", "connect_sync", "Client", "WorkflowHandle", "Worker", "Secret", "CAPABILITIES", "Capability",
    "available_engines",
    # definitions and the in-workflow API
    "workflow", "run", "signal", "query", "update", "activity", "migration_state", "RetryPolicy", "DEFAULT_VERSION",
    "execute_activity", "sleep", "wait_condition", "get_version", "side_effect", "now", "uuid4", "info",
    "logger", "execute_child_workflow", "continue_as_new", "heartbeat", "activity_info", "WorkflowInfo",
    "ActivityInfo",
    # errors
    "WfkitError", "ConnectionFailed", "ClientClosed", "DevServerError", "WorkflowNotFound", "WorkflowAlreadyStarted",
    "WorkflowFailed", "FailureError", "ApplicationError", "ActivityError", "ChildWorkflowError", "TimeoutError",
    "Canceled", "Terminated", "QueryFailed", "UnsupportedFeature", "HistoryFormatError", "NondeterminismError",
    "NotConvertible", "TLSError", "AuthenticationFailed",
    # data
    "Execution", "Executions", "History", "histories_frame", "diff", "analytics", "read_histories", "ExportResult",
    # operating
    "Diagnosis", "Finding", "PendingActivity", "PendingChild", "PendingWorkflowTask", "Poller", "TaskQueueInfo",
    "ResetPlan", "BatchPlan", "Namespace", "Namespaces", "Schedule", "Schedules", "ScheduleSpec",
    # migration, routing, failover
    "migrate", "replay", "Router", "FailoverClient",
    # observability
    "telemetry",
    # payload codecs (encryption)
    "codecs",
    # notebook
    "load_ipython_extension",
]

# Names whose modules pull in pandas & co., loaded on first access.
_LAZY = {
    "History": (".history", "History"),
    "histories_frame": (".history", "histories_frame"),
    "diff": (".history", "diff"),
    "read_histories": (".history._parquet", "read_histories"),
    "ExportResult": ("._export", "ExportResult"),
    "analytics": (".analytics", None),
    "devserver": (".devserver", None),
    "examples": (".examples", None),
    "telemetry": (".telemetry", None),
    "codecs": (".codecs", None),
    "migrate": (".migrate", None),
    "replay": ("._replay", "replay"),
    "Router": ("._router", "Router"),
    "FailoverClient": ("._router", "FailoverClient"),
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext wfkit``: the ``%wf`` magic (IPython is imported only now)."""
    from wfkit.notebook.magic import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name, __name__)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wfkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
