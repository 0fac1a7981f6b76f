"""The conformance suite, run on a real Cadence server (built from its Go modules)."""

from __future__ import annotations

import pytest

from wfkit.testing.conformance.test_close import *  # noqa: F403
from wfkit.testing.conformance.test_codecs import *  # noqa: F403
from wfkit.testing.conformance.test_connect import *  # noqa: F403
from wfkit.testing.conformance.test_core import *  # noqa: F403
from wfkit.testing.conformance.test_main_module import *  # noqa: F403
from wfkit.testing.conformance.test_operate import *  # noqa: F403
from wfkit.testing.conformance.test_telemetry import *  # noqa: F403
from wfkit.testing.conformance.test_worker_cache import *  # noqa: F403


@pytest.fixture(scope="session")
def engine() -> str:
    return "cadence"
