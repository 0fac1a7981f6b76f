"""What a migration run did: one row per workflow (``MigrationReport.frame``) and its counts
(``MigrationStats``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfkit.migrate._plan import MigrationPlan
    from wfkit.migrate._strategies.base import Item

REPORT_COLUMNS = ("workflow_id", "workflow_type", "action", "status", "outcome", "error", "source_run_id",
                  "target_run_id", "signals_forwarded", "started_at", "finished_at", "state_seconds",
                  "start_seconds", "terminate_seconds", "forward_seconds", "duration")

Row = dict[str, Any]
"""One workflow's row of the report, filled in by its strategy's ``run_one``."""


@dataclasses.dataclass
class MigrationStats:
    """Counts of a migration run (``report.stats``)."""

    total: int = 0
    """Workflows the run looked at."""
    successful: int = 0
    """Migrated (restart), archived (archive), finished on the source (drain) — or, in a dry run, would be."""
    failed: int = 0
    """Could not be migrated; ``report.frame.error`` says why (a rerun tries them again)."""
    skipped: int = 0
    """Nothing to do: already on the target, closed, blocked by the plan, or finished during the run."""
    pending: int = 0
    """drain: still open on the source."""


def new_row(item: Item) -> Row:
    """The row of a workflow whose migration starts now (failed until its strategy says otherwise)."""
    return {"workflow_id": item.workflow_id, "workflow_type": item.workflow_type, "action": item.action,
            "status": "failed", "outcome": "", "error": None, "source_run_id": item.run_id,
            "target_run_id": None, "signals_forwarded": 0, "started_at": datetime.now(UTC), "finished_at": None}


class MigrationReport:
    """What ``MigrationPlan.run`` did: ``stats`` (a ``MigrationStats``) and ``frame`` (one row per workflow:
    workflow_id, workflow_type, action, status — successful/failed/skipped/pending —, outcome, error,
    source_run_id, target_run_id, signals_forwarded, started_at, finished_at, duration)."""

    def __init__(self, plan: MigrationPlan, rows: list[Row], *, dry_run: bool, elapsed: float,
                 checkpoint: str | None, archive_dir: str | None = None,
                 manifest: dict[str, Any] | None = None):
        import pandas as pd

        self.plan = plan
        self.strategy = plan.strategy
        self.dry_run = dry_run
        self.elapsed = elapsed
        """Seconds the run took."""
        self.checkpoint = checkpoint
        """The journal's path (None: the run kept none)."""
        df = pd.DataFrame(rows, columns=list(REPORT_COLUMNS[:-1]))
        for c in ("state_seconds", "start_seconds", "terminate_seconds", "forward_seconds"):
            df[c] = df[c].astype("float64")
        for c in ("started_at", "finished_at"):
            df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
        df["duration"] = (df["finished_at"] - df["started_at"]).astype("timedelta64[ns]")
        df["signals_forwarded"] = df["signals_forwarded"].astype("int64")
        self.frame = df
        st = df["status"].value_counts()
        self.stats = MigrationStats(total=len(df), successful=int(st.get("successful", 0)),
                                    failed=int(st.get("failed", 0)), skipped=int(st.get("skipped", 0)),
                                    pending=int(st.get("pending", 0)))
        self.archive_dir = archive_dir
        """archive: where the files are."""
        self.manifest = manifest
        """archive: the ``manifest.json`` this run wrote (None for a dry run)."""
        self.router = plan.router

    @property
    def rate(self) -> float:
        """Workflows handled per second."""
        return self.stats.total / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining(self) -> list[str]:
        """drain: workflow IDs still open on the source."""
        return list(self.frame.loc[self.frame["status"] == "pending", "workflow_id"])

    @property
    def failures(self) -> Any:
        """The rows that failed."""
        return self.frame[self.frame["status"] == "failed"]

    def __repr__(self) -> str:
        s = self.stats
        dry = " (dry run)" if self.dry_run else ""
        pend = f", {s.pending} pending" if s.pending else ""
        return (f"<wfkit.MigrationReport {self.strategy}{dry}: {s.total} total, {s.successful} successful, "
                f"{s.failed} failed, {s.skipped} skipped{pend} in {self.elapsed:.1f} s>")

    def _repr_html_(self) -> str:
        from wfkit.notebook.html import DISPLAY_LIMIT, render

        cols = ["workflow_id", "workflow_type", "action", "status", "outcome", "error", "target_run_id",
                "signals_forwarded", "duration"]
        rows = table_cells(self.frame[cols].head(DISPLAY_LIMIT).to_dict("records"), cols)
        return render("migration_report.html.j2", r=self, stats=dataclasses.asdict(self.stats),
                      plan_head=repr(self.plan), cols=cols, rows=rows, total=len(self.frame), shown=len(rows))


def table_cells(records: list[dict[str, Any]], cols: list[str]) -> list[list[str]]:
    """The text of each cell of an HTML table (lists joined, missing values blank; escaping is the
    template's)."""
    import pandas as pd

    def text(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return ", ".join(map(str, v))
        if v is None or (not isinstance(v, (dict, set)) and bool(pd.isna(v))):
            return ""
        return str(v)

    return [[text(r.get(c)) for c in cols] for r in records]
