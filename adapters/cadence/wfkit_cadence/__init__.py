"""wfkit's Cadence engine (cadence-python-client over gRPC). Registered as the ``cadence`` entry of
``wfkit.engines``.

Importing this package is cheap: the Cadence client and its gRPC stubs load when the first connection is made.

What Cadence cannot do is left out of ``CAPABILITIES`` (wfkit raises ``UnsupportedFeature`` naming it):
``subsecond_timers`` (the server counts whole seconds; wfkit rounds every duration up), and
``advanced_visibility``, which is added per connection when the server answers visibility queries
(Elasticsearch/Pinot) and is absent on SQL visibility.

Modules: ``_client`` (connecting, the client calls over the SDK's gRPC stubs), ``_visibility`` (the query
language on basic and advanced visibility), ``_worker`` (pollers), ``_workflow`` (wfkit workflows on the SDK's
workflow engine, the in-workflow API), ``_activity`` (activity attempts, heartbeats), ``_convert`` (payloads,
failures, retry policies, executions), ``_replay`` (replaying histories, and what a Temporal history needs to be
read by Cadence), ``_telemetry`` (spans through Cadence headers), ``devserver`` (the embedded Cadence server).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wfkit.engine import Capability, ConnectConfig, UnsupportedFeature, WorkflowDefn, builtin_dialect

# gRPC's fork handlers are for processes that fork and go on using gRPC in the child; wfkit only forks to exec
# its dev servers. With them on, starting a server while a channel is busy logs a C-core line
# ("fork_posix.cc … skipping fork() handlers") into the notebook. Read by grpc when it is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

if TYPE_CHECKING:
    from wfkit.engine import Engine, History, HistoryDialect

    from ._client import CadenceClient
    from .devserver import CadenceDevServer

CAPABILITIES = frozenset({
    Capability.QUERY, Capability.TERMINATE, Capability.COUNT, Capability.MEMO, Capability.SIDE_EFFECT,
    Capability.CONTINUE_AS_NEW, Capability.CHILD_WORKFLOWS, Capability.REPLAY, Capability.RESET,
    Capability.SIGNAL_WITH_START,
    Capability.PAYLOAD_CODEC,
})


class CadenceEngine:
    name = "cadence"
    capabilities = CAPABILITIES
    default_port = 7833
    namespace_term = "domain"

    async def connect(self, config: ConnectConfig) -> CadenceClient:
        from ._client import connect

        return await connect(config)

    def apply_client_config(self, config: ConnectConfig) -> None:
        from ._envconfig import apply_client_config

        apply_client_config(config)

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> CadenceDevServer:
        from .devserver import CadenceDevServer

        return CadenceDevServer.start(port=port, db=db, domain=namespace, build=build)

    def history_dialect(self) -> HistoryDialect:
        return builtin_dialect(self.name)

    def history_proto_class(self) -> type:
        from cadence.api.v1.history_pb2 import History

        return History

    async def replay(self, histories: Sequence[History], workflows: Sequence[WorkflowDefn | type]) -> list[
            BaseException | None]:
        from ._replay import replay

        defns = [w for w in workflows if isinstance(w, WorkflowDefn)]
        if len(defns) != len(workflows):
            raise UnsupportedFeature(self.name, "replaying classes of the Cadence SDK itself")
        return await replay(histories, defns)

    def native_workflow_name(self, cls: type) -> str | None:
        """None: the Cadence plugin replays wfkit definitions only (its SDK's classes are not replayed as is)."""
        return None

    def native_history_json(self, history: History, *, indent: int | None = None) -> str:
        from ._replay import native_history_json

        return native_history_json(history, indent=indent)

    def __repr__(self) -> str:
        return "<wfkit engine 'cadence'>"


engine = CadenceEngine()

if TYPE_CHECKING:  # mypy holds the plugin to the contract
    _satisfies_the_contract: Engine = engine
