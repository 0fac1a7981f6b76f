"""The tour notebooks on the local engine, unchanged but for the URL: ``temporal+dev://`` becomes ``local://``
(the notebooks that compare or migrate between two servers keep their other engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat (test extra)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient (test extra)")

NOTEBOOKS = sorted((Path(__file__).parents[3] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_local(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    switched = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "temporal+dev://" in cell.source:
            cell.source = cell.source.replace("temporal+dev://", "local://")
            switched += 1
    assert switched, f"{path.name} connects to no temporal+dev:// URL"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
