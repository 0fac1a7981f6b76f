"""The conformance suite again on the local engine with time skipping on (``local://?time=skip``): workflows that
wait on timers must behave the same when the clock jumps.

Left out: the tests that act on a workflow while it sits in a long timer (the order saga's 60 s review, a
3600 s sleeper, an activity retrying every few seconds for minutes): with time skipping those timers fire at
once, which is the point of it. ``test_local_conformance.py`` runs them on the real-time clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import wfkit
from wfkit.testing.conformance.test_core import *  # noqa: F403
from wfkit.testing.conformance.test_operate import *  # noqa: F403

for _name in ("test_order_saga_all_paths", "test_retrying_activity_is_described_and_diagnosed",
              "test_timer_signal_and_child_waits_are_diagnosed", "test_batch_signal_reset_cancel_terminate"):
    del globals()[_name]


@pytest.fixture(scope="session")
def engine() -> str:
    return "local"


@pytest.fixture(scope="session")
async def client() -> AsyncIterator[wfkit.Client]:
    c = await wfkit.connect("local://?time=skip")
    yield c
    await c.close()
