"""wfkit's Temporal engine (temporalio). Registered as the ``temporal`` entry of ``wfkit.engines``.

Importing this package is cheap: temporalio loads when the first connection is made.

Modules: ``_client`` (connecting, the client calls), ``_worker`` (workers, the in-workflow API on temporalio),
``_convert`` (failures, retry policies, executions), ``_replay`` (temporalio's Replayer, and what a Cadence
history needs to be read by it), ``devserver`` (the Temporal CLI dev server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wfkit.engine import Capability, ConnectConfig, WorkflowDefn, builtin_dialect

if TYPE_CHECKING:
    from wfkit.engine import Engine, History, HistoryDialect

    from ._client import TemporalClient
    from .devserver import TemporalDevServer

CAPABILITIES = frozenset({
    Capability.QUERY, Capability.TERMINATE, Capability.COUNT, Capability.MEMO, Capability.SIDE_EFFECT,
    Capability.CONTINUE_AS_NEW, Capability.CHILD_WORKFLOWS, Capability.REPLAY, Capability.SUBSECOND_TIMERS,
    Capability.ADVANCED_VISIBILITY, Capability.RESET,
    Capability.SIGNAL_WITH_START, Capability.SEARCH_ATTRIBUTES, Capability.SCHEDULES,
    Capability.UPDATE,
    Capability.PAYLOAD_CODEC,
    Capability.CLIENT_PROFILES,
})


class TemporalEngine:
    name = "temporal"
    capabilities = CAPABILITIES
    default_port = 7233
    namespace_term = "namespace"

    async def connect(self, config: ConnectConfig) -> TemporalClient:
        from ._client import connect

        return await connect(config)

    def apply_client_config(self, config: ConnectConfig) -> None:
        from ._envconfig import apply_client_config

        apply_client_config(config)

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> TemporalDevServer:
        from .devserver import TemporalDevServer

        return TemporalDevServer.start(port=port, db=db, namespace=namespace)

    def history_dialect(self) -> HistoryDialect:
        return builtin_dialect(self.name)

    def history_proto_class(self) -> type:
        from temporalio.api.history.v1 import History

        return History

    async def replay(self, histories: Sequence[History], workflows: Sequence[WorkflowDefn | type]) -> list[
            BaseException | None]:
        from ._replay import replay

        return await replay(histories, workflows)

    def adapt_codec(self, codec: Any) -> Any:
        """A temporalio ``PayloadCodec`` as a wfkit codec (None for anything else); temporalio is not imported
        for it (a temporalio codec object means temporalio is loaded already)."""
        import sys

        if "temporalio.converter" not in sys.modules:
            return None
        from ._payloads import adapt_codec

        return adapt_codec(codec)

    def native_workflow_name(self, cls: type) -> str | None:
        """A temporalio ``@workflow.defn`` class: its workflow type name."""
        from temporalio.workflow import _Definition

        defn = _Definition.from_class(cls)
        return defn.name if defn is not None else None

    def native_history_json(self, history: History, *, indent: int | None = None) -> str:
        from ._replay import native_history_json

        return native_history_json(history, indent=indent)

    def __repr__(self) -> str:
        return "<wfkit engine 'temporal'>"


engine = TemporalEngine()

if TYPE_CHECKING:  # mypy holds the plugin to the contract
    _satisfies_the_contract: Engine = engine
