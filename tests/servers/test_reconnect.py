"""A client outlives its server: after the server restarts (on its file store, same port), an existing client
and a new ``connect()`` in the same process work again within seconds of the server being ready."""

from __future__ import annotations

import time

import pytest

import wfkit
from wfkit import devserver
from wfkit.engine import free_port

RECOVERY = 5.0  # seconds after the restarted server is ready; gRPC's default reconnect backoff took 10-120 s


def _first_ok(call, deadline: float) -> float:
    """Seconds until ``call()`` succeeds (it is retried every 50 ms), or the deadline passed (an AssertionError)."""
    t0 = time.monotonic()
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            call()
            return time.monotonic() - t0
        except wfkit.WfkitError as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"no answer {time.monotonic() - t0:.1f} s after the server was ready: {last}")


@pytest.mark.parametrize("engine", ["temporal", "cadence"])
def test_clients_recover_after_a_server_restart(engine, tmp_path):
    port = free_port()
    db = tmp_path / "store"
    if engine == "cadence":
        db.mkdir()  # (the Cadence store is a folder of SQLite files)
    db_arg = str(db if engine == "cadence" else tmp_path / "store.db")
    server = devserver.start(engine, port=port, db=db_arg)
    client = wfkit.connect_sync(server.url, connect_timeout=10)
    try:
        assert client.sync.list(limit=1) is not None
        server.stop()
        # calls while it is down fail (with a wfkit error) or wait; the server stays down for a while, long enough
        # for the channel's reconnect backoff to grow
        down_until = time.monotonic() + 8
        while time.monotonic() < down_until:
            try:
                client.sync.list(limit=1)
            except wfkit.WfkitError:
                pass
            time.sleep(0.5)
        server = devserver.start(engine, port=port, db=db_arg)
        ready = time.monotonic()
        existing = _first_ok(lambda: client.sync.list(limit=1), ready + 60)

        fresh_t0 = time.monotonic()
        fresh = None
        deadline = fresh_t0 + 60
        while fresh is None:
            try:
                fresh = wfkit.connect_sync(server.url, connect_timeout=3)
            except wfkit.ConnectionFailed:
                if time.monotonic() > deadline:
                    raise
        fresh_s = time.monotonic() - fresh_t0
        fresh.sync.close()
        print(f"{engine}: existing client back {existing:.2f} s after the server was ready; new connect "
              f"{fresh_s:.2f} s")
        assert existing < RECOVERY, f"{engine}: the existing client came back after {existing:.1f} s"
        assert fresh_s < RECOVERY, f"{engine}: a new connect took {fresh_s:.1f} s"
    finally:
        client.sync.close()
        server.stop()
