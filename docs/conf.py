"""Sphinx configuration of wfkit's documentation site (``make docs``; warnings fail the build).

Generated at build time, never committed: ``_generated/magic.md`` (the ``%wf`` reference, from each subcommand's
own argparse parser) and ``tour/`` (copies of ``notebooks/*.ipynb``, executed by myst-nb against the embedded
servers they start).
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

project = "wfkit"
author = "the wfkit authors"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "jupyter_execute", ".jupyter_cache"]
html_theme = "furo"
html_title = "wfkit"

# notebooks: executed on every build, in a temporary directory; an error in a cell fails the build
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_in_temp = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]


def _magic_reference() -> str:
    from wfkit.notebook.commands import COMMANDS, overview, usage

    parts = ["# The `%wf` magic", "",
             "Generated from the subcommands' own parsers (what `%wf SUBCOMMAND --help` prints).", "",
             "```text", overview(), "```", ""]
    for name in COMMANDS:
        parts += [f"## `%wf {name}`", "", "```text", usage(name).rstrip(), "```", ""]
    parts += ["## Settings", "", "`%config WfMagic.<name> = value`:", ""]
    from wfkit.notebook.magic import WfMagic

    for name, trait in sorted(WfMagic.class_own_traits(config=True).items()):
        parts.append(f"- `{name}` (default `{trait.default_value!r}`): {trait.help}")
    return "\n".join(parts) + "\n"


def _generate(app: object) -> None:
    generated = HERE / "_generated"
    generated.mkdir(exist_ok=True)
    text = _magic_reference()
    target = generated / "magic.md"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    tour = HERE / "tour"
    tour.mkdir(exist_ok=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        dest = tour / nb.name
        if not dest.exists() or dest.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, dest)


def setup(app: object) -> None:
    app.connect("builder-inited", _generate)  # type: ignore[attr-defined]
