"""wfkit's own tests run on real Temporal and Cadence servers started by the project (the fixtures of
``wfkit.testing.plugin``, loaded through pytest's ``addopts``); these name the two engines this repo ships."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="session")
def temporal_server(server_for: Callable[[str], Any]) -> Any:
    return server_for("temporal")


@pytest.fixture(scope="session")
def cadence_server(server_for: Callable[[str], Any]) -> Any:
    return server_for("cadence")
