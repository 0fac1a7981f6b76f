"""History read from JSON → the engine's proto → History again gives the same frame (every fixture)."""

from __future__ import annotations

import pandas as pd
import pytest

import wfkit

from . import FIXTURES

FILES = sorted(FIXTURES.glob("*/*.json"))
COLUMNS = ["event_id", "time", "event_type", "engine_event_type", "category", "activity_id", "activity_type",
           "timer_id", "signal_name", "attempt", "task_queue", "identity", "related_event_id"]


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_json_to_proto_and_back(path):
    h = wfkit.History.from_json(path)
    again = wfkit.History.from_proto(h.to_proto(), engine=h.engine, workflow_id=h.workflow_id)
    pd.testing.assert_frame_equal(h.to_dataframe()[COLUMNS], again.to_dataframe()[COLUMNS])


def test_fixtures_are_there():
    assert len(FILES) >= 20, f"expected the shared history fixtures in {FIXTURES}"
