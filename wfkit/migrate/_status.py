"""What a migration's journal says, read without contacting any server (``plan.status()``, ``wfkit migrate
--status``): above all the workflows *in flight*, started on the target but not yet terminated on the source,
which run on both engines until the migration is run again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wfkit.migrate._checkpoint import JsonlCheckpoint, Record

STATUS_COLUMNS = ("workflow_id", "source_run_id", "target_run_id", "last_step", "since", "running_on", "error")
"""One row per workflow in flight."""

_FINISHED = ("terminated", "done", "skipped", "archived")


def _in_flight(wid: str, rec: Record) -> dict[str, Any] | None:
    steps = rec.get("steps") or []
    attempt = steps[len(steps) - 1 - steps[::-1].index("state"):] if "state" in steps else steps
    if any(rec.get(k) for k in _FINISHED) or not any(s in attempt for s in ("starting", "started", "confirmed")):
        return None
    if "terminating" in attempt:  # the terminate may have reached the source before the run stopped
        running_on = "target (the source may be terminated already)"
    elif rec.get("target_run_id") or "started" in attempt:
        running_on = "source and target"
    else:
        running_on = "source (a copy may have started on the target)"
    return {"workflow_id": wid, "source_run_id": rec.get("source_run_id"), "target_run_id": rec.get("target_run_id"),
            "last_step": steps[-1] if steps else None, "since": rec.get("updated"), "running_on": running_on,
            "error": rec.get("failed") or None}


class MigrationStatus:
    """A migration's journal, summed up: ``steps`` (how many workflows' latest step is each step), ``in_flight``
    (one dict per workflow on both engines right now, ``STATUS_COLUMNS``), ``to_dataframe()`` of those."""

    def __init__(self, checkpoint: str, header: dict[str, Any] | None, records: dict[str, Record]):
        self.checkpoint = checkpoint
        self.header = header or {}
        self.workflows = len(records)
        self.steps: dict[str, int] = {}
        for rec in records.values():
            last = (rec.get("steps") or [None])[-1]
            if last is not None:
                self.steps[last] = self.steps.get(last, 0) + 1
        self.in_flight = [row for wid, rec in records.items() if (row := _in_flight(wid, rec)) is not None]

    @property
    def exists(self) -> bool:
        """False when no run of this migration has written its journal yet."""
        return bool(self.header)

    def to_dataframe(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.in_flight, columns=list(STATUS_COLUMNS))

    def __repr__(self) -> str:
        if not self.exists:
            return f"<wfkit.MigrationStatus no journal yet at {self.checkpoint}>"
        steps = ", ".join(f"{n} {s}" for s, n in sorted(self.steps.items())) or "no steps"
        return (f"<wfkit.MigrationStatus {self.header.get('strategy')} {self.header.get('source')} -> "
                f"{self.header.get('target')}: {self.workflows} workflows ({steps}); {len(self.in_flight)} in flight "
                "(on both engines until the migration is run again)>")

    def _repr_html_(self) -> str:
        from wfkit.migrate._report import table_cells
        from wfkit.notebook.html import DISPLAY_LIMIT, render

        cols = list(STATUS_COLUMNS)
        rows = table_cells(self.in_flight[:DISPLAY_LIMIT], cols)
        return render("migration_status.html.j2", s=self, cols=cols, rows=rows, total=len(self.in_flight),
                      shown=len(rows), steps=sorted(self.steps.items()))


def read_status(path: str | os.PathLike[str]) -> MigrationStatus:
    """The status of the migration journaled at ``path`` (a file that does not exist yet: an empty status)."""
    header, records = JsonlCheckpoint.read(path) if Path(path).exists() else (None, {})
    return MigrationStatus(str(path), header, records)
