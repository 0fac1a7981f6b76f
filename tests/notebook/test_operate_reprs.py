"""str, repr and HTML of the operating values, with user strings escaped (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import wfkit
from wfkit._operate import diagnose

EVIL = "<script>alert(1)</script>"


def _execution(**kw):
    base = dict(engine="e", workflow_id=EVIL, run_id="r1", workflow_type="T", status="running", task_queue=EVIL,
                start_time=datetime(2026, 1, 1, tzinfo=UTC), close_time=None, history_length=3)
    base.update(kw)
    return wfkit.Execution(**base)


def test_diagnosis_text_and_html_escape_user_strings():
    act = wfkit.PendingActivity(activity_id="1", activity_type=EVIL, state="scheduled", attempt=4,
                                maximum_attempts=10, last_failure=f"Boom: {EVIL}",
                                next_attempt_time=datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC))
    ex = _execution(pending_activities=(act,))
    tq = wfkit.TaskQueueInfo(name=EVIL, pollers=())
    d = diagnose(ex, tq, None, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert d.kinds == ("no_workflow_worker", "activity_retrying")
    assert "attempt 4 of 10" in str(d) and "next attempt at 2026-01-01 00:00:05 UTC" in str(d)
    assert repr(d) == str(d)
    html = d._repr_html_()
    assert EVIL not in html and "&lt;script&gt;" in html
    assert EVIL not in ex._repr_html_() and "pending activities" in ex._repr_html_()
    assert EVIL not in tq._repr_html_() and "no worker polls" in tq._repr_html_()
    frame = d.to_dataframe()
    assert list(frame.columns) == ["kind", "severity", "summary", "evidence"]


def test_closed_and_idle_workflows():
    closed = diagnose(_execution(status="completed", close_time=datetime(2026, 1, 2, tzinfo=UTC)), None, None)
    assert closed.kinds == ("closed",) and closed.problems == ()
    idle = diagnose(_execution(), wfkit.TaskQueueInfo("q", (wfkit.Poller("me", "workflow", None),)), None)
    assert idle.kinds == ("waiting_signal",)
    pending = diagnose(_execution(pending_workflow_task=wfkit.PendingWorkflowTask("scheduled", 1)),
                       wfkit.TaskQueueInfo("q", (wfkit.Poller("me", "workflow", None),)), None)
    assert pending.kinds == ("workflow_task_pending",)


def test_namespace_and_schedule_frames():
    ns = wfkit.Namespaces([wfkit.Namespace("default", retention=timedelta(days=1))])
    assert str(ns.to_dataframe()["retention"].dtype) == "timedelta64[ns]" and "default" in repr(ns)
    sched = wfkit.Schedules([wfkit.Schedule("s", "T", spec="cron 0 * * * *")])
    assert sched.to_dataframe()["id"].tolist() == ["s"]


def test_bad_start_options_are_clear():
    import pytest

    from wfkit._operate import check_cron, search_attribute_values

    with pytest.raises(wfkit.WfkitError, match="five fields"):
        check_cron("* *")
    with pytest.raises(wfkit.WfkitError, match="needs a timezone"):
        search_attribute_values({"When": datetime(2026, 1, 1)})
    assert search_attribute_values({"When": datetime(2026, 1, 1, tzinfo=UTC), "Tags": ("a", "b")}) == {
        "When": "2026-01-01T00:00:00+00:00", "Tags": ["a", "b"]}
    with pytest.raises(wfkit.WfkitError, match="cron expressions or intervals"):
        wfkit.ScheduleSpec()
