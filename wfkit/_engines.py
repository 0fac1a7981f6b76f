"""Engine plugins: discovered through the ``wfkit.engines`` entry-point group, loaded on first use.

An engine plugin is an object with ``name``, ``capabilities`` and ``async connect(config) -> EngineClient``
(and optionally ``dev_server(port=…, db=…, build=…)``). The core never imports an engine SDK itself; a broken
plugin is reported by name without hiding the others.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, Protocol

from ._config import ConnectConfig
from ._definitions import RetryPolicy
from ._errors import WfkitError

GROUP = "wfkit.engines"

# Capability names an engine may declare (client.capabilities).
CAPABILITIES = (
    "subsecond_timers", "update", "advanced_visibility", "count", "replay", "side_effect", "memo",
    "signal_with_start", "reset", "terminate", "query", "continue_as_new", "child_workflows", "schedules",
)


@dataclasses.dataclass(frozen=True)
class StartOptions:
    """Engine-neutral options of ``client.start``, normalised."""

    id: str
    task_queue: str
    execution_timeout: timedelta | None = None
    run_timeout: timedelta | None = None
    task_timeout: timedelta | None = None
    id_reuse_policy: str | None = None
    retry_policy: RetryPolicy | None = None
    memo: dict[str, Any] | None = None


ID_REUSE_POLICIES = ("allow_duplicate", "allow_duplicate_failed_only", "reject_duplicate", "terminate_if_running")


class EngineClient(Protocol):
    engine: str
    address: str
    namespace: str
    capabilities: frozenset[str]

    async def start(self, workflow_type: str, args: list[Any], options: StartOptions) -> str: ...
    async def result(self, workflow_id: str, run_id: str | None, timeout: float | None) -> Any: ...
    async def signal(self, workflow_id: str, run_id: str | None, name: str, args: list[Any]) -> None: ...
    async def query(self, workflow_id: str, run_id: str | None, name: str, args: list[Any],
                    timeout: float) -> Any: ...
    async def cancel(self, workflow_id: str, run_id: str | None) -> None: ...
    async def terminate(self, workflow_id: str, run_id: str | None, reason: str | None) -> None: ...
    async def describe(self, workflow_id: str, run_id: str | None) -> Any: ...
    async def list(self, query: str | None, limit: int | None) -> Any: ...
    async def count(self, query: str | None) -> int: ...
    async def history(self, workflow_id: str, run_id: str | None) -> Any: ...
    def worker(self, task_queue: str, workflows: list[Any], activities: list[Any], **options: Any) -> Any: ...
    async def close(self) -> None: ...


class Engine(Protocol):
    name: str

    async def connect(self, config: ConnectConfig) -> EngineClient: ...


_loaded: dict[str, Engine] = {}


def entry_points(group: str) -> Any:
    from importlib.metadata import entry_points as eps  # ~20 ms: only when an engine is looked up

    return eps(group=group)


def available() -> list[str]:
    """Names of the installed engine plugins (nothing is imported)."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def history_proto_class(engine: str) -> Any:
    """The ``History`` protobuf message class of ``engine``, from its plugin (so the core imports no SDK)."""
    eng: Any = get_engine(engine)
    if not hasattr(eng, "history_proto_class"):
        from ._errors import UnsupportedFeature

        raise UnsupportedFeature(engine, "history protos")
    return eng.history_proto_class()


def get_engine(name: str) -> Engine:
    """Load the plugin for ``name`` (``temporal``, ``cadence`` or a third party's)."""
    if name in _loaded:
        return _loaded[name]
    eps = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not eps:
        have = ", ".join(available()) or "none"
        raise WfkitError(f"no wfkit engine plugin named {name!r} is installed (installed: {have}); "
                         f"pip install the wfkit-{name} adapter")
    try:
        engine = eps[0].load()
    except Exception as exc:  # a broken plugin is reported, by name
        raise WfkitError(f"the wfkit engine plugin {name!r} ({eps[0].value}) failed to load: "
                         f"{type(exc).__name__}: {exc}") from exc
    if not hasattr(engine, "connect"):
        raise WfkitError(f"the wfkit engine plugin {name!r} ({eps[0].value}) has no connect()")
    _loaded[name] = engine
    return engine
