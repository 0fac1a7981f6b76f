"""Secrets and bad settings in URLs and keywords: every error is a wfkit error, and none echoes a secret."""

from __future__ import annotations

import math

import pytest

import wfkit
from wfkit._config import Redacted, parse_url, redact_url

SECRET = "sk-wfkit-TOPSECRET-0123456789"

SHAPES = [
    f"temporal://user:{SECRET}@h:abc",
    f"temporal://:{SECRET}@h:99999",
    f"temporal://{SECRET}@h:7233",
    f"temporal://user:{SECRET}@h",
    SECRET,
    f" {SECRET} ",
    f"h:7233?api_key={SECRET}",
    f"temporal://h:abc?api_key={SECRET}",
    f"temporal://h:99999?api_key={SECRET}",
    f"temporal://h:abc?API_KEY={SECRET}",
    f"temporal://h:abc?namespace=x;api_key={SECRET}",
    f"temporal://h:abc?api_key = {SECRET}",
    f"temporal://h:abc;api_key={SECRET}",
    f"temporal://[::1:7233?api_key={SECRET}",
    f"temporal://h:7233?{SECRET}",
    f"temporal://h:7233?namespace=x&tls_key={SECRET}&bogus=1",
    f"temporal://h:7233#{SECRET}",
    f"kafka://h:abc?api_key={SECRET}",
]


@pytest.mark.parametrize("url", SHAPES)
def test_url_errors_never_echo_a_secret(url):
    with pytest.raises(wfkit.WfkitError) as info:
        wfkit.connect_sync(url, connect_timeout=1)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in redact_url(url)


@pytest.mark.parametrize("url", [
    f"temporal://h:7233?API_KEY={SECRET}", f"temporal://h:7233?namespace=x;api_key={SECRET}",
    f"temporal://h:7233?api_key = {SECRET}", f"temporal://h:7233;api_key={SECRET}&namespace=x",
])
def test_option_shapes_are_read(url):
    cfg = parse_url(url)
    assert cfg.api_key is not None and cfg.api_key.get() == SECRET and (cfg.host, cfg.port) == ("h", 7233)
    assert SECRET not in repr(cfg)


def test_redact_url_keeps_what_helps():
    assert redact_url(f"cadence://h:7833?domain=d&api_key={SECRET}&tls=1") == "cadence://h:7833?domain=d&api_key=***&tls=1"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"url": "temporal://127.0.0.1:0"}, "port 0"),
    ({"url": "temporal://127.0.0.1:1", "connect_timeout": 0}, "connect_timeout must be a positive"),
    ({"url": "temporal://127.0.0.1:1", "connect_timeout": -1}, "connect_timeout must be a positive"),
    ({"url": "temporal://127.0.0.1:1", "connect_timeout": math.nan}, "connect_timeout must be a positive"),
    ({"url": "temporal://127.0.0.1:1?connect_timeout=-2"}, "connect_timeout must be a positive"),
    ({"url": "temporal://[::1:7233"}, "malformed URL"),
    ({"url": "temporal://127.0.0.1:1", "api_key": "kéy-" + SECRET}, "non-ASCII"),
    ({"url": "temporal://127.0.0.1:1", "api_key": SECRET + "\n"}, "control character"),
    ({"url": "cadence://127.0.0.1:1", "api_key": SECRET + "\x00"}, "control character"),
    ({"url": "temporal+dev://?port=abc"}, "port must be a whole number"),
])
def test_bad_settings_fail_at_connect(kwargs, match):
    url = kwargs.pop("url")
    with pytest.raises(wfkit.WfkitError, match=match) as info:
        wfkit.connect_sync(url, **kwargs)
    assert SECRET not in str(info.value)


def test_api_key_from_env_is_checked(monkeypatch):
    monkeypatch.setenv("WFKIT_API_KEY", "bad\x7fkey")
    with pytest.raises(wfkit.WfkitError, match="control character"):
        wfkit.connect_sync("temporal://127.0.0.1:1")


def test_redacted_wrapper():
    class Config:
        def __init__(self):
            self.api_key = SECRET
            self.headers = {"authorization": f"Bearer {SECRET}"}

        def __repr__(self):
            return f"Config(api_key={self.api_key!r}, headers={self.headers!r})"

    class Sdk:
        def __init__(self):
            self.config = Config()

        def ping(self) -> str:
            return "pong"

    sdk = Sdk()
    r = Redacted(sdk, (SECRET,))
    for shown in (repr(r), str(r), repr(r.config), str(r.config), r.config.api_key, repr(r.config.headers),
                  r.config.headers["authorization"]):
        assert SECRET not in shown, shown
    assert r.ping() == "pong" and r.unwrap() is sdk
