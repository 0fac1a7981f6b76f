"""The migration strategies, one class each, chosen by name from ``STRATEGY_CLASSES``."""

from __future__ import annotations

from wfkit.migrate._strategies.archive import Archive
from wfkit.migrate._strategies.base import PREVIEW_COLUMNS, Item, Strategy
from wfkit.migrate._strategies.drain import Drain
from wfkit.migrate._strategies.restart import MIGRATION_MEMO_KEY, Restart

STRATEGY_CLASSES: dict[str, type[Strategy]] = {s.name: s for s in (Restart, Drain, Archive)}

__all__ = ["MIGRATION_MEMO_KEY", "PREVIEW_COLUMNS", "STRATEGY_CLASSES", "Archive", "Drain", "Item", "Restart",
           "Strategy"]
