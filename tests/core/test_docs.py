"""The documentation site's generated parts (the full build, notebooks executed, is `make docs`, run by CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_magic_reference_comes_from_every_parser():
    pytest.importorskip("IPython")
    from wfkit.notebook.commands import COMMANDS

    spec = importlib.util.spec_from_file_location("docs_conf", ROOT / "docs" / "conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    text = conf._magic_reference()
    for name in COMMANDS:
        assert f"## `%wf {name}`" in text and f"usage: %wf {name}" in text
    assert "`autopandas`" in text and "`display_limit`" in text


def test_docs_build_fails_on_warnings_and_runs_in_ci():
    makefile = (ROOT / "Makefile").read_text()
    assert "-m sphinx -W" in makefile and "docs: setup" in makefile
    assert "make docs" in (ROOT / ".ci" / "run").read_text()
    assert (ROOT / "docs" / "index.md").exists()
