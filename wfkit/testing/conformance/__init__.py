"""The conformance suite: behaviour every wfkit engine must show, run against a real server of that engine.

An engine plugin runs it from its own tests (as dbt adapters subclass dbt's base tests), e.g.
``adapters/temporal/tests/test_conformance.py``::

    import pytest

    from wfkit.testing.conformance.test_connect import *  # noqa: F403
    from wfkit.testing.conformance.test_core import *  # noqa: F403

    @pytest.fixture(scope="session")
    def engine() -> str:
        return "temporal"

with the plugin loaded (``-p wfkit.testing.plugin``). What an engine does not support is skipped or expected by
its declared capabilities (``client.capabilities``), never by its name. The workflows the suite runs are in
:mod:`wfkit.testing.conformance.workflows`.
"""
