"""Every notebook in notebooks/ runs top to bottom in a real kernel against real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat (test extra)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient (test extra)")

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks with clean outputs"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # no noise: no gRPC C-core log lines (fork_posix.cc …), no tracebacks printed, no echoed matplotlib objects
    streams = [(i, o.get("text", "")) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs
               if o.output_type == "stream"]
    noisy = [(i, t[:300]) for i, t in streams if "fork_posix" in t or ".cc:" in t or "Traceback" in t]
    assert not noisy, noisy
    plain = [(i, o["data"]["text/plain"]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
             for o in c.outputs if o.output_type == "execute_result" and "text/plain" in o.get("data", {})]
    assert not [(i, t) for i, t in plain if t.startswith(("<Axes", "<Figure"))], plain
