"""Many histories as one frame: histories_frame, diff and wfkit.analytics."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from wfkit import analytics
from wfkit.history._history import FRAME_DTYPES, History, diff, histories_frame

from . import FIXTURES

FILES = sorted(FIXTURES.glob("*/*.json"))
if not FILES:
    raise RuntimeError(f"no history fixtures under {FIXTURES}: they live in tests/fixtures/histories")


def synthetic(runs: int = 3) -> list[History]:
    """Small Temporal histories with retried, failed and slow activities (built as protos)."""
    tp = pytest.importorskip("temporalio.api.history.v1")
    from temporalio.api.common.v1 import ActivityType, WorkflowType
    from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
    from temporalio.api.history.v1 import message_pb2 as m

    out = []
    for r in range(runs):
        events = []

        def add(etype: int, ms: int, events: list = events, **attrs) -> int:
            ev = tp.HistoryEvent(event_id=len(events) + 1, event_type=etype, **attrs)
            ev.event_time.FromMilliseconds(1_700_000_000_000 + ms)
            events.append(ev)
            return ev.event_id

        add(1, 0, workflow_execution_started_event_attributes=m.WorkflowExecutionStartedEventAttributes(
            workflow_type=WorkflowType(name="Order" if r < 2 else "Refund"), original_execution_run_id=f"run-{r}"))
        for a, (kind, attempts, fails, secs) in enumerate([("charge", 1, False, 1), ("ship", 3, False, 5 + r),
                                                            ("notify", 2, True, 2)]):
            s = add(10, 10_000 * a, activity_task_scheduled_event_attributes=m.ActivityTaskScheduledEventAttributes(
                activity_id=str(a), activity_type=ActivityType(name=kind)))
            st = m.ActivityTaskStartedEventAttributes(scheduled_event_id=s, attempt=attempts)
            if attempts > 1:
                st.last_failure.CopyFrom(Failure(message="flaky", application_failure_info=ApplicationFailureInfo(
                    type="Flaky")))
            add(11, 10_000 * a + 100, activity_task_started_event_attributes=st)
            if fails:
                add(13, 10_000 * a + 100 + secs * 1000, activity_task_failed_event_attributes=(
                    m.ActivityTaskFailedEventAttributes(scheduled_event_id=s, failure=Failure(
                        message="gone", application_failure_info=ApplicationFailureInfo(type="NotFound")))))
            else:
                add(12, 10_000 * a + 100 + secs * 1000, activity_task_completed_event_attributes=(
                    m.ActivityTaskCompletedEventAttributes(scheduled_event_id=s)))
        if r == 2:
            add(3, 40_000, workflow_execution_failed_event_attributes=m.WorkflowExecutionFailedEventAttributes(
                failure=Failure(message="refund failed")))
        else:
            add(2, 40_000, workflow_execution_completed_event_attributes=m.WorkflowExecutionCompletedEventAttributes())
        out.append(History.from_proto(tp.History(events=events), engine="temporal", workflow_id=f"wf-{r}"))
    return out


def test_histories_frame_keeps_the_canonical_dtypes() -> None:
    hs = [History.from_json(f) for f in FILES]
    df = histories_frame(hs)
    assert len(df) == sum(len(h) for h in hs)
    assert {c: t for c, t in df.dtypes.items() if c != "event_type"} == \
        {c: t for c, t in FRAME_DTYPES.items() if c != "event_type"}
    assert isinstance(df["event_type"].dtype, pd.CategoricalDtype)
    assert set(df["run_id"].dropna()) == {h.run_id for h in hs}
    assert str(df["payload"].dtype) == "wfkit_lazy"
    assert histories_frame([]).columns.tolist() == list(FRAME_DTYPES)
    assert len(histories_frame(hs[:2], progress=False)) == len(hs[0]) + len(hs[1])


def test_histories_frame_unions_unknown_event_types() -> None:
    doc = json.loads((FIXTURES / "temporal" / "test_replayer_event_tracing.json").read_text())
    doc["events"][5]["eventType"] = "EVENT_TYPE_SOMETHING_NEW"
    doc["events"][5]["somethingNewEventAttributes"] = doc["events"][5].pop("timerStartedEventAttributes")
    a = History.from_json(json.dumps(doc))
    b = History.from_json(FIXTURES / "cadence" / "greetings.json")
    df = histories_frame([a, b])
    assert isinstance(df["event_type"].dtype, pd.CategoricalDtype)
    assert "SomethingNew" in df["event_type"].cat.categories and (df["event_type"] == "SomethingNew").sum() == 1


def test_workflows_and_latency() -> None:
    df = histories_frame(synthetic())
    wf = analytics.workflows(df)
    assert wf["workflow_type"].tolist() == ["Order", "Order", "Refund"]
    assert wf["status"].tolist() == ["completed", "completed", "failed"]
    assert (wf["duration"] == pd.Timedelta(seconds=40)).all()
    lat = analytics.latency(df)
    assert set(lat.columns) >= {"kind", "type", "metric", "count", "p50", "p90", "p95", "p99", "max"}
    ship = lat[(lat["type"] == "ship") & (lat["metric"] == "run_time")].iloc[0]
    assert ship["count"] == 3 and ship["p50"] == pd.Timedelta(seconds=6) and ship["max"] == pd.Timedelta(seconds=7)
    order = lat[(lat["kind"] == "workflow") & (lat["type"] == "Order")].iloc[0]
    assert order["count"] == 2 and order["p50"] == pd.Timedelta(seconds=40)


def test_retries_failures_slowest() -> None:
    df = histories_frame(synthetic())
    r = analytics.retries(df).set_index("activity_type")
    assert r.loc["ship", "retried"] == 3 and r.loc["ship", "extra_attempts"] == 6
    assert r.loc["ship", "max_attempts"] == 3 and r.loc["charge", "retried"] == 0
    assert r.loc["notify", "failed"] == 3 and r.loc["notify", "retry_rate"] == 1.0
    f = analytics.failures(df)
    top = f.set_index(["event_type", "type"])
    assert top.loc[("ActivityTaskFailed", "notify"), "failure"] == "NotFound: gone"
    assert top.loc[("ActivityTaskFailed", "notify"), "runs"] == 3
    assert top.loc[("ActivityTaskStarted", "ship"), "count"] == 3  # earlier attempts' failures
    assert top.loc[("WorkflowExecutionFailed", "Refund"), "failure"] == "refund failed"
    s = analytics.slowest(df, 2)
    assert s["activity_type"].tolist() == ["ship", "ship"] and s["workflow_id"].tolist() == ["wf-2", "wf-1"]
    assert list(s.columns[:3]) == ["workflow_id", "run_id", "workflow_type"]
    a = analytics.activities(df)
    assert len(a) == 9 and a["attempts"].sum() == 18


def test_analytics_on_fixtures_and_empty_frames() -> None:
    df = histories_frame([History.from_json(f) for f in FILES])
    assert len(analytics.workflows(df)) == len(FILES)
    assert len(analytics.latency(df)) > 0
    assert analytics.failures(df).empty
    assert analytics.retries(df)["retried"].sum() == 0
    empty = histories_frame([])
    assert analytics.latency(empty).empty and analytics.failures(empty).empty and analytics.retries(empty).empty
    with pytest.raises(ValueError):
        analytics.slowest(df, by="speed")


def test_diff() -> None:
    a = History.from_json(FIXTURES / "temporal" / "test_replayer_complete_history.json")
    b = History.from_json(FIXTURES / "temporal" / "test_replayer_nondeterministic_history.json")
    assert diff(a, a).empty
    d = diff(a, b)
    assert d.index.name == "event_id"
    assert list(d.columns.get_level_values(1)[:2]) == ["left", "right"]
    c = History.from_json(FIXTURES / "cadence" / "basic.json")
    n = History.from_json(FIXTURES / "cadence" / "basic_new.json")
    d = diff(c, n)
    assert len(d) >= 1 and d[("event_type", "left")].iloc[0] != d[("event_type", "right")].iloc[0]
    one_more = diff(c, n)[("event_type", "left")].isna().sum()
    assert one_more == 1  # basic_new has one event more
    same_engine_other_format = History.from_json(c.to_json("wfkit"))
    assert diff(c, same_engine_other_format).empty
    assert diff(c.to_dataframe(), same_engine_other_format.to_dataframe()).empty
