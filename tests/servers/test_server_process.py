"""The process-group handling of ``ServerProcess`` (the base of every embedded server)."""

from __future__ import annotations

import os
import sys

from wfkit.devserver import ServerProcess


def test_a_reaped_server_is_not_signalled_again(tmp_path, monkeypatch):
    """Once a server's leader is reaped, its PID (its group's ID) may belong to a new process of someone else's
    (PIDs wrap quickly where pid_max is 32768): stop() and kill() must not signal that group any more. stop()
    used to SIGKILL the group after reaping, which could kill an unrelated server started meanwhile."""
    proc = ServerProcess([sys.executable, "-c", "pass"], log_path=tmp_path / "s.log", env={}, name="short-lived")
    proc.proc.wait(10)  # exited and reaped
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pgid, sig: sent.append((pgid, sig)))
    proc.stop()
    proc.kill()
    assert sent == []


def test_stop_ends_the_whole_group(tmp_path):
    """A running server and the processes it started are all ended by stop(), and its leader is reaped."""
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
            "print('up', flush=True); time.sleep(60)"
    proc = ServerProcess([sys.executable, "-c", child], log_path=tmp_path / "s.log", env={}, name="group")
    pgid = proc.pid
    import time

    deadline = time.monotonic() + 10
    while "up" not in (tmp_path / "s.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.stop(timeout=5)
    assert proc.proc.returncode is not None
    time.sleep(0.2)
    try:
        os.killpg(pgid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
