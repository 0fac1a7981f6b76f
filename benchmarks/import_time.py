"""Import cost in a fresh interpreter: ``import wfkit`` (+ ``%load_ext wfkit``) next to ``import temporalio.client``.

Each figure is the median of 7 fresh processes (``python -c``), so module caches on disk are warm but nothing is
imported yet. Goal: wfkit with its magic loaded <= 1.2x temporalio.client.

    .venv/bin/python benchmarks/import_time.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys

CASES = {
    "import temporalio.client": "import temporalio.client",
    "import wfkit": "import wfkit",
    "import wfkit + %load_ext wfkit": ("import wfkit\nfrom IPython.core.interactiveshell import InteractiveShell\n"
                                       "ip = InteractiveShell.instance()\nip.run_line_magic('load_ext', 'wfkit')"),
    "IPython shell alone (baseline of the line above)": (
        "from IPython.core.interactiveshell import InteractiveShell\nInteractiveShell.instance()"),
}


def measure(code: str, runs: int = 7) -> float:
    timed = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True,
                                                  check=True).stdout.split()[-1]) for _ in range(runs))


def main() -> None:
    results = {name: measure(code) for name, code in CASES.items()}
    for name, t in results.items():
        print(f"{name:<50} {t * 1000:7.1f} ms")
    base = results["import temporalio.client"]
    magic = results["import wfkit + %load_ext wfkit"] - results["IPython shell alone (baseline of the line above)"]
    print(f"ratio import wfkit / import temporalio.client: {results['import wfkit'] / base:.2f}")
    print(f"ratio (import wfkit + %load_ext, IPython itself excluded) / temporalio.client: {magic / base:.2f} "
          "(goal <= 1.2)")


if __name__ == "__main__":
    main()
