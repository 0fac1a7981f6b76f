"""wfkit's local engine: ``local://``, workflows and activities in this process, with time skipping.

Registered as the ``local`` entry of ``wfkit.engines``; it imports only ``wfkit.engine``. Its histories are
canonical events named as Temporal names them (the built-in Temporal history dialect reads them), replayed
through the workflow code on every decision.

Modules: ``_events`` (events, payloads, failures), ``_replay`` (the deterministic loop, replay, the in-workflow
runtime), ``_server`` (runs, clock and time skipping, workflow tasks, activities), ``_client`` (the client calls;
list queries with wfkit's ``parse_query``/``evaluate_query``), ``devserver`` (the in-process "server" the test
fixtures ask for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wfkit.engine import Capability, ConnectConfig, WorkflowDefn, builtin_dialect

if TYPE_CHECKING:
    from wfkit.engine import Engine, History, HistoryDialect

    from ._client import LocalClient
    from .devserver import LocalDevServer

CAPABILITIES = frozenset({
    Capability.QUERY, Capability.TERMINATE, Capability.COUNT, Capability.MEMO, Capability.SIDE_EFFECT,
    Capability.CONTINUE_AS_NEW, Capability.CHILD_WORKFLOWS, Capability.REPLAY, Capability.SUBSECOND_TIMERS,
    Capability.ADVANCED_VISIBILITY, Capability.SIGNAL_WITH_START, Capability.RESET, Capability.IN_PROCESS,
    Capability.TIME_SKIPPING,
})


class LocalEngine:
    name = "local"
    capabilities = CAPABILITIES
    default_port = 0
    namespace_term = "namespace"
    url_options = {"time": "skip: the clock jumps to the next timer whenever nothing else can run; real (default)"}

    async def connect(self, config: ConnectConfig) -> LocalClient:
        from ._client import connect

        return await connect(config, self.capabilities)

    def apply_client_config(self, config: ConnectConfig) -> None:
        """Nothing to read: the local engine takes its settings from the URL alone."""

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> LocalDevServer:
        from .devserver import LocalDevServer

        return LocalDevServer(db=db, namespace=namespace)

    def history_dialect(self) -> HistoryDialect:
        return builtin_dialect("temporal")

    def history_proto_class(self) -> type:
        from temporalio.api.history.v1 import History

        return History

    async def replay(self, histories: Sequence[History], workflows: Sequence[WorkflowDefn | type]) -> list[
            BaseException | None]:
        from ._replay_api import replay

        return replay(histories, workflows)

    def native_workflow_name(self, cls: type) -> str | None:
        return None

    def native_history_json(self, history: History, *, indent: int | None = None) -> str:
        return history.to_json(format="temporal", indent=indent)

    def __repr__(self) -> str:
        return "<wfkit engine 'local'>"


engine = LocalEngine()

if TYPE_CHECKING:  # mypy holds the plugin to the contract
    _satisfies_the_contract: Engine = engine
