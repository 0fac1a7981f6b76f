"""wfkit vs the raw engine SDK: 200 one-activity workflows each, on the same dev server, in the same run.

Temporal: wfkit vs raw temporalio. Cadence: wfkit vs raw cadence-python-client (whose client has no result
call: the raw side waits for results by long-polling the close event through the SDK's gRPC stub, as wfkit does).

Rounds alternate between the two sides (raw, wfkit, raw, wfkit, ...), each round starting ROUND workflows at
once and waiting for all results, with only that side's worker running. On Temporal both sides use temporalio's
unsandboxed runner (wfkit's choice); on Cadence both run the SDK's workflow engine. So the difference is wfkit's
own layer: definitions, conversions, the hop to wfkit's loop thread. Prints both rates and the ratio (goal:
wfkit/raw time ratio <= 1.05).

    .venv/bin/python benchmarks/adapter_overhead.py [--engine temporal|cadence|both] [--total 200] [--round 25]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import wfkit
from wfkit_temporal.devserver import TemporalDevServer


@activity.defn(name="raw_echo")
async def raw_echo(x: str) -> str:
    return x


@workflow.defn(name="RawOne", sandboxed=False)
class RawOne:
    @workflow.run
    async def run(self, x: str) -> str:
        return await workflow.execute_activity(raw_echo, x, start_to_close_timeout=timedelta(seconds=10))


@wfkit.activity
async def wf_echo(x: str) -> str:
    return x


@wfkit.workflow
class WfOne:
    @wfkit.run
    async def run(self, x: str) -> str:
        return await wfkit.execute_activity(wf_echo, x, start_to_close_timeout=10)


async def raw_round(raw: Client, n: int) -> float:
    tq = f"raw-{uuid.uuid4().hex[:8]}"
    async with Worker(raw, task_queue=tq, workflows=[RawOne], activities=[raw_echo],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        t0 = time.perf_counter()
        hs = await asyncio.gather(*(raw.start_workflow(RawOne.run, f"v{i}", id=f"{tq}-{i}", task_queue=tq)
                                    for i in range(n)))
        results = await asyncio.gather(*(h.result() for h in hs))
        dt = time.perf_counter() - t0
    assert results == [f"v{i}" for i in range(n)]
    return dt


async def wfkit_round(client: wfkit.Client, n: int) -> float:
    tq = f"wfkit-{uuid.uuid4().hex[:8]}"
    async with client.worker(task_queue=tq, workflows=[WfOne], activities=[wf_echo]):
        t0 = time.perf_counter()
        hs = await asyncio.gather(*(client.start(WfOne, f"v{i}", id=f"{tq}-{i}", task_queue=tq) for i in range(n)))
        results = await asyncio.gather(*(h.result() for h in hs))
        dt = time.perf_counter() - t0
    assert results == [f"v{i}" for i in range(n)]
    return dt


async def main(total: int, per_round: int) -> None:
    print("== Temporal ==")
    server = TemporalDevServer.start()
    try:
        raw = await Client.connect(server.address)
        client = await wfkit.connect(server.url)
        await raw_round(raw, 10)          # warm-up, not counted
        await wfkit_round(client, 10)
        raw_t = wf_t = 0.0
        rounds = total // per_round
        for _ in range(rounds):
            raw_t += await raw_round(raw, per_round)
            wf_t += await wfkit_round(client, per_round)
        n = rounds * per_round
        report(n, rounds, per_round, "raw temporalio", raw_t, wf_t)
        await client.close()
    finally:
        server.stop()


def report(n: int, rounds: int, per_round: int, raw_name: str, raw_t: float, wf_t: float) -> None:
    print(f"workflows per side: {n} in {rounds} alternating rounds of {per_round}")
    print(f"{raw_name:<26}: {n / raw_t:7.1f} workflows/s ({raw_t:.2f} s)")
    print(f"{'wfkit':<26}: {n / wf_t:7.1f} workflows/s ({wf_t:.2f} s)")
    print(f"ratio wfkit time / raw time: {wf_t / raw_t:.3f} (goal <= 1.05)")


# --- Cadence: wfkit vs raw cadence-python-client ------------------------------------------------------------

def cadence_raw_side() -> tuple[object, object]:
    """The same one-activity workflow written directly against cadence-python-client."""
    from cadence import Registry
    from cadence import workflow as cwf

    registry = Registry()

    @registry.activity(name="raw_echo")
    async def c_raw_echo(x: str) -> str:
        return x

    @registry.workflow(name="RawOneCadence")
    class RawOneCadence:
        @cwf.run
        async def run(self, x: str) -> str:
            return await cwf.execute_activity("raw_echo", str, x, start_to_close_timeout=timedelta(seconds=10),
                                              schedule_to_start_timeout=timedelta(seconds=60))

    return registry, RawOneCadence


async def cadence_raw_result(raw: object, workflow_id: str, run_id: str) -> str:
    from cadence.api.v1 import history_pb2
    from cadence.api.v1.common_pb2 import WorkflowExecution
    from cadence.api.v1.service_workflow_pb2 import GetWorkflowExecutionHistoryRequest

    token = b""
    while True:
        resp = await raw.workflow_stub.GetWorkflowExecutionHistory(GetWorkflowExecutionHistoryRequest(
            domain=raw.domain, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            next_page_token=token, wait_for_new_event=True,
            history_event_filter_type=history_pb2.EVENT_FILTER_TYPE_CLOSE_EVENT), timeout=70)
        if resp.history.events:
            ev = resp.history.events[-1]
            payload = ev.workflow_execution_completed_event_attributes.result
            return raw.data_converter.from_data(payload, [str])[0]
        token = resp.next_page_token


async def cadence_raw_round(raw: object, registry: object, n: int) -> float:
    from cadence.worker import Worker as CadenceWorker

    tq = f"raw-{uuid.uuid4().hex[:8]}"
    async with CadenceWorker(raw, tq, registry):
        t0 = time.perf_counter()
        execs = await asyncio.gather(*(raw.start_workflow(
            "RawOneCadence", f"v{i}", task_list=tq, workflow_id=f"{tq}-{i}",
            execution_start_to_close_timeout=timedelta(minutes=5)) for i in range(n)))
        results = await asyncio.gather(*(cadence_raw_result(raw, e.workflow_id, e.run_id) for e in execs))
        dt = time.perf_counter() - t0
    assert results == [f"v{i}" for i in range(n)], results[:3]
    return dt


async def main_cadence(total: int, per_round: int) -> None:
    from cadence import Client as CadenceClient

    from wfkit_cadence.devserver import CadenceDevServer

    print("== Cadence ==")
    server = CadenceDevServer.start()
    try:
        raw = CadenceClient(domain=server.domain, target=server.address)
        await raw.ready()
        client = await wfkit.connect(server.url)
        registry, _ = cadence_raw_side()
        await cadence_raw_round(raw, registry, 10)          # warm-up, not counted
        await wfkit_round(client, 10)
        raw_t = wf_t = 0.0
        rounds = total // per_round
        for _ in range(rounds):
            raw_t += await cadence_raw_round(raw, registry, per_round)
            wf_t += await wfkit_round(client, per_round)
        report(rounds * per_round, rounds, per_round, "raw cadence-python-client", raw_t, wf_t)
        await client.close()
        await raw.close()
    finally:
        server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["temporal", "cadence", "both"], default="both")
    ap.add_argument("--total", type=int, default=200)
    ap.add_argument("--round", type=int, default=25)
    a = ap.parse_args()
    if a.engine in ("temporal", "both"):
        asyncio.run(main(a.total, a.round))
    if a.engine in ("cadence", "both"):
        asyncio.run(main_cadence(a.total, a.round))
