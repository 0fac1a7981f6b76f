"""wfkit in Jupyter: the ``%wf`` magic, the connections registry it shares with widgets and plain Python, the
ipywidgets, rich HTML reprs (Jinja templates, autoescaped) and plots.

    from wfkit.notebook import connections       # the registry %wf and the widgets use
    connections.connect("temporal://localhost:7233", name="prod")

Nothing here is imported by ``import wfkit``, and importing this package imports neither IPython, ipywidgets,
matplotlib nor pandas: the magic, the widgets and the plots load them when first used.

Modules: :mod:`~wfkit.notebook.connections` (the registry), :mod:`~wfkit.notebook.magic` (``%wf``, a router),
:mod:`~wfkit.notebook.commands` (one function per subcommand), :mod:`~wfkit.notebook.completion`,
:mod:`~wfkit.notebook.widgets`, :mod:`~wfkit.notebook.html` (reprs), :mod:`~wfkit.notebook.plotting`.
"""

from __future__ import annotations

from typing import Any

from wfkit.notebook import connections
from wfkit.notebook.connections import Connections
from wfkit.notebook.plotting import plot_timeline

__all__ = ["ConnectionPanel", "Connections", "LiveMonitor", "Panel", "WfMagic", "WorkflowBrowser", "connections",
           "load_ipython_extension", "plot_timeline"]

# Names whose modules import IPython or ipywidgets, loaded on first access.
_LAZY = {
    "WfMagic": "wfkit.notebook.magic",
    "load_ipython_extension": "wfkit.notebook.magic",
    "ConnectionPanel": "wfkit.notebook.widgets",
    "LiveMonitor": "wfkit.notebook.widgets",
    "Panel": "wfkit.notebook.widgets",
    "WorkflowBrowser": "wfkit.notebook.widgets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
