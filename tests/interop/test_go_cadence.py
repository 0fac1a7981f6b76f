"""wfkit next to a Go worker and client on go.uber.org/cadence (gRPC transport): each drives and reads the
other's workflows on the same Cadence server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import wfkit
import wfkit.analytics
from wfkit.examples import orders
from wfkit.testing import eventually


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _go_result(gocadence, workflow_id: str) -> dict:
    return await asyncio.to_thread(gocadence, "result", id=workflow_id)


async def test_go_failure_messages_in_frames_and_analytics(gocadence, cadence):
    """A Go errors.New message (non-JSON details under reason cadenceInternal:Generic) and a Go custom error
    (reason + JSON details) read the same in result(), the failure column, activities() and analytics."""
    tl = wid("go-tl")
    with gocadence.worker(tl):
        plain = gocadence("start", tasklist=tl, type="main.GoFailing", id=wid("go-plain"), input="false")
        custom = gocadence("start", tasklist=tl, type="main.GoFailing", id=wid("go-custom"), input="true")
        for started in (plain, custom):
            assert "error" in await _go_result(gocadence, started["workflow_id"])
    h = cadence.handle(plain["workflow_id"])
    with pytest.raises(wfkit.WorkflowFailed) as info:
        await h.result(timeout=10)
    assert "disk full while writing /var/data" in str(info.value.cause)
    hist = await h.history()
    frame = hist.to_dataframe()
    failed = frame[frame["event_type"] == "ActivityTaskFailed"]["failure"].tolist()
    assert failed and all("disk full while writing /var/data" in f for f in failed), failed
    assert "disk full while writing /var/data" in hist.activities()["last_failure"].iloc[0]
    ch = await cadence.handle(custom["workflow_id"]).history()
    cframe = ch.to_dataframe()
    cfailed = cframe[cframe["event_type"].isin(["ActivityTaskFailed", "WorkflowExecutionFailed"])]["failure"]
    assert cfailed.tolist() == ['InsufficientFunds: {"balance":3,"needed":10}'] * 2
    assert ch.activities()["last_failure"].tolist() == ['InsufficientFunds: {"balance":3,"needed":10}']
    with pytest.raises(wfkit.WorkflowFailed) as cinfo:
        await cadence.handle(custom["workflow_id"]).result(timeout=10)
    assert cinfo.value.cause.type == "InsufficientFunds"
    assert cinfo.value.cause.details == ({"balance": 3, "needed": 10},)
    # the Cadence CLI's JSON of the same histories reads the same
    for one, f in ((hist, frame), (ch, cframe)):
        again = wfkit.History.from_json(one.to_json(format="cadence")).to_dataframe()
        assert again["failure"].tolist() == f["failure"].tolist()
    failures = wfkit.analytics.failures(wfkit.histories_frame([hist, ch]))
    text = " ".join(map(str, failures.to_numpy().ravel()))
    assert "disk full while writing /var/data" in text and '"balance":3' in text, failures
