"""JSON dialects, detection, errors, payload decoding, protos and the lazy columns."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wfkit._errors import HistoryFormatError
from wfkit.history._history import FRAME_DTYPES, History
from wfkit.history._json import WFKIT_FORMAT_DOC, detect_format
from wfkit.history._lazy import LazyArray
from wfkit.history._payload import Opaque

from . import FIXTURES

if not FIXTURES.is_dir():
    raise RuntimeError(f"no history fixtures under {FIXTURES}: they live in tests/fixtures/histories")
TRACING = json.loads((FIXTURES / "temporal" / "test_replayer_event_tracing.json").read_text())
GREETINGS = json.loads((FIXTURES / "cadence" / "greetings.json").read_text())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def payload(data: bytes, encoding: bytes = b"json/plain", **meta: bytes) -> dict:
    return {"metadata": {"encoding": b64(encoding), **{k: b64(v) for k, v in meta.items()}}, "data": b64(data)}


def frame(doc) -> pd.DataFrame:
    return History.from_json(json.dumps(doc)).to_dataframe()


# --- dialects -----------------------------------------------------------------------------------------------------

def test_pre_ga_temporal_json_with_integer_timestamps() -> None:
    doc = copy.deepcopy(TRACING)
    for ev in doc["events"]:
        ns = pd.Timestamp(ev.pop("eventTime")).value
        ev["timestamp"] = str(ns) if int(ev["eventId"]) % 2 else ns
        ev["eventType"] = "".join(p.title() for p in ev["eventType"][len("EVENT_TYPE_"):].split("_"))
        ev["eventId"] = int(ev["eventId"])
    h = History.from_json(json.dumps(doc))
    assert h.source_format == "temporal-legacy" and h.engine == "temporal"
    want = History.from_json(json.dumps(TRACING)).to_dataframe()
    got = h.to_dataframe()
    pd.testing.assert_frame_equal(got.drop(columns=["payload", "attributes"]),
                                  want.drop(columns=["payload", "attributes"]))
    assert json.loads(h.to_json("temporal"))["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"


def test_cadence_grpc_proto_json_reads_like_the_cli_json() -> None:
    from cadence.api.v1.history_pb2 import History as CadenceHistory
    from google.protobuf.json_format import MessageToDict, ParseDict

    from wfkit.history.dialects._cadence_convert import cadence_cli_event_to_proto

    proto = ParseDict({"events": [cadence_cli_event_to_proto(e) for e in GREETINGS]}, CadenceHistory())
    for shape in (MessageToDict(proto), {"history": MessageToDict(proto)}, MessageToDict(proto)["events"]):
        h = History.from_json(json.dumps(shape))
        assert h.source_format == "cadence-proto" and h.engine == "cadence"
        want = History.from_json(json.dumps(GREETINGS)).to_dataframe()
        cols = ["event_id", "time", "event_type", "engine_event_type", "activity_id", "activity_type", "attempt",
                "task_queue", "identity", "related_event_id"]
        pd.testing.assert_frame_equal(h.to_dataframe()[cols], want[cols])
    # and from the protos themselves
    hp = History.from_proto(proto, engine="cadence")
    assert hp.to_dataframe()["engine_event_type"].tolist() == [e["eventType"] for e in GREETINGS]
    assert hp.to_dataframe()["attributes"][0]["taskList"] == {"name": GREETINGS[0][
        "workflowExecutionStartedEventAttributes"]["taskList"]["name"]}


def test_shapes_and_sources(tmp_path: Path) -> None:
    text = json.dumps(TRACING)
    p = tmp_path / "h.json"
    p.write_text(text)
    for src in (text, text.encode(), p, str(p), TRACING, {"history": TRACING}):
        assert len(History.from_json(src)) == len(TRACING["events"])
    assert History.from_json(json.dumps({"events": GREETINGS})).engine == "cadence"
    assert History.from_json(text, workflow_id="w-1").workflow_id == "w-1"
    with pytest.raises(HistoryFormatError):
        History.from_json(str(tmp_path / "missing.json"))
    with pytest.raises(TypeError):
        History.from_json(42)  # type: ignore[arg-type]


def test_detect_format() -> None:
    assert detect_format(TRACING) == "temporal"
    assert detect_format(GREETINGS) == "cadence"
    assert detect_format({"events": GREETINGS}) == "cadence"
    assert detect_format(json.loads(History.from_json(json.dumps(GREETINGS)).to_json("wfkit"))) == "wfkit"


def test_explicit_format_is_honoured() -> None:
    with pytest.raises(HistoryFormatError):
        History.from_json(json.dumps(TRACING), format="cadence")
    with pytest.raises(ValueError, match="format must be"):
        History.from_json(json.dumps(TRACING), format="yaml")
    assert History.from_json(json.dumps(TRACING), format="temporal").source_format == "temporal"


def test_wfkit_format_document() -> None:
    h = History.from_json(json.dumps(GREETINGS), workflow_id="greet-1")
    doc = json.loads(h.to_json("wfkit", indent=2))
    assert doc["wfkit_history"] == 1 and doc["engine"] == "cadence" and doc["workflow_id"] == "greet-1"
    ev = doc["events"][1]
    assert ev["event_type"] == "WorkflowTaskScheduled" and ev["engine_event_type"] == "DecisionTaskScheduled"
    assert ev["category"] == "workflow_task" and ev["attempt"] == 1
    assert ev["time"].endswith("Z")
    assert doc["events"][6]["payload"] == "Hello" and doc["events"][16]["payload"] == ["Hello", "Cadence"]
    assert "wfkit_history" in WFKIT_FORMAT_DOC and "attributes" in WFKIT_FORMAT_DOC
    back = History.from_json(h.to_json("wfkit"))
    assert back.workflow_id == "greet-1" and back.engine == "cadence"


def test_to_json_writes_a_file(tmp_path: Path) -> None:
    h = History.from_json(json.dumps(TRACING))
    out = tmp_path / "out.json"
    text = h.to_json("temporal", path=out)
    assert out.read_text() == text
    with pytest.raises(ValueError):
        h.to_json("xml")


# --- what is kept ---------------------------------------------------------------------------------------------------

def test_unknown_event_type_is_kept_with_its_fields() -> None:
    doc = copy.deepcopy(TRACING)
    doc["events"][5] = {"eventId": "6", "eventTime": "2024-12-30T22:38:44.855357649Z",
                        "eventType": "EVENT_TYPE_FROBNICATION_REQUESTED", "taskId": "77",
                        "frobnicationRequestedEventAttributes": {"scheduledEventId": "5", "identity": "me",
                                                                 "input": {"payloads": [payload(b'"x"')]}}}
    h = History.from_json(json.dumps(doc))
    df = h.to_dataframe()
    row = df.iloc[5]
    assert row["event_type"] == "FrobnicationRequested" and row["category"] == "other"
    assert row["identity"] == "me" and row["related_event_id"] == 5 and row["payload"] == "x"
    assert "FrobnicationRequested" in df["event_type"].cat.categories
    assert json.loads(h.to_json("temporal"))["events"][5] == doc["events"][5]
    assert json.loads(History.from_json(h.to_json("wfkit")).to_json("temporal"))["events"][5] == doc["events"][5]


def test_event_type_may_be_missing_or_a_number() -> None:
    doc = copy.deepcopy(TRACING)
    del doc["events"][1]["eventType"]
    doc["events"][2]["eventType"] = 26  # EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    df = frame(doc)
    assert df["event_type"][1] == "WorkflowTaskScheduled" and df["event_type"][2] == "WorkflowExecutionSignaled"


def test_attempts_are_one_based_on_both_engines() -> None:
    t = frame(TRACING)
    c = frame(GREETINGS)
    assert t.loc[t["event_type"] == "ActivityTaskStarted", "attempt"].eq(1).all()
    assert GREETINGS[5]["activityTaskStartedEventAttributes"]["attempt"] == 0
    assert c.loc[c["event_type"] == "ActivityTaskStarted", "attempt"].tolist() == [1, 1, 1]
    assert c.loc[c["event_type"] == "WorkflowTaskScheduled", "attempt"].eq(1).all()


def test_failures_read_the_same_on_both_engines() -> None:
    doc = copy.deepcopy(TRACING)
    ev = doc["events"][8]  # ActivityTaskCompleted -> ActivityTaskFailed
    ev["eventType"] = "EVENT_TYPE_ACTIVITY_TASK_FAILED"
    ev["activityTaskFailedEventAttributes"] = {
        "scheduledEventId": "7", "startedEventId": "8",
        "failure": {"message": "bad order", "applicationFailureInfo": {"type": "InvalidOrder"}}}
    del ev["activityTaskCompletedEventAttributes"]
    h = History.from_json(json.dumps(doc))
    assert h.to_dataframe()["failure"][8] == "InvalidOrder: bad order"
    acts = h.activities()
    assert acts["status"].astype(str).tolist() == ["failed"] and acts["last_failure"][0] == "InvalidOrder: bad order"
    c = History.from_json(h.to_json("cadence"))
    assert c.to_dataframe()["failure"][8] == "InvalidOrder: bad order"  # wfkit's reason/details convention
    cli = json.loads(h.to_json("cadence"))[8]["activityTaskFailedEventAttributes"]
    assert cli["reason"] == "InvalidOrder"
    assert json.loads(base64.b64decode(cli["details"]))["message"] == "bad order"


# --- payloads -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("p", "expected"), [
    ([payload(b'{"a": 1}')], {"a": 1}),
    ([payload(b'"x"'), payload(b"2")], ["x", 2]),
    ([payload(b"", b"binary/null")], None),
    ([payload(b'{"id": 3}', b"json/protobuf", messageType=b"shop.Order")], {"id": 3}),
    ([payload(b"\x00\x01\x02", b"binary/plain")], "<binary 3 bytes>"),
    ([payload(b"\x08\x01", b"binary/protobuf", messageType=b"shop.Order")],
     "<binary/protobuf shop.Order, 2 bytes: type not registered>"),
    ([payload(b"\x99" * 40, b"binary/encrypted")], "<encrypted, 40 bytes: no codec set>"),
    ([payload(b"zz", b"json/plain", **{"encryption-key-id": b"k1"})],
     "<encrypted, key id k1, 2 bytes: no codec set>"),
    ([payload(b"{not json")], "<undecodable json/plain 9 bytes>"),
    ([payload(b"abc", b"my/codec")], "<my/codec 3 bytes>"),
    ([], None),
])
def test_temporal_payload_decoding(p: list, expected: object) -> None:
    doc = copy.deepcopy(TRACING)
    doc["events"][2]["workflowExecutionSignaledEventAttributes"]["input"] = {"payloads": p}
    value = frame(doc)["payload"][2]
    assert value == expected
    if isinstance(expected, str) and expected.startswith("<"):
        assert isinstance(value, Opaque)


@pytest.mark.parametrize(("data", "expected"), [
    (b'"Cadence"\n', "Cadence"),
    (b'"Hello"\n"Cadence"\n', ["Hello", "Cadence"]),
    (b'{"Message":"hi"}', {"Message": "hi"}),
    (b"\xff\xfe", "<binary 2 bytes>"),
    (b"", None),
])
def test_cadence_payload_decoding(data: bytes, expected: object) -> None:
    doc = copy.deepcopy(GREETINGS)
    doc[0]["workflowExecutionStartedEventAttributes"]["input"] = b64(data)
    assert frame(doc)["payload"][0] == expected


def test_huge_payload_is_not_decoded_until_asked() -> None:
    doc = copy.deepcopy(TRACING)
    big = b'"' + b"x" * 3_000_000 + b'"'
    doc["events"][2]["workflowExecutionSignaledEventAttributes"]["input"] = {"payloads": [payload(big)]}
    df = frame(doc)
    assert isinstance(df["payload"].array, LazyArray) and not df["payload"].array._cache
    assert len(df["payload"][2]) == 3_000_000


# --- errors ---------------------------------------------------------------------------------------------------------

def broken(doc, index: int, key: str, value) -> HistoryFormatError:
    doc = copy.deepcopy(doc)
    events = doc["events"] if isinstance(doc, dict) else doc
    cur = events[index]
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur[p]
    if value is KeyError:
        del cur[parts[-1]]
    else:
        cur[parts[-1]] = value
    with pytest.raises(HistoryFormatError) as e:
        History.from_json(json.dumps(doc)).to_dataframe()
    return e.value


@pytest.mark.parametrize(("index", "key", "value", "field"), [
    (3, "eventTime", "yesterday", "eventTime"),
    (3, "eventTime", KeyError, "eventTime"),
    (4, "eventId", "four", "eventId"),
    (4, "eventId", KeyError, "eventId"),
    (6, "activityTaskScheduledEventAttributes.activityId", 7, "activityTaskScheduledEventAttributes.activityId"),
    (6, "activityTaskScheduledEventAttributes.activityType", "x",
     "activityTaskScheduledEventAttributes.activityType"),
    (6, "activityTaskScheduledEventAttributes", [1], "activityTaskScheduledEventAttributes"),
    (7, "activityTaskStartedEventAttributes.attempt", "many", "activityTaskStartedEventAttributes.attempt"),
    (2, "eventType", ["x"], "eventType"),
])
def test_temporal_errors_name_event_and_field(index: int, key: str, value, field: str) -> None:
    err = broken(TRACING, index, key, value)
    assert (err.index, err.field) == (index, field), err


@pytest.mark.parametrize(("index", "key", "value", "field"), [
    (5, "timestamp", "soon", "timestamp"),
    (5, "timestamp", 2**70, "timestamp"),
    (5, "timestamp", None, "timestamp"),
    (4, "activityTaskScheduledEventAttributes.taskList.name", 3, "activityTaskScheduledEventAttributes.taskList.name"),
    (5, "activityTaskStartedEventAttributes.scheduledEventId", 1.5,
     "activityTaskStartedEventAttributes.scheduledEventId"),
])
def test_cadence_errors_name_event_and_field(index: int, key: str, value, field: str) -> None:
    err = broken(GREETINGS, index, key, value)
    assert (err.index, err.field) == (index, field), err


def test_malformed_documents() -> None:
    text = json.dumps(TRACING)
    with pytest.raises(HistoryFormatError) as e:
        History.from_json(text[: text.index('"eventId": "9"')])
    assert e.value.index == 8  # truncated inside the 9th event
    for bad in ("", "{", "[1, 2]", '{"events": 3}', '{"nothing": []}', "null", '"text"', '{"events": [{}]}'):
        with pytest.raises(HistoryFormatError):
            History.from_json(bad)
    assert len(History.from_json('{"events": []}')) == 0
    assert len(History.from_json("[]").to_dataframe()) == 0


def test_wfkit_errors_use_wfkit_names() -> None:
    doc = json.loads(History.from_json(json.dumps(TRACING)).to_json("wfkit"))
    doc["events"][4]["time"] = "later"
    with pytest.raises(HistoryFormatError) as e:
        History.from_json(json.dumps(doc))
    assert (e.value.index, e.value.field) == (4, "time")
    doc = json.loads(History.from_json(json.dumps(TRACING)).to_json("wfkit"))
    doc["events"][6]["attributes"]["activityId"] = {"no": 1}
    with pytest.raises(HistoryFormatError) as e:
        History.from_json(json.dumps(doc))
    assert (e.value.index, e.value.field) == (6, "attributes.activityId")


# --- protos ---------------------------------------------------------------------------------------------------------

def test_from_proto_inputs() -> None:
    from temporalio.api.history.v1 import History as TemporalHistory
    from temporalio.client import WorkflowHistory

    wh = WorkflowHistory.from_json("wf-9", json.dumps(TRACING))
    proto = TemporalHistory(events=wh.events)
    base = History.from_json(json.dumps(TRACING)).to_dataframe()
    cols = [c for c in base.columns if c not in ("workflow_id", "payload", "attributes")]
    for src in (wh, proto, list(wh.events), proto.SerializeToString()):
        h = History.from_proto(src, engine="temporal")
        pd.testing.assert_frame_equal(h.to_dataframe()[cols], base[cols])
    assert History.from_proto(wh, engine="temporal").workflow_id == "wf-9"
    with pytest.raises(HistoryFormatError):
        History.from_proto(proto, engine="cadence")
    with pytest.raises(HistoryFormatError):
        History.from_proto(b"\xff\xff\xff", engine="temporal")
    with pytest.raises(ValueError):
        History.from_proto(proto, engine="airflow")
    assert len(History.from_proto([], engine="temporal").to_dataframe()) == 0


def test_skim_and_event_by_event_agree_on_unusual_protos() -> None:
    """Columns read from wire bytes equal those read event by event, also when values are missing."""
    from temporalio.api.history.v1 import History as TemporalHistory
    from temporalio.client import WorkflowHistory

    import wfkit.history._extract as ex

    wh = WorkflowHistory.from_json("wf", json.dumps(TRACING))
    proto = TemporalHistory(events=wh.events)
    proto.events[3].workflow_task_started_event_attributes.identity = ""  # a gap in the identity column
    proto.events[4].event_time.nanos = 0  # a gap in the nanos column
    fast = History.from_proto(proto, engine="temporal").to_dataframe()
    saved = ex._skim
    ex._skim = lambda *a, **k: None
    try:
        slow = History.from_proto(proto, engine="temporal").to_dataframe()
    finally:
        ex._skim = saved
    cols = [c for c in fast.columns if c not in ("payload", "attributes")]
    pd.testing.assert_frame_equal(fast[cols], slow[cols])
    assert pd.isna(fast["identity"][3])


# --- the lazy columns -------------------------------------------------------------------------------------------

def test_lazy_columns_behave_like_object_columns() -> None:
    h = History.from_json(json.dumps(TRACING))
    df = h.to_dataframe()
    assert str(df["payload"].dtype) == "wfkit_lazy" and FRAME_DTYPES["payload"] == df["payload"].dtype
    sub = df[df["category"] == "signal"]
    assert sub["payload"].tolist() == ["before", "1"]
    assert df["payload"].isna().sum() == (~df["payload"].array._present).sum()
    both = pd.concat([df, df], ignore_index=True)
    assert str(both["payload"].dtype) == "wfkit_lazy" and both["payload"][len(df) + 2] == "before"
    assert df.equals(df.copy())
    assert df["attributes"][0]["workflowType"]["name"] == "SignalsActivitiesTimersUpdatesTracingWorkflow"
    df["attributes"][0]["workflowType"]["name"] = "changed"  # cells are copies: the history is untouched
    assert h.to_dataframe()["attributes"][0]["workflowType"]["name"] != "changed"
    arr = df["payload"].to_numpy()
    assert arr.dtype == object and arr[2] == "before"
    assert (df["payload"] == df["payload"].copy()).all()
    assert df["payload"].iloc[::-1].iloc[-3] == "before"
    s = df["payload"].copy()
    s[2] = "patched"
    assert s[2] == "patched" and df["payload"][2] == "before"
    assert np.array_equal(df["payload"].astype(object).to_numpy()[:3], arr[:3])
