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

    def dev_server(self, *, port: int | None = None, db: str | None = None, build: bool = False,
                   namespace: str = "default") -> Any:
        from wfkit.devserver import TemporalDevServer

        return TemporalDevServer.start(port=port, db=db, namespace=namespace)

    def __repr__(self) -> str:
        return "<wfkit engine 'temporal'>"


engine = TemporalEngine()
