"""Reading and writing histories at the edges: what is not a file, files past the size limit, text no JSON writer
can encode, values a proto cannot hold. Every failure is a ``HistoryFormatError``."""

from __future__ import annotations

import copy
import json
import os

import pytest

from wfkit._errors import HistoryFormatError
from wfkit.history._history import History
from wfkit.history._json import MAX_FILE_BYTES

from . import FIXTURES

TIMER = FIXTURES / "cadence" / "timer.json"
TEMPORAL = sorted((FIXTURES / "temporal").glob("*.json"))[0]


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(HistoryFormatError, match="not a regular file"):
        History.from_json(path)


def test_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer end, so opening to read does not block
    try:
        with pytest.raises(HistoryFormatError, match="not a regular file"):
            History.from_json(fifo)
    finally:
        os.close(fd)


def test_size_limit(tmp_path):
    assert MAX_FILE_BYTES >= 50 * 10**6  # at least Temporal's own history limit
    size = TIMER.stat().st_size
    with pytest.raises(HistoryFormatError, match="over the limit") as info:
        History.from_json(TIMER, max_bytes=size - 1)
    assert f"{size - 1:,}" in str(info.value)
    assert len(History.from_json(TIMER, max_bytes=size)) > 0
    assert len(History.from_json(str(TIMER), max_bytes=size)) > 0
    with pytest.raises(HistoryFormatError, match="max_bytes"):
        History.from_json(TIMER, max_bytes=0)
    # a sparse file past the default limit is refused without reading it
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(HistoryFormatError, match="over the limit"):
        History.from_json(big)


def test_text_with_a_lone_surrogate():
    text = TIMER.read_text().replace('"eventId"', '"event\udcffId"', 1)
    with pytest.raises(HistoryFormatError, match="not valid Unicode"):
        History.from_json(text)


@pytest.mark.parametrize("fixture", [TIMER, TEMPORAL])
def test_unencodable_key_read_from_a_dict(fixture):
    doc = json.loads(fixture.read_text())
    events = doc if isinstance(doc, list) else doc["events"]
    events[2]["k\udcffey"] = 1
    h = History.from_json(doc)
    assert len(h.to_dataframe()) == len(events)
    for write in (lambda: h.to_json("wfkit"), lambda: h.to_json("temporal"), lambda: h.to_json("cadence"),
                  h.to_proto):
        with pytest.raises(HistoryFormatError) as info:
            write()
        assert info.value.index == 2


def test_int64_out_of_range_in_to_proto():
    doc = json.loads(TEMPORAL.read_text())
    bad = copy.deepcopy(doc)
    bad["events"][1]["taskId"] = str(2**70)
    h = History.from_json(bad)
    with pytest.raises(HistoryFormatError) as info:
        h.to_proto()
    assert info.value.index == 1 and info.value.field == "taskId", info.value
