"""``wfkit worker migrate`` in a process of its own, each workflow's migration slowed down (used by test_job.py).

    python -m tests.migration._job_worker SECONDS wfkit worker migrate --on URL --task-queue Q ...

Every step of every workflow's restart waits up to 2 x SECONDS, at random (through the migration's fault-injection
hooks), so that the workflows of a batch finish one by one and a test can kill the process while a batch is half
done; then it runs the CLI exactly as given.
"""

from __future__ import annotations

import asyncio
import random
import sys

from wfkit import cli
from wfkit.migrate import _job


def main(delay: float, argv: list[str]) -> int:
    async def slow(wid: str) -> None:
        await asyncio.sleep(random.uniform(0, 2 * delay))

    for step in ("state", "started", "terminated"):
        _job._hooks[step] = slow
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]), sys.argv[3:]))
