"""Workflows defined in ``__main__`` (a script, or a notebook cell) run, and redefinition warns."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import wfkit

SCRIPT = textwrap.dedent('''
    import dataclasses, sys, uuid
    import wfkit

    @dataclasses.dataclass
    class Greeting:
        name: str
        times: int

    @wfkit.activity
    def shout(g: Greeting) -> str:
        return (g.name.upper() + "!") * g.times

    @wfkit.workflow
    class MainWorkflow:
        @wfkit.run
        async def run(self, g: Greeting) -> str:
            return await wfkit.execute_activity(shout, g, start_to_close_timeout=10)

    client = wfkit.connect_sync(sys.argv[1])
    tq = "main-" + uuid.uuid4().hex[:8]
    with client.sync.worker(task_queue=tq, workflows=[MainWorkflow], activities=[shout]):
        h = client.sync.start(MainWorkflow, Greeting("hi", 2), task_queue=tq)
        print(h.sync.result(timeout=30))
    client.sync.close()
''')


def test_workflow_defined_in_main(engine, server_for, tmp_path):
    server = server_for(engine)
    script = tmp_path / "main_workflow.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), server.url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "HI!HI!"


async def test_redefinition_while_served_warns(client, task_queue):
    @wfkit.workflow(name="Redefined")
    class First:
        @wfkit.run
        async def run(self) -> int:
            return 1

    async with client.worker(task_queue=task_queue, workflows=[First]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")

            @wfkit.workflow(name="Redefined")
            class Second:
                @wfkit.run
                async def run(self) -> int:
                    return 2

        assert any("restart the worker" in str(c.message) for c in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @wfkit.workflow(name="Redefined")
        class Third:  # no worker serves it any more: no warning
            @wfkit.run
            async def run(self) -> int:
                return 3
