"""A URL's path and the options an engine plugin declares reach the plugin (``ConnectConfig.path``/``.options``);
they were dropped (the path silently) or refused before."""

from __future__ import annotations

import pytest

from wfkit._config import parse_url
from wfkit._errors import WfkitError


def test_path_and_declared_options_reach_the_engine():
    cfg = parse_url("local:///tmp/state%20file.db?time=skip&namespace=ns")
    assert (cfg.engine, cfg.path, cfg.options, cfg.namespace) == ("local", "/tmp/state file.db", {"time": "skip"}, "ns")
    assert parse_url("local://").path == "" and parse_url("local://").options == {}


def test_undeclared_options_are_still_refused_by_name():
    with pytest.raises(WfkitError, match="unknown connection option 'time'.*known: api_key"):
        parse_url("temporal://localhost:7233?time=skip")
    with pytest.raises(WfkitError, match="unknown connection option 'speed'.*time"):
        parse_url("local://?speed=1")
