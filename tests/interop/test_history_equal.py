"""The same saga on both engines gives histories whose canonical columns compare equal (ids and times aside)."""

from __future__ import annotations

import uuid

import pandas as pd

import wfkit
from wfkit.examples import orders
from wfkit.history._history import FRAME_DTYPES

CANONICAL = ["event_type", "category", "activity_type", "timer_id", "signal_name", "attempt"]


async def _run(url: str, order: orders.Order) -> wfkit.History:
    tq = f"eq-{uuid.uuid4().hex[:8]}"
    async with await wfkit.connect(url) as client:
        async with client.worker(task_queue=tq, workflows=orders.WORKFLOWS, activities=orders.ACTIVITIES):
            h = await client.start(orders.OrderWorkflow, order, task_queue=tq)
            await h.result(timeout=60)
        return await h.history()


async def test_saga_histories_equal_across_engines(temporal_server, cadence_server):
    for order in (orders.Order("eq1", "ada", [orders.Item("book")], 3.0),
                  orders.Order("eq2", "bob", [orders.Item(orders.OUT_OF_STOCK)], 4.0)):
        th, ch = await _run(temporal_server.url, order), await _run(cadence_server.url, order)
        t, c = th.to_dataframe(), ch.to_dataframe()
        assert dict(t.dtypes.astype(str)) == dict(c.dtypes.astype(str)) == {k: str(v) for k, v in FRAME_DTYPES.items()}
        pd.testing.assert_frame_equal(t[CANONICAL].astype(str), c[CANONICAL].astype(str))
        cols = ["activity_type", "status", "attempts"]
        pd.testing.assert_frame_equal(th.activities()[cols].reset_index(drop=True),
                                      ch.activities()[cols].reset_index(drop=True))
