"""Every real history fixture loads, frames with the canonical dtypes, and round-trips in every format."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from wfkit.history._history import FRAME_COLUMNS, FRAME_DTYPES, History

from . import FIXTURES

temporalio = pytest.importorskip("temporalio")
from temporalio import activity, workflow  # noqa: E402 - only once importorskip found temporalio

matplotlib.use("Agg")

FILES = sorted(FIXTURES.glob("*/*.json"))
if not FILES:
    raise RuntimeError(f"no history fixtures under {FIXTURES}: they live in tests/fixtures/histories")
IDS = [f"{f.parent.name}/{f.name}" for f in FILES]
LEGACY = {"test_replayer_complete_history.json", "test_replayer_nondeterministic_history.json"}
CANON = ["event_id", "event_type", "category", "activity_id", "activity_type", "timer_id", "signal_name",
         "attempt", "related_event_id"]


def raw_events(path: Path) -> list:
    doc = json.loads(path.read_text())
    return doc["events"] if isinstance(doc, dict) else doc


def same_frames(a: pd.DataFrame, b: pd.DataFrame, columns: list[str]) -> None:
    pd.testing.assert_frame_equal(a[columns].reset_index(drop=True), b[columns].reset_index(drop=True))


@pytest.fixture(params=FILES, ids=IDS)
def path(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_loads_and_frames_with_the_canonical_dtypes(path: Path) -> None:
    h = History.from_json(path)
    df = h.to_dataframe()
    assert tuple(df.columns) == FRAME_COLUMNS
    assert dict(df.dtypes) == FRAME_DTYPES
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    events = raw_events(path)
    assert len(h) == len(df) == len(events)
    assert df["event_id"].tolist() == [int(e["eventId"]) for e in events]
    assert not df["time"].isna().any()
    if "timestamp" in events[0]:
        expected = pd.to_datetime([int(e["timestamp"]) for e in events], unit="ns", utc=True)
    else:
        expected = pd.to_datetime([e["eventTime"] for e in events], format="ISO8601", utc=True)
    assert (df["time"].to_numpy() == expected.as_unit("ns").to_numpy()).all()
    assert df["event_type"].notna().all() and df["category"].notna().all()
    assert not df["event_type"].astype(str).str.startswith("DecisionTask").any()
    assert (df["attempt"].dropna() >= 1).all()
    assert h.engine == path.parent.name
    assert h.run_id and h.run_id == events[0]["workflowExecutionStartedEventAttributes"]["originalExecutionRunId"]


def test_dialect_is_detected(path: Path) -> None:
    h = History.from_json(path.read_text())
    expected = "temporal-legacy" if path.name in LEGACY else path.parent.name
    assert h.source_format == expected


def test_native_json_round_trip_is_lossless(path: Path) -> None:
    h = History.from_json(path)
    out = json.loads(h.to_json(h.engine))
    original = json.loads(path.read_text())
    if path.name in LEGACY:  # written as modern proto-JSON: the same history for temporalio
        from temporalio.client import WorkflowHistory

        assert WorkflowHistory.from_json("w", out).events == WorkflowHistory.from_json("w", original).events
    else:
        assert out == original


@pytest.mark.parametrize("fmt", ["temporal", "cadence", "wfkit"])
def test_every_format_round_trips(path: Path, fmt: str) -> None:
    h = History.from_json(path)
    text = h.to_json(fmt)
    h2 = History.from_json(text)
    assert json.loads(h2.to_json(fmt)) == json.loads(text)  # reading what we wrote loses nothing
    df, df2 = h.to_dataframe(), h2.to_dataframe()
    assert dict(df2.dtypes) == FRAME_DTYPES
    assert (df["time"] == df2["time"]).all()
    assert df["event_type"].tolist() == df2["event_type"].tolist()
    if fmt in (h.engine, "wfkit"):  # same engine: every column matches
        same_frames(df, df2, [c for c in FRAME_COLUMNS if c not in ("payload", "attributes")])
        assert df["payload"].tolist() == df2["payload"].tolist()
        assert df["attributes"].tolist() == df2["attributes"].tolist()
    else:  # the other engine's model: the canonical columns still match
        same_frames(df, df2, ["event_id", "event_type", "category", "activity_id", "activity_type", "timer_id",
                              "signal_name", "task_queue"])


def test_wfkit_json_converts_back_to_native_without_loss(path: Path) -> None:
    h = History.from_json(path)
    back = History.from_json(History.from_json(h.to_json("wfkit")).to_json("wfkit"))
    assert back.engine == h.engine and back.run_id == h.run_id
    assert json.loads(back.to_json(h.engine)) == json.loads(h.to_json(h.engine))


def test_temporalio_reads_our_temporal_json(path: Path) -> None:
    from temporalio.client import WorkflowHistory

    h = History.from_json(path)
    wh = WorkflowHistory.from_json("wf-1", h.to_json("temporal"))
    assert len(wh.events) == len(h)
    ours = History.from_proto(wh, engine="temporal")
    assert ours.workflow_id == "wf-1"
    assert ours.to_dataframe()["event_type"].tolist() == h.to_dataframe()["event_type"].tolist()


def test_proto_path_gives_the_same_frame(path: Path) -> None:
    from google.protobuf.json_format import ParseDict

    h = History.from_json(path, workflow_id="wf-7")
    if h.engine == "temporal":
        from temporalio.client import WorkflowHistory

        proto = WorkflowHistory.from_json("wf-7", h.to_json("temporal"))
    else:
        from cadence.api.v1.history_pb2 import History as CadenceHistory

        from wfkit.history.dialects._cadence_convert import cadence_cli_event_to_proto

        proto = ParseDict({"events": [cadence_cli_event_to_proto(e) for e in raw_events(path)]}, CadenceHistory(),
                          ignore_unknown_fields=True)
    hp = History.from_proto(proto, engine=h.engine, workflow_id=h.workflow_id)
    cols = [c for c in FRAME_COLUMNS if c not in ("payload", "attributes")]
    same_frames(h.to_dataframe(), hp.to_dataframe(), cols)
    assert h.to_dataframe()["payload"].tolist() == hp.to_dataframe()["payload"].tolist()
    assert len(hp.to_proto().events) == len(h)


def test_cadence_cli_json_maps_onto_cadence_protos_strictly() -> None:
    """Our CLI <-> cadence.api.v1 mapping produces valid protos (no unknown field) and maps back."""
    from cadence.api.v1.history_pb2 import History as CadenceHistory
    from google.protobuf.json_format import MessageToDict, ParseDict

    from wfkit.history.dialects._cadence_convert import cadence_cli_event_to_proto, cadence_proto_event_to_cli

    quirks = {"PartitionConfig", "firstScheduleTimeNano"}  # newer CLIs' spellings, mapped one way only
    for f in (FIXTURES / "cadence").glob("*.json"):
        events = raw_events(f)
        proto = ParseDict({"events": [cadence_cli_event_to_proto(e) for e in events]}, CadenceHistory())
        for original, ev in zip(events, proto.events, strict=False):
            back = cadence_proto_event_to_cli(MessageToDict(ev))
            attrs = next(k for k in original if k.endswith("EventAttributes"))
            expected = {k: v for k, v in original[attrs].items() if k not in quirks and v not in (0, "", {}, None)}
            got = {k: v for k, v in back.get(attrs, {}).items()
                   if k not in ("partitionConfig", "firstScheduledTimeNano") and v not in (0, "", {}, None)}
            assert got == expected, (f.name, original["eventId"])


# The workflow of temporalio's replayer-test histories (type SayHelloWorkflow, activity say_hello).
@activity.defn(name="say_hello")
async def say_hello(name: str) -> str:
    return f"Hello, {name}!"


@dataclass
class SayHelloParams:
    name: str
    should_wait: bool = False
    should_error: bool = False
    should_cause_nondeterminism: bool = False


@workflow.defn(name="SayHelloWorkflow", sandboxed=False)
class SayHello:
    @workflow.run
    async def run(self, params: SayHelloParams) -> str:
        result = await workflow.execute_activity(say_hello, params.name,
                                                 schedule_to_close_timeout=timedelta(seconds=60))
        if params.should_cause_nondeterminism and workflow.unsafe.is_replaying():
            await asyncio.sleep(0.1)  # a timer that the recorded history does not have
        return result


def test_replays_in_the_temporal_replayer() -> None:
    """A Temporal JSON written by wfkit (from wfkit JSON) replays in temporalio's Replayer, and a
    nondeterministic one still fails there."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

    def rewritten(name: str) -> WorkflowHistory:
        h = History.from_json(FIXTURES / "temporal" / name)
        text = History.from_json(h.to_json("wfkit")).to_json("temporal")
        return WorkflowHistory.from_json("wf", text)

    async def main() -> None:
        replayer = Replayer(workflows=[SayHello], workflow_runner=UnsandboxedWorkflowRunner())
        await replayer.replay_workflow(rewritten("test_replayer_complete_history.json"))
        with pytest.raises(workflow.NondeterminismError):
            await replayer.replay_workflow(rewritten("test_replayer_nondeterministic_history.json"))

    asyncio.run(main())


# --- what the fixtures contain --------------------------------------------------------------------------------------

def load(name: str) -> History:
    return History.from_json(next(f for f in FILES if f.name == name))


def test_activities_on_cadence_greetings() -> None:
    acts = load("greetings.json").activities()
    assert list(acts.columns) == ["activity_id", "activity_type", "scheduled_time", "started_time", "closed_time",
                                  "status", "attempts", "schedule_to_start", "run_time", "total", "last_failure"]
    assert len(acts) == 3
    assert acts["status"].astype(str).tolist() == ["completed"] * 3
    assert acts["attempts"].tolist() == [1, 1, 1]  # Cadence counts attempts from 0; wfkit from 1
    assert str(acts["total"].dtype) == "timedelta64[ns]"
    assert (acts["total"] == acts["schedule_to_start"] + acts["run_time"]).all()
    assert acts["activity_type"].str.startswith("main.").all()


def test_activities_on_temporal_cancellation() -> None:
    acts = load("test_replayer_swallowed_activity_cancellation.json").activities()
    assert len(acts) >= 2 and acts["activity_type"].eq("short_activity_async").all()
    assert set(acts["status"].astype(str)) <= {"completed", "started", "scheduled", "canceled"}


def test_timers() -> None:
    t = load("timer.json").timers()
    assert t["status"].astype(str).tolist() == ["canceled"]
    assert t["duration"].tolist() == [pd.Timedelta(seconds=3)]
    tt = load("test_replayer_event_tracing.json").timers()
    assert tt["status"].astype(str).tolist() == ["fired"]
    assert tt["duration"].tolist() == [pd.Timedelta(milliseconds=100)]
    assert (tt["elapsed"] > pd.Timedelta(0)).all()


def test_signals() -> None:
    s = load("test_replayer_event_tracing.json").signals()
    assert s["signal_name"].tolist() == ["dosig", "dosig"]
    assert s["payload"].tolist() == ["before", "1"]


def test_summary_input_result() -> None:
    h = load("test_replayer_complete_history.json")
    s = h.summary()
    assert s["status"] == "completed" and s["workflow_type"] == "SayHelloWorkflow"
    assert s["activities"] == 1 and s["events"] == 11 and s["duration"] >= pd.Timedelta(0)
    assert h.input() == {"name": "Temporal", "should_cause_nondeterminism": False, "should_error": False,
                         "should_wait": False}
    assert h.result() == "Hello, Temporal!"
    c = load("continue_as_new.json").summary()
    assert c["status"] == "continued_as_new" and c["engine"] == "cadence"
    assert load("greetings.json").result() is None  # completed with an empty result


def test_unknown_and_engine_only_event_types_are_kept() -> None:
    df = load("test_replayer_event_tracing.json").to_dataframe()
    assert {"WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted"} <= set(df["event_type"])
    assert (df.loc[df["event_type"] == "WorkflowExecutionUpdateAccepted", "category"] == "other").all()
    upd = df[df["event_type"] == "WorkflowExecutionUpdateAccepted"].iloc[0]
    assert upd["attributes"]["acceptedRequest"]["input"]["name"] == "doupdate"
    assert upd["payload"] == "1"


def test_plot_timeline_returns_axes() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    for name in ("greetings.json", "timer.json", "child_bug.json", "test_replayer_event_tracing.json"):
        ax = load(name).plot_timeline()
        assert isinstance(ax, Axes)
        assert ax.get_yticklabels()
        plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert load("greetings.json").plot_timeline(ax=ax) is ax
    plt.close(fig)


def test_repr_does_no_io_and_frames_display() -> None:
    h = load("greetings.json")
    assert repr(h).startswith("<History cadence") and "events=23" in repr(h)
    text = h.to_dataframe()[["event_type", "engine_event_type", "payload", "attributes"]].to_string()
    assert "WorkflowTaskScheduled" in text and "DecisionTaskScheduled" in text and "Cadence" in text
    assert [e.event_id for e in h][:3] == [1, 2, 3]
    assert h[0].event_type == "WorkflowExecutionStarted"


def test_same_run_on_both_engines_compares_equal_on_canonical_columns() -> None:
    """A Cadence history converted to Temporal JSON frames like the original (modulo the engine name)."""
    h = load("branch.json")
    t = History.from_json(h.to_json("temporal"))
    same_frames(h.to_dataframe(), t.to_dataframe(), CANON + ["task_queue", "identity", "failure"])
    assert np.array_equal(h.to_dataframe()["payload"].to_numpy(), t.to_dataframe()["payload"].to_numpy())
