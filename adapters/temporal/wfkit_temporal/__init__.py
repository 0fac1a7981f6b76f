"""wfkit's Temporal engine (temporalio). Registered as the ``temporal`` entry of ``wfkit.engines``.

Importing this package is cheap: temporalio loads when the first connection is made.
"""

from __future__ import annotations

from typing import Any

CAPABILITIES = frozenset({
    "subsecond_timers", "update", "advanced_visibility", "count", "replay", "side_effect", "memo",
    "signal_with_start", "reset", "terminate", "query", "continue_as_new", "child_workflows", "schedules",
})


class TemporalEngine:
    name = "temporal"
    capabilities = CAPABILITIES

    async def connect(self, config: Any) -> Any:
        from ._client import connect

        return await connect(config)

    def history_proto_class(self) -> Any:
        """The engine's ``History`` protobuf message class (what ``wfkit.History.from_proto/to_proto`` use)."""
        from temporalio.api.history.v1 import History

        return History

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> Any:
        from wfkit.devserver import TemporalDevServer

        return TemporalDevServer.start(port=port, db=db, namespace=namespace)

    async def replay_histories(self, histories: list[tuple[str, dict[str, Any]]],
                               workflows: list[Any]) -> list[BaseException | None]:
        """Replay Temporal JSON history documents (``(workflow_id, doc)``) through the current code of
        ``workflows`` (wfkit ``WorkflowDefn``s) with temporalio's Replayer; per history, the failure or None."""
        from ._worker import replay_histories

        return await replay_histories(histories, workflows)

    def __repr__(self) -> str:
        return "<wfkit engine 'temporal'>"


engine = TemporalEngine()
