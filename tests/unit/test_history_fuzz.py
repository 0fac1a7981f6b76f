"""Fuzzing History.from_json and everything done with what it returns.

The only exception allowed out is HistoryFormatError, and when the input was broken in one event, the error
names that event (``.index``) and, when it names a field, one inside what was broken (``.field``).
``WFKIT_FUZZ_EXAMPLES`` sets the number of examples per test (default 2000; CI nightly uses 10000).
"""

from __future__ import annotations

import copy
import json
import os

import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfkit._errors import HistoryFormatError
from wfkit.history._history import History

from . import FIXTURES

FILES = sorted(FIXTURES.glob("*/*.json"))
if not FILES:
    raise RuntimeError(f"no history fixtures under {FIXTURES}: they live in tests/fixtures/histories")
DOCS = {f.name: json.loads(f.read_text()) for f in FILES}
# wfkit's own format and a converted Cadence->Temporal document join the corpus
DOCS["wfkit-from-cadence.json"] = json.loads(History.from_json(FIXTURES / "cadence" / "timer.json").to_json("wfkit"))
DOCS["temporal-from-cadence.json"] = json.loads(
    History.from_json(FIXTURES / "cadence" / "greetings.json").to_json("temporal"))

EXAMPLES = int(os.environ.get("WFKIT_FUZZ_EXAMPLES", "2000"))
_RANDOM = os.environ.get("WFKIT_FUZZ_RANDOM") == "1"  # default: derandomized, the same cases on every run
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not _RANDOM, suppress_health_check=_HEALTH)
SOME = settings(max_examples=max(EXAMPLES // 2, 50), deadline=None, derandomize=not _RANDOM,
                suppress_health_check=_HEALTH)
FEW = settings(max_examples=max(EXAMPLES // 4, 50), deadline=None, derandomize=not _RANDOM,
               suppress_health_check=_HEALTH)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
weird_strings = st.sampled_from([
    "EVENT_TYPE_FROBNICATED", "Frobnicated", "EVENT_TYPE_", "", "not a time", "2024-13-45T99:99:99Z", "NaT",
    "99999999999999999999999", "-1", "1e3", "0x10", "TASK_QUEUE_KIND_BOGUS", "Bogus", "☃", "\x00",
    "DecisionTaskScheduled", "WorkflowTaskScheduled", "9999-12-31T23:59:59.999999999Z", "1677-01-01T00:00:00Z",
])


def _events(doc):
    if isinstance(doc, list):
        return doc
    if "wfkit_history" in doc:
        return doc["events"]
    return doc["events"]


def _paths(value, prefix=()):
    """Every (path, value) inside a JSON value."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _set(root, path, value):
    cur = root
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value


def _delete(root, path):
    cur = root
    for p in path[:-1]:
        cur = cur[p]
    del cur[path[-1]]


def exercise(text_or_doc) -> History | None:
    """Read and use a history like a notebook would; only HistoryFormatError may escape."""
    try:
        h = History.from_json(text_or_doc)
    except HistoryFormatError as e:
        assert e.index is None or isinstance(e.index, int)
        assert e.field is None or isinstance(e.field, str)
        raise
    df = h.to_dataframe()
    assert len(df) == len(h)
    list(df["payload"].array)
    list(df["attributes"].array)

    repr(h)
    h.summary()
    h.activities()
    h.timers()
    h.signals()
    h.input()
    h.result()
    for fmt in ("wfkit", "temporal", "cadence"):
        try:
            text = h.to_json(fmt)
        except HistoryFormatError as e:
            # converting may meet a value it cannot carry (e.g. an unreadable duration); it must say where
            assert e.index is not None, e
            continue
        if fmt == "wfkit" or fmt == h.engine:  # what wfkit writes in a history's own shapes reads back
            assert len(History.from_json(text)) == len(h)
    try:
        h.to_proto()
    except HistoryFormatError as e:  # e.g. an int64 out of range: a wfkit error that names the event
        assert e.index is not None, e
    return h


@st.composite
def mutated(draw):
    """A fixture document with one event changed: (text, event index or None, key path inside the event)."""
    name = draw(st.sampled_from(sorted(DOCS)))
    doc = copy.deepcopy(DOCS[name])
    events = _events(doc)
    i = draw(st.integers(0, len(events) - 1))
    paths = [p for p, _ in _paths(events[i]) if p]
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["replace", "replace", "weird", "delete", "huge"]))
    if action == "replace":
        _set(events[i], path, draw(json_values))
    elif action == "weird":
        _set(events[i], path, draw(weird_strings))
    elif action == "huge":
        size = draw(st.sampled_from([1 << 10, 1 << 16, 1 << 20]))
        _set(events[i], path, draw(st.sampled_from(["A" * size, "eyJ4IjoxfQ==" * (size // 12), ["x"] * (size // 64)])))
    else:
        _delete(events[i], path)
    return json.dumps(doc), i, path


@SETTINGS
@given(mutated())
def test_one_broken_event_is_named(case):
    text, i, path = case
    try:
        exercise(text)
    except HistoryFormatError as e:
        if e.index is not None:
            assert e.index == i, (e, i, path)
        if e.field is not None and e.index is not None:
            top = str(path[0])
            got = e.field.split(".")[0]
            # the field named is the one broken, or the event's type/attributes the broken value decided
            assert got == top or top in ("eventType", "event_type", "engine_event_type") or \
                got.endswith("EventAttributes") or got in ("attributes", "extra"), (e, path)


@SOME
@given(st.sampled_from(sorted(DOCS)), st.data())
def test_truncated_json(name, data):
    text = json.dumps(DOCS[name], indent=data.draw(st.sampled_from([None, 1])))
    cut = data.draw(st.integers(0, len(text) - 1))
    n_events = len(_events(DOCS[name]))
    try:
        exercise(text[:cut])
    except HistoryFormatError as e:
        assert e.index is None or 0 <= e.index <= n_events
    else:
        pytest.fail("a truncated document was accepted")


@SOME
@given(st.sampled_from(sorted(DOCS)), st.data())
def test_decoded_document_with_unencodable_text(name, data):
    """A decoded document (a dict) may hold text no JSON writer can encode (a lone surrogate): every method
    either works or raises HistoryFormatError naming the event."""
    doc = copy.deepcopy(DOCS[name])
    events = _events(doc)
    i = data.draw(st.integers(0, len(events) - 1))
    paths = [p for p, v in _paths(events[i]) if p and isinstance(v, dict)] + [()]
    path = data.draw(st.sampled_from(paths))
    target = events[i]
    for p in path:
        target = target[p]
    target[data.draw(st.sampled_from(["k\udcffey", "\udcff"]))] = data.draw(st.sampled_from([1, "v", "\udcff"]))
    try:
        exercise(doc)
    except HistoryFormatError as e:
        assert e.index is None or e.index == i, (e, i, path)


@FEW
@given(json_values)
def test_arbitrary_json(value):
    try:
        exercise(json.dumps(value))
    except HistoryFormatError:
        pass


@FEW
@given(st.binary(max_size=200))
def test_arbitrary_bytes(blob):
    try:
        exercise(blob)
    except HistoryFormatError:
        pass


@SOME
@given(st.sampled_from(sorted(DOCS)), st.data())
def test_unreadable_timestamp_is_an_error(name, data):
    doc = copy.deepcopy(DOCS[name])
    events = _events(doc)
    i = data.draw(st.integers(0, len(events) - 1))
    key = "time" if "wfkit_history" in doc else ("timestamp" if "timestamp" in events[i] else "eventTime")
    events[i][key] = data.draw(st.one_of(st.sampled_from(["", "NaT", "yesterday", "2024-02-30T00:00:00Z",
                                                          "2024-01-01T00:00:00", None, [], {}, True, 1.5]),
                                         st.text(max_size=12)))
    try:
        h = History.from_json(json.dumps(doc))
    except HistoryFormatError as e:
        assert e.index == i
        assert e.field in ("eventTime", "timestamp", "time"), e
    else:  # accepted only if it really is a time; never NaT
        assert not h.to_dataframe()["time"].isna().any()
