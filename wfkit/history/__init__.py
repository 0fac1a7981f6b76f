"""Histories as data: one run's events in a canonical form, whatever engine or JSON dialect recorded them.

Public names: :class:`History`, :class:`Event`, :func:`histories_frame`, :func:`diff`, :data:`FRAME_COLUMNS`,
:data:`FRAME_DTYPES`, :class:`HistoryFormatError` and :func:`read_histories` (a Parquet dataset of
history rows back as a frame). Engine differences (event names, time keys, attempt base,
JSON shapes, conversion rules) live in :mod:`wfkit.history.dialects`, one module per engine.

Importing this package loads pandas; ``import wfkit`` does not import it until a history is used.
"""

from __future__ import annotations

from wfkit._errors import HistoryFormatError
from wfkit.history._history import FRAME_COLUMNS, FRAME_DTYPES, Event, History, diff, histories_frame
from wfkit.history._parquet import read_histories
from wfkit.history._payload import register_protobuf

__all__ = ["FRAME_COLUMNS", "FRAME_DTYPES", "Event", "History", "HistoryFormatError", "diff", "histories_frame",
           "read_histories", "register_protobuf"]
