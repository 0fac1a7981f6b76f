"""A real IPython shell with ``%load_ext wfkit``, and a clean default connections registry per test module."""

from __future__ import annotations

import pytest

from wfkit.notebook import connections


@pytest.fixture(scope="module", autouse=True)
def fresh_connections():
    """The default registry is the process's: each module starts and ends with it empty."""
    connections.close_all()
    yield connections.default
    connections.close_all()


@pytest.fixture(scope="module")
def ip():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext wfkit", store_history=False)
    return shell


@pytest.fixture(scope="module")
def magic(ip):
    return ip.magics_manager.registry["WfMagic"]
