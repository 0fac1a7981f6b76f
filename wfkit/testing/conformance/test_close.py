"""Closing a client: its workers stop, calls in flight and every later call raise ``ClientClosed``."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import wfkit

from . import workflows as w


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_close_stops_workers_and_fails_every_call(engine, server_for, task_queue):
    url = server_for(engine).url
    client = await wfkit.connect(url)
    observer = await wfkit.connect(url)
    try:
        worker = client.worker(task_queue=task_queue, workflows=[w.Waiter, w.Hello], activities=[w.echo]).start()
        handle = await client.start(w.Waiter, 1, id=wid("close"), task_queue=task_queue)
        waiting = asyncio.ensure_future(handle.result(timeout=120))
        waiting_sync = asyncio.ensure_future(asyncio.to_thread(handle.sync.result, timeout=120))
        await asyncio.sleep(1)
        assert not waiting.done() and not waiting_sync.done()

        await client.close()
        for pending in (waiting, waiting_sync):
            with pytest.raises(wfkit.ClientClosed):
                await asyncio.wait_for(pending, 15)
        assert client.closed and "closed" in repr(client)
        assert not worker.running

        calls = {
            "start": lambda: client.start(w.Hello, "x", task_queue=task_queue),
            "list": lambda: client.list(limit=1),
            "signal": lambda: handle.signal("add", "late"),
            "query": lambda: handle.query("count"),
            "describe": handle.describe,
            "history": handle.history,
            "result": handle.result,
            "cancel": handle.cancel,
            "terminate": handle.terminate,
        }
        for name, call in calls.items():
            with pytest.raises(wfkit.ClientClosed):
                await call()
            assert name
        with pytest.raises(wfkit.ClientClosed):
            client.sync.list(limit=1)
        with pytest.raises(wfkit.ClientClosed):
            client.worker(task_queue=task_queue, workflows=[w.Hello], activities=[w.echo]).start()
        await client.close()  # twice is fine

        # The closed client's worker no longer serves its task queue.
        late = await observer.start(w.Hello, "nobody", id=wid("unserved"), task_queue=task_queue)
        with pytest.raises((TimeoutError, wfkit.TimeoutError)):
            await late.result(timeout=4)
        await late.terminate("test over")
        # The workflow itself is untouched: another client finishes it.
        await observer.handle(handle.workflow_id).terminate("test over")
    finally:
        await client.close()
        await observer.close()
