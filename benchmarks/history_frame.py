"""Benchmark: histories -> DataFrames (issue 5).

A synthetic 51,200-event Temporal history (Temporal's maximum), built as protos, realistic mix of workflow
tasks, activities (some retried and failed), timers, signals and markers with ~100-byte JSON payloads.

Figures (best of 3, a fresh History every run, so no cached frame counts):

1. from server protos: ``parse + History.from_proto(...).to_dataframe()`` vs binary protobuf parsing alone
   of the same events. Goal: within 8x of the parse.
2. from JSON text (``WorkflowHistory.to_json`` output): ``History.from_json(text).to_dataframe()`` vs the
   naive ``json.loads`` + ``pd.json_normalize`` path. Goal: >= 2x faster.
3. peak RSS of each path, measured in its own subprocess. Goal: <= 300 MB.

Run: ``python benchmarks/history_frame.py`` (``--events N`` to change the size).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

N_EVENTS = 51_200


def build_history(n_events: int = N_EVENTS):
    """A temporal ``History`` proto of exactly ``n_events`` events.

    The events carry the fields a real server and SDK put there (modelled on the Python SDK's recorded
    replay histories): task queues with kind and normal name, timeouts, retry policies, tracing headers,
    worker build ids, SDK metadata, request ids, history sizes, ~150-byte JSON payloads, retried and failed
    activities with failures and stack traces.
    """
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.common.v1 import (
        ActivityType,
        Header,
        Payload,
        Payloads,
        RetryPolicy,
        WorkerVersionStamp,
        WorkflowType,
    )
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
    from temporalio.api.history.v1 import History, HistoryEvent
    from temporalio.api.history.v1 import message_pb2 as m
    from temporalio.api.sdk.v1 import WorkflowTaskCompletedMetadata
    from temporalio.api.taskqueue.v1 import TaskQueue

    enc = {"encoding": b"json/plain"}

    def payloads(i: int, kind: str) -> Payloads:
        body = json.dumps({"order_id": f"order-{i:06d}", "kind": kind, "amount": round(i * 1.5, 2),
                           "currency": "EUR", "items": [{"sku": f"sku-{i % 97}", "qty": 1 + i % 3}],
                           "customer": {"id": f"c-{i % 1013}", "tier": "gold"}}).encode()
        return Payloads(payloads=[Payload(metadata=enc, data=body)])

    sticky = TaskQueue(name="worker-1@host-5f3c2a9e1b7d4c8e", kind=2, normal_name="orders")
    tq = TaskQueue(name="orders", kind=1)
    header = Header(fields={"_tracer-data": Payload(metadata=enc, data=b'{"traceparent":"00-4bf92f3577b34da6a3ce9'
                                                                       b'29d0e0e4736-00f067aa0ba902b7-01"}')})
    version = WorkerVersionStamp(build_id="3c9ab1f0e5d2c7a48b6e1f0d9c2a7b35")
    retry = RetryPolicy(initial_interval=Duration(seconds=1), backoff_coefficient=2.0,
                        maximum_interval=Duration(seconds=100))
    sdk_meta = WorkflowTaskCompletedMetadata(core_used_flags=[1, 2, 3], lang_used_flags=[1], sdk_name="temporal-python",
                                             sdk_version="1.35.0")
    events: list = []
    base = 1_700_000_000

    def add(etype: int, **attrs) -> int:
        eid = len(events) + 1
        ev = HistoryEvent(event_id=eid, event_type=etype, task_id=1_048_576 + eid * 3, **attrs)
        ev.event_time.seconds = base + eid // 10
        ev.event_time.nanos = (eid % 10) * 100_000_000 + 123_456
        events.append(ev)
        return eid

    add(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflow_execution_started_event_attributes=m.WorkflowExecutionStartedEventAttributes(
            workflow_type=WorkflowType(name="OrderWorkflow"), task_queue=tq, input=payloads(0, "input"),
            workflow_task_timeout=Duration(seconds=10), identity="1234@client-host", attempt=1,
            original_execution_run_id="0195f3a2-7c4e-7d21-9a0b-3f5e8c1d2a47",
            first_execution_run_id="0195f3a2-7c4e-7d21-9a0b-3f5e8c1d2a47", workflow_id="order-bench",
            header=header, first_workflow_task_backoff=Duration()))
    i = 0
    while len(events) < n_events - 1:
        i += 1
        s = add(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                workflow_task_scheduled_event_attributes=m.WorkflowTaskScheduledEventAttributes(
                    task_queue=sticky, start_to_close_timeout=Duration(seconds=10), attempt=1))
        st = add(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                 workflow_task_started_event_attributes=m.WorkflowTaskStartedEventAttributes(
                     scheduled_event_id=s, identity="5678@worker-host-1",
                     request_id=f"6d71379a-1a94-474a-bf61-{i:012d}", history_size_bytes=1000 + 400 * i,
                     worker_version=version))
        c = add(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                workflow_task_completed_event_attributes=m.WorkflowTaskCompletedEventAttributes(
                    scheduled_event_id=s, started_event_id=st, identity="5678@worker-host-1",
                    worker_version=version, sdk_metadata=sdk_meta))
        kind = i % 4
        if kind in (0, 1):
            a = add(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                    activity_task_scheduled_event_attributes=m.ActivityTaskScheduledEventAttributes(
                        activity_id=str(i), activity_type=ActivityType(name="charge" if kind else "ship"),
                        task_queue=tq, header=header, input=payloads(i, "activity"),
                        schedule_to_close_timeout=Duration(seconds=60), schedule_to_start_timeout=Duration(seconds=60),
                        start_to_close_timeout=Duration(seconds=30), heartbeat_timeout=Duration(),
                        workflow_task_completed_event_id=c, retry_policy=retry, use_workflow_build_id=True))
            retried = i % 16 == 0
            started = m.ActivityTaskStartedEventAttributes(
                scheduled_event_id=a, identity="5678@worker-host-1", request_id=f"9fe1b0e7-2634-4dca-{i:012d}",
                attempt=3 if retried else 1, worker_version=version)
            if retried:
                started.last_failure.CopyFrom(Failure(
                    message="card declined", source="PythonSDK",
                    stack_trace='  File "activities.py", line 42, in charge\n    raise PaymentError(...)\n',
                    application_failure_info=ApplicationFailureInfo(type="PaymentError")))
            sa = add(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, activity_task_started_event_attributes=started)
            if i % 32 == 8:
                add(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                    activity_task_failed_event_attributes=m.ActivityTaskFailedEventAttributes(
                        scheduled_event_id=a, started_event_id=sa, identity="5678@worker-host-1", retry_state=2,
                        failure=Failure(message="boom", source="PythonSDK",
                                        stack_trace='  File "activities.py", line 7, in ship\n',
                                        application_failure_info=ApplicationFailureInfo(type="ValueError"))))
            else:
                add(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                    activity_task_completed_event_attributes=m.ActivityTaskCompletedEventAttributes(
                        scheduled_event_id=a, started_event_id=sa, identity="5678@worker-host-1",
                        result=payloads(i, "result"), worker_version=version))
        elif kind == 2:
            t = add(EventType.EVENT_TYPE_TIMER_STARTED,
                    timer_started_event_attributes=m.TimerStartedEventAttributes(
                        timer_id=str(i), start_to_fire_timeout=Duration(seconds=5), workflow_task_completed_event_id=c))
            add(EventType.EVENT_TYPE_TIMER_FIRED,
                timer_fired_event_attributes=m.TimerFiredEventAttributes(timer_id=str(i), started_event_id=t))
            add(EventType.EVENT_TYPE_MARKER_RECORDED,
                marker_recorded_event_attributes=m.MarkerRecordedEventAttributes(
                    marker_name="core_patch", workflow_task_completed_event_id=c,
                    details={"patch_data": payloads(i, "patch")}))
        else:
            add(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                workflow_execution_signaled_event_attributes=m.WorkflowExecutionSignaledEventAttributes(
                    signal_name="add_item", input=payloads(i, "signal"), identity="1234@client-host",
                    header=header, request_id=f"c78a6332-adb5-4ff1-{i:012d}"))
    del events[n_events - 1:]
    add(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        workflow_execution_completed_event_attributes=m.WorkflowExecutionCompletedEventAttributes(
            result=payloads(0, "done"), workflow_task_completed_event_id=len(events)))
    return History(events=events)


def best_of(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs (after one warm-up run, not counted)."""
    fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    ``VmHWM`` (Linux) is per address space, so it starts afresh in a subprocess; ``ru_maxrss`` would carry
    the parent's peak across fork/exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: str, workdir: str) -> dict:
    """One measurement in this (fresh) process; the inputs were written to ``workdir`` by the parent."""
    import pandas as pd
    from temporalio.api.history.v1 import History as HistoryProto

    from wfkit.history._history import History

    out: dict = {"case": case}
    if case in ("proto", "proto-bytes", "proto-list"):
        with open(os.path.join(workdir, "history.binpb"), "rb") as f:
            blob = f.read()
        out["baseline_rss_mb"] = peak_rss_mb()
        out["parse_s"] = best_of(lambda: HistoryProto.FromString(blob))
        if case == "proto":
            out["wfkit_s"] = best_of(lambda: History.from_proto(HistoryProto.FromString(blob),
                                                                engine="temporal").to_dataframe())
        elif case == "proto-list":  # what temporalio's fetch_history() gives: WorkflowHistory(events=list)
            from temporalio.client import WorkflowHistory

            out["wfkit_s"] = best_of(lambda: History.from_proto(
                WorkflowHistory("wf", list(HistoryProto.FromString(blob).events)), engine="temporal").to_dataframe())
        else:
            out["wfkit_s"] = best_of(lambda: History.from_proto(blob, engine="temporal").to_dataframe())
    elif case in ("json", "json-naive"):
        with open(os.path.join(workdir, "history.json"), encoding="utf-8") as f:
            text = f.read()
        out["json_mb"] = len(text) / 1e6
        out["baseline_rss_mb"] = peak_rss_mb()
        if case == "json":
            out["wfkit_s"] = best_of(lambda: History.from_json(text).to_dataframe())
        else:
            out["json_loads_s"] = best_of(lambda: json.loads(text))
            out["naive_s"] = best_of(lambda: pd.json_normalize(json.loads(text)["events"]))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=N_EVENTS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.workdir)))
        return

    import tempfile

    from google.protobuf.json_format import MessageToJson

    n = args.events
    with tempfile.TemporaryDirectory(prefix="wfkit-bench-") as workdir:
        history = build_history(n)
        with open(os.path.join(workdir, "history.binpb"), "wb") as f:
            f.write(history.SerializeToString())
        with open(os.path.join(workdir, "history.json"), "w", encoding="utf-8") as f:
            f.write(MessageToJson(history))  # what WorkflowHistory.to_json / the CLI write
        del history

        def sub(case: str) -> dict:
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--case", case, "--workdir", workdir],
                               check=True, capture_output=True, text=True)
            return json.loads(r.stdout.strip().splitlines()[-1])

        p, pb, pl, j, jn = sub("proto"), sub("proto-bytes"), sub("proto-list"), sub("json"), sub("json-naive")

    def rate(s: float) -> str:
        return f"{n / s:>10,.0f} events/s"

    r1, r1b, r1l = p["wfkit_s"] / p["parse_s"], pb["wfkit_s"] / pb["parse_s"], pl["wfkit_s"] / pl["parse_s"]
    r2 = jn["naive_s"] / j["wfkit_s"]
    print(f"history: {n:,} synthetic Temporal events, {j['json_mb']:.1f} MB as proto-JSON; best of 3 after a "
          f"warm-up, each path in a fresh process, a fresh History per run")
    print("(1) from server protos (goal: within 8x of the binary parse)")
    print(f"    binary parse alone (History.FromString)           {p['parse_s'] * 1e3:8.1f} ms  {rate(p['parse_s'])}")
    print(f"    FromString + from_proto(History) + to_dataframe   {p['wfkit_s'] * 1e3:8.1f} ms  {rate(p['wfkit_s'])}"
          f"   {r1:5.2f}x parse  {'met' if r1 <= 8 else 'NOT met'}")
    print(f"    FromString + from_proto(WorkflowHistory) + frame  {pl['wfkit_s'] * 1e3:8.1f} ms  "
          f"{rate(pl['wfkit_s'])}   {r1l:5.2f}x parse ({pl['parse_s'] * 1e3:.1f} ms in that process)  "
          f"{'met' if r1l <= 8 else 'NOT met'}")
    print(f"    from_proto(wire bytes) + to_dataframe             {pb['wfkit_s'] * 1e3:8.1f} ms  "
          f"{rate(pb['wfkit_s'])}   {r1b:5.2f}x parse ({pb['parse_s'] * 1e3:.1f} ms in that process)  "
          f"{'met' if r1b <= 8 else 'NOT met'}")
    print("(2) from JSON text (goal: >= 2x faster than json.loads + pd.json_normalize)")
    print(f"    json.loads alone                                  {jn['json_loads_s'] * 1e3:8.1f} ms")
    print(f"    json.loads + pd.json_normalize                    {jn['naive_s'] * 1e3:8.1f} ms  {rate(jn['naive_s'])}")
    print(f"    History.from_json(text).to_dataframe()            {j['wfkit_s'] * 1e3:8.1f} ms  {rate(j['wfkit_s'])}"
          f"   {r2:5.2f}x faster  {'met' if r2 >= 2 else 'NOT met'}")
    print("(3) peak RSS of each process (goal: <= 300 MB); 'before' = after reading the input, before timing")
    for label, d in (("protos path", p), ("WorkflowHistory", pl), ("wire-bytes path", pb), ("wfkit JSON path", j),
                     ("naive JSON path", jn)):
        print(f"    {label:18s} {d['peak_rss_mb']:7.1f} MB   (before: {d['baseline_rss_mb']:.1f} MB)")
    worst = max(p["peak_rss_mb"], pb["peak_rss_mb"], pl["peak_rss_mb"], j["peak_rss_mb"])
    print(f"    wfkit paths: {'met' if worst <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
