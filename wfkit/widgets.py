"""Old import path of :mod:`wfkit.notebook.widgets`, kept so existing notebooks keep working."""

from wfkit.notebook.widgets import *  # noqa: F403
from wfkit.notebook.widgets import __all__  # noqa: F401
