"""Connection URLs and environment variables, read without a server."""

from __future__ import annotations

import pytest

import wfkit
from wfkit._config import parse_url, url_from_env

SECRET = "sk-wfkit-TOPSECRET-0123456789"


def test_url_parsing_and_errors():
    cfg = parse_url(f"temporal://example.test:7000?namespace=prod&api_key={SECRET}&tls=1")
    assert (cfg.engine, cfg.host, cfg.port, cfg.namespace, cfg.tls) == ("temporal", "example.test", 7000, "prod", True)
    assert SECRET not in repr(cfg) and cfg.api_key.get() == SECRET
    cfg = parse_url("cadence://h?domain=samples&register=1")
    assert (cfg.engine, cfg.port, cfg.namespace, cfg.register_domain, cfg.address) == (
        "cadence", None, "samples", True, "h:7833")
    assert parse_url("temporal+dev://").dev
    with pytest.raises(wfkit.WfkitError, match="unknown connection option 'namespce'"):
        parse_url("temporal://h:1?namespce=x")
    with pytest.raises(wfkit.WfkitError, match="not a wfkit URL"):
        parse_url("localhost:7233")
    with pytest.raises(wfkit.WfkitError) as info:
        parse_url(f"temporal//h?api_key={SECRET}")
    assert SECRET not in str(info.value)
    with pytest.raises(wfkit.WfkitError, match=r"unknown URL scheme 'kafka://' \(known: .*temporal\+dev://"):
        wfkit.connect_sync("kafka://h:1")


def test_url_from_env():
    assert url_from_env({"WFKIT_URL": "cadence://x:1?domain=d"}) == "cadence://x:1?domain=d"
    env = {"WORKFLOW_ENGINE_TYPE": "temporal", "TEMPORAL_SERVER_URL": "t.example:7233", "TEMPORAL_NAMESPACE": "ns"}
    assert url_from_env(env) == "temporal://t.example:7233?namespace=ns"
    env = {"WORKFLOW_ENGINE_TYPE": "cadence", "CADENCE_SERVER_URL": "grpc://c.example:7833",
           "CADENCE_NAMESPACE": "samples"}
    assert url_from_env(env) == "cadence://c.example:7833?domain=samples"
    with pytest.raises(wfkit.WfkitError, match="WORKFLOW_ENGINE_TYPE"):
        url_from_env({})
