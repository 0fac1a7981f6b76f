"""``wfkit.replay``: run recorded histories through the current workflow code, with an engine's own replayer.

The core only gathers the histories and reports: each engine plugin replays (``Engine.replay``), converting a
history recorded by another engine into what its own SDK would have written, or saying why it cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._definitions import workflow_defn
from ._engines import get_engine
from ._errors import NotConvertible, UnsupportedFeature, WfkitError
from ._loop import on_loop
from .engine import Capability

__all__ = ["REPLAY_COLUMNS", "NotConvertible", "replay", "replayable_json"]

REPLAY_COLUMNS = ("workflow_id", "run_id", "workflow_type", "source_engine", "ok", "error")

DEFAULT_ENGINE = "temporal"


async def replay(histories: Any, workflows: Sequence[type], engine: str = DEFAULT_ENGINE) -> Any:
    """Replay ``histories`` through the current code of ``workflows`` with ``engine``'s replayer.

    Args:
        histories: ``wfkit.History`` objects (of any engine; one, or any iterable), or JSON texts/paths that
            ``History.from_json`` reads.
        workflows: the workflow classes the histories were recorded by (current code): ``@wfkit.workflow``
            classes, and classes of the engine's own SDK (temporalio's ``@workflow.defn`` on Temporal), replayed
            as they are, so that existing code can be gated with wfkit's reports.
        engine: the engine plugin whose replayer runs them (``"temporal"``, ``"cadence"``, …).

    Returns:
        A DataFrame, one row per history: ``workflow_id, run_id, workflow_type, source_engine, ok, error``
        (``error`` says what diverged, or why a history could not be replayed).

    Raises:
        UnsupportedFeature: the engine has no replayer.
    """
    from wfkit.history import History

    if isinstance(histories, (History, str, bytes)):
        histories = [histories]
    hs = [h if isinstance(h, History) else History.from_json(h) for h in histories]
    if not workflows:
        raise WfkitError("replay: give the workflow classes to replay against (workflows=[...])")
    plugin = get_engine(engine)
    if Capability.REPLAY not in plugin.capabilities:
        raise UnsupportedFeature(engine, Capability.REPLAY)
    defns: list[Any] = []
    names: set[str] = set()
    for w in workflows:
        if hasattr(w, "__wfkit_workflow__"):
            d = workflow_defn(w)
            defns.append(d)
            names.add(d.name)
            continue
        native = plugin.native_workflow_name(w) if isinstance(w, type) else None
        if native is None:
            raise WfkitError(f"replay: {getattr(w, '__qualname__', w)!r} is neither a @wfkit.workflow class nor a "
                             f"workflow class of the {engine} engine's own SDK")
        defns.append(w)
        names.add(native)
    rows: list[dict[str, Any] | None] = [None] * len(hs)
    todo = []
    for i, h in enumerate(hs):
        if h.workflow_type not in names:
            rows[i] = _row(h, False, f"no workflow named {h.workflow_type!r} among {sorted(names)}")
        else:
            todo.append(i)
    if todo:
        failures = await on_loop(plugin.replay([hs[i] for i in todo], defns))
        for i, failure in zip(todo, failures, strict=True):
            rows[i] = _row(hs[i], failure is None, None if failure is None else _failure_text(failure))
    import pandas as pd

    df = pd.DataFrame([r for r in rows if r is not None], columns=list(REPLAY_COLUMNS))
    df["ok"] = df["ok"].astype(bool)
    return df


def replayable_json(h: Any, engine: str, *, indent: int | None = None) -> str:
    """``h`` as ``engine``'s native history JSON that ``engine``'s own tools and replayer read (converted when
    another engine recorded it).

    Raises:
        WfkitError: the history records something ``engine`` has no equivalent for (side effects).
    """
    return get_engine(engine).native_history_json(h, indent=indent)


def _failure_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def _row(h: Any, ok: bool, error: str | None) -> dict[str, Any]:
    return {"workflow_id": h.workflow_id, "run_id": h.run_id, "workflow_type": h.workflow_type,
            "source_engine": h.engine, "ok": ok, "error": error}
