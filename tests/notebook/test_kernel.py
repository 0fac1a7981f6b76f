"""wfkit in a real ipykernel (jupyter_client): background workers, blocking cells, interrupts, await in cells."""

from __future__ import annotations

import textwrap
import time
import uuid

import pytest

import wfkit

jupyter_client = pytest.importorskip("jupyter_client", reason="kernel tests need jupyter_client (test extra)")


@pytest.fixture
def kernel():
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def run(kc, code: str, timeout: float = 60) -> dict:
    """Execute code, return {'status', 'stdout', 'error'}."""
    msg_id = kc.execute(textwrap.dedent(code))
    out: dict = {"stdout": "", "error": None, "status": None}
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, c = msg["msg_type"], msg["content"]
        if t == "stream":
            out["stdout"] += c["text"]
        elif t == "error":
            out["error"] = c["ename"]
        elif t == "status" and c["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=10)
    out["status"] = reply["content"]["status"]
    return out


CELL_DEFINE = '''
    import wfkit, time, asyncio
    @wfkit.activity
    async def shout(x: str) -> str:
        return x.upper()

    @wfkit.workflow
    class KernelWorkflow:
        @wfkit.run
        async def run(self, x: str) -> str:
            return await wfkit.execute_activity(shout, x, start_to_close_timeout=10)

    @wfkit.workflow
    class Forever:
        @wfkit.run
        async def run(self) -> None:
            await wfkit.sleep(3600)
'''


def test_background_worker_serves_while_a_cell_blocks(kernel, temporal_server):
    km, kc = kernel
    tq = f"kernel-{uuid.uuid4().hex[:8]}"
    assert run(kc, CELL_DEFINE)["status"] == "ok"
    r = run(kc, f'''
        client = wfkit.connect_sync({temporal_server.url!r})
        worker = client.worker(task_queue={tq!r}, workflows=[KernelWorkflow, Forever], activities=[shout]).start()
        print("worker up")
    ''')
    assert r["status"] == "ok" and "worker up" in r["stdout"], r

    # cell 2 blocks in time.sleep while a third party starts a workflow and waits for it
    msg_id = kc.execute("time.sleep(3); print('slept')")
    outside = wfkit.connect_sync(temporal_server.url)
    h = outside.sync.start("KernelWorkflow", "hi", id=f"{tq}-1", task_queue=tq)
    t0 = time.monotonic()
    assert h.sync.result(timeout=20) == "HI"
    served_while_blocked = time.monotonic() - t0 < 3
    while kc.get_shell_msg(timeout=30)["parent_header"].get("msg_id") != msg_id:
        pass
    assert served_while_blocked, "the worker must serve while a cell blocks in time.sleep"

    # cell 3: the kernel sees it completed; `await` works in a cell too
    r = run(kc, f'''
        d = await client.handle({tq + "-1"!r}).describe()
        print(d.status, await client.handle({tq + "-1"!r}).result())
    ''')
    assert r["status"] == "ok" and "completed HI" in r["stdout"], r

    # interrupting a cell cancels the wait, never the workflow
    assert run(kc, f"h = client.sync.start(Forever, id={tq + '-forever'!r}, task_queue={tq!r})")["status"] == "ok"
    msg_id = kc.execute("h.sync.result()")
    time.sleep(1.5)
    km.interrupt_kernel()
    while True:
        reply = kc.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert outside.sync.handle(f"{tq}-forever").sync.describe().status == "running"

    # the awaitable form too: the stop button ends `await h.result()` (it used to hang the kernel), also inside
    # asyncio.gather, with wfkit's WaitInterrupted (a KeyboardInterrupt raised in a task would kill the kernel)
    msg_id = kc.execute("await asyncio.gather(h.result(), h.result())")
    time.sleep(1.5)
    t0 = time.monotonic()
    km.interrupt_kernel()
    while True:
        reply = kc.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "WaitInterrupted", reply["content"]
    assert time.monotonic() - t0 < 10
    assert outside.sync.handle(f"{tq}-forever").sync.describe().status == "running"
    assert run(kc, "print(1 + 1)")["stdout"].strip() == "2"  # the kernel goes on

    r = run(kc, "worker.stop(); print(worker.running)")
    assert r["status"] == "ok" and "False" in r["stdout"]
    outside.sync.handle(f"{tq}-forever").sync.terminate()
    outside.sync.close()


def test_load_ext_and_magic_in_kernel(kernel, temporal_server):
    km, kc = kernel
    r = run(kc, f'''
        %load_ext wfkit
        c = %wf connect {temporal_server.url} --as k
        print(c.engine)
        %wf describe no-such-id
    ''')
    assert r["status"] == "ok" and "temporal" in r["stdout"], r
