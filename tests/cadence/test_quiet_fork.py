"""Starting a dev server while a Cadence gRPC channel is open prints nothing (gRPC's fork handlers used to log
"fork_posix.cc … skipping fork() handlers" into the notebook: notebook 04's first cell)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_no_grpc_fork_log_line(cadence_server):
    script = textwrap.dedent(f"""
        import wfkit
        c = wfkit.connect_sync({cadence_server.url!r})
        c.sync.count()
        t = wfkit.connect_sync("temporal+dev://")   # forks (and execs) the Temporal dev server
        c.sync.count()
        t.sync.close(); c.sync.close()
        print("done")
    """)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GRPC_")}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "done", r.stderr[-2000:]
    assert "fork_posix" not in r.stderr and ".cc:" not in r.stderr, r.stderr[-2000:]
