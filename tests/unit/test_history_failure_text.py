"""Failure texts the history frame reads from what workers of any SDK write."""

from __future__ import annotations

import base64
import json

from wfkit.history import History


def _cadence_cli(details: bytes) -> str:
    b64 = base64.b64encode(details).decode()
    return json.dumps([
        {"eventId": 1, "timestamp": 1_700_000_000_000_000_000, "eventType": "WorkflowExecutionStarted",
         "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "W"}, "taskList": {"name": "q"},
                                                     "executionStartToCloseTimeoutSeconds": 60,
                                                     "taskStartToCloseTimeoutSeconds": 10}},
        {"eventId": 2, "timestamp": 1_700_000_000_100_000_000, "eventType": "DecisionTaskScheduled",
         "decisionTaskScheduledEventAttributes": {"taskList": {"name": "q"}, "startToCloseTimeoutSeconds": 10}},
        {"eventId": 3, "timestamp": 1_700_000_000_200_000_000, "eventType": "DecisionTaskStarted",
         "decisionTaskStartedEventAttributes": {"scheduledEventId": 2}},
        {"eventId": 4, "timestamp": 1_700_000_000_300_000_000, "eventType": "DecisionTaskFailed",
         "decisionTaskFailedEventAttributes": {"scheduledEventId": 2, "startedEventId": 3,
                                               "cause": "WORKFLOW_WORKER_UNHANDLED_FAILURE", "details": b64}},
    ])


def test_plain_text_decision_task_failure_is_read():
    """A Cadence worker's decision-task failure is plain text in ``details`` (no reason): the frame shows it
    (it was empty before, so nothing said why a workflow task kept failing)."""
    h = History.from_json(_cadence_cli(b"LookupError: workflow type 'X' is not registered"), format="cadence")
    df = h.to_dataframe()
    assert df["event_type"].iloc[3] == "WorkflowTaskFailed"
    assert df["failure"].iloc[3] == "LookupError: workflow type 'X' is not registered"


def test_binary_failure_details_stay_opaque():
    h = History.from_json(_cadence_cli(bytes([0, 1, 2, 255])), format="cadence")
    assert h.to_dataframe()["failure"].isna().iloc[3]
