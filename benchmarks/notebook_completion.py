"""Tab completion of ``%wf`` lines in a real IPython shell, against completing a Python name in the same shell.

A kernel that has seen 200 workflow IDs (a client's recent IDs are capped at 200) and has 500 notebook variables.
Prints the median time per line and its ratio to the baseline (``pri`` → ``print``); the goal is < 100 ms a line.
No server is needed: completion answers from memory.

    .venv/bin/python benchmarks/notebook_completion.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

LINES = ["%wf ", "%wf describe order-", "%wf history order-1 --", "%wf query order-1 ", "%wf signal order-1 ",
         "%wf start ", "%wf worker --workflows ", "%wf migrate --strategy ", "%wf describe "]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    from IPython.core.interactiveshell import InteractiveShell

    import wfkit
    from wfkit.notebook import connections
    from wfkit.testing.conformance import workflows as w

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "wfkit")
    ip.user_ns.update({f"var{i}": i for i in range(500)})
    ip.user_ns["Waiter"] = w.Waiter
    client = wfkit.Client.__new__(wfkit.Client)  # a client object without a server: only its memory is used
    client._recent_ids, client._recent_types = [], {}
    for i in range(200):
        client._remember(f"order-{i}", "Waiter")
    connections.default._clients["bench"] = client
    connections.default._current = "bench"

    def timed(line: str) -> float:
        ip.complete("", line)  # warm
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            ip.complete("", line)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000

    base = timed("pri")
    print(f"baseline  {'pri':<28} {base:8.2f} ms")
    for line in LINES:
        ms = timed(line)
        print(f"%wf line  {line!r:<28} {ms:8.2f} ms  ratio {ms / base:5.2f}  {'ok' if ms < 100 else 'SLOW'}")
    del connections.default._clients["bench"]
    connections.default._current = None


if __name__ == "__main__":
    main()
