"""One reader of Cadence failures: the errors ``handle.result()`` raises and the text of the frames'
``failure`` column come from the same decoding, for every client's shape (no server needed)."""

from __future__ import annotations

import json

import pytest

import wfkit
from wfkit.history._extract import _rfail_text
from wfkit_cadence._convert import error_from_failure

GO_CUSTOM = b'{"balance":3,"needed":10}\n'
JAVA = json.dumps({"detailMessage": "no seats left on flight 7", "stackTrace": "at Booking.reserve(Booking.java:42)\n",
                   "suppressedExceptions": []}).encode()
PYTHON_SDK = b"message: card declined\nstacktrace: File 'pay.py', line 3"
TRACEBACK = b'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad amount'
WFKIT = json.dumps({"message": "out of stock", "type": "OutOfStock", "wfkit": 1, "details": []}).encode()

CASES = [
    # reason, details, frame text, (error type, message, details)
    ("cadenceInternal:Generic", b"disk full while writing /var/data",
     "cadenceInternal:Generic: disk full while writing /var/data",
     ("cadenceInternal:Generic", "disk full while writing /var/data", ())),
    ("InsufficientFunds", GO_CUSTOM, 'InsufficientFunds: {"balance":3,"needed":10}',
     ("InsufficientFunds", "InsufficientFunds", ({"balance": 3, "needed": 10},))),
    ("Rejected", b'"plain words"', "Rejected: plain words", ("Rejected", "Rejected", ("plain words",))),
    ("com.example.NoSeats", JAVA, "com.example.NoSeats: no seats left on flight 7",
     ("com.example.NoSeats", "no seats left on flight 7", ())),
    ("CardError", PYTHON_SDK, "CardError: card declined", ("CardError", "card declined", ())),
    ("ValueError", TRACEBACK, "ValueError: bad amount", ("ValueError", "bad amount", ())),
    ("OutOfStock", WFKIT, "OutOfStock: out of stock", ("OutOfStock", "out of stock", ())),
    ("BinaryThing", b"\xff\xfe\x00\x01", "BinaryThing", ("BinaryThing", "BinaryThing", ())),
]


@pytest.mark.parametrize(("reason", "details", "text", "error"), CASES, ids=[c[0] for c in CASES])
def test_frames_and_errors_read_failures_alike(reason, details, text, error):
    assert _rfail_text(reason, details) == text
    err = error_from_failure(reason, details)
    assert isinstance(err, wfkit.ApplicationError)
    assert (err.type, str(err), tuple(err.details)) == error


def test_java_stack_and_timeouts():
    err = error_from_failure("com.example.NoSeats", JAVA)
    assert "Booking.java:42" in "".join(getattr(err, "__notes__", []))
    timeout = error_from_failure("cadenceInternal:Timeout START_TO_CLOSE", b"")
    assert isinstance(timeout, wfkit.TimeoutError) and timeout.kind == "start_to_close"
    assert _rfail_text("cadenceInternal:Timeout START_TO_CLOSE", b"") == "cadenceInternal:Timeout START_TO_CLOSE"
