"""wfkit's Cadence engine (cadence-python-client over gRPC). Registered as the ``cadence`` entry of
``wfkit.engines``.

Importing this package is cheap: the Cadence client and its gRPC stubs load when the first connection is made.

What Cadence cannot do is left out of ``CAPABILITIES`` (wfkit raises ``UnsupportedFeature`` naming it):
``update`` (Cadence has no workflow update), ``subsecond_timers`` (the server counts whole seconds; wfkit rounds
every duration up), ``schedules`` (no schedule API in Cadence v1.4), and ``advanced_visibility``, which is added
per connection when the server answers visibility queries (Elasticsearch/Pinot) and is absent on SQL visibility.
``replay`` is ``engine.replay(history, workflows)``.

Modules: ``_client`` (connecting, the client calls over the SDK's gRPC stubs), ``_visibility`` (the query
language on basic and advanced visibility), ``_worker`` (pollers), ``_workflow`` (wfkit workflows on the SDK's
workflow engine, the in-workflow API), ``_activity`` (activity attempts, heartbeats), ``_convert`` (payloads,
failures, retry policies, executions), ``_telemetry`` (spans through Cadence headers), ``devserver`` (the
embedded Cadence server).
"""

from __future__ import annotations

from typing import Any

CAPABILITIES = frozenset({
    "count", "replay", "side_effect", "memo", "signal_with_start", "reset", "terminate", "query",
    "continue_as_new", "child_workflows",
})


class CadenceEngine:
    name = "cadence"
    capabilities = CAPABILITIES

    async def connect(self, config: Any) -> Any:
        from ._client import connect

        return await connect(config)

    def history_proto_class(self) -> Any:
        """The engine's ``History`` protobuf message class (what ``wfkit.History.from_proto/to_proto`` use)."""
        from cadence.api.v1.history_pb2 import History

        return History

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> Any:
        from .devserver import CadenceDevServer

        return CadenceDevServer.start(port=port, db=db, domain=namespace, build=build)

    def replay(self, history: Any, workflows: list[Any], *, workflow_id: str = "replay") -> None:
        """Replay one run's Cadence history (a ``wfkit.History``, a ``cadence.api.v1`` History or its list of
        events) through the current code of ``workflows`` (``@wfkit.workflow`` classes).

        Raises:
            wfkit.NondeterminismError: the code no longer makes the decisions the history recorded.
        """
        from wfkit._definitions import workflow_defn
        from wfkit._errors import WfkitError as wfkit_error

        from . import _worker  # noqa: F401 - registers wfkit's in-workflow runtime for Cadence
        from ._workflow import replay

        if hasattr(history, "to_proto"):  # a wfkit.History
            if getattr(history, "engine", "cadence") != "cadence":
                raise wfkit_error(f"replay on Cadence needs a Cadence history, not a {history.engine} one")
            history = history.to_proto()
        events = list(history.events) if hasattr(history, "events") else list(history)
        replay(events, [workflow_defn(w) for w in workflows], workflow_id=workflow_id)

    def __repr__(self) -> str:
        return "<wfkit engine 'cadence'>"


engine = CadenceEngine()
