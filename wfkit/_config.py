"""Connection settings: URLs, environment variables, secrets."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._errors import WfkitError

TAGS_MEMO_KEY = "wfkit.tags"
"""Memo key under which wfkit stores a workflow's tags (search attributes are not assumed to exist)."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Secret:
    """A secret value (API key, TLS private key) that never shows itself in a repr, str or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes):
        self._value = value

    def get(self) -> str | bytes:
        return self._value

    def text(self) -> str:
        """The value as text (an API key); bytes are read as UTF-8."""
        return self._value.decode() if isinstance(self._value, bytes) else self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclasses.dataclass
class ConnectConfig:
    """Everything an adapter needs to connect. Built by ``parse_url`` and keyword overrides."""

    engine: str
    host: str = "127.0.0.1"
    port: int | None = None
    namespace: str = "default"
    dev: bool = False
    dev_db: str | None = None
    dev_port: int | None = None
    tls: bool = False
    tls_cert: str | None = None
    tls_key: Secret | None = None
    tls_ca: str | None = None
    server_name: str | None = None
    api_key: Secret | None = None
    register_domain: bool = False
    connect_timeout: float = 5.0
    identity: str | None = None
    max_scan: int = 10_000
    """Where the server cannot evaluate a list query (Cadence basic visibility), at most this many executions
    are evaluated client-side; past it ``UnsupportedFeature``."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or _plugin_default_port(self.engine)}"

    def redacted_url(self) -> str:
        """The URL without any secret (for reprs and messages)."""
        from ._engines import namespace_term

        scheme = self.engine + ("+dev" if self.dev else "")
        where = "" if self.dev else self.address
        return f"{scheme}://{where}?{namespace_term(self.engine)}={self.namespace}"


def _plugin_default_port(engine: str) -> int:
    from ._engines import get_engine

    try:
        return get_engine(engine).default_port
    except WfkitError:
        return 0


def tls_material(cfg: ConnectConfig) -> tuple[bytes | None, bytes | None, bytes | None]:
    """(CA certificate, client certificate, client private key) as bytes, read from the configured paths.

    ``tls_key`` may be a path or the PEM text itself. Errors name the file, never the key.
    """
    from ._errors import ConnectionFailed

    def read(path: str | None) -> bytes | None:
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise ConnectionFailed(f"cannot read TLS file {path}: {exc.strerror}") from None

    key = cfg.tls_key.get() if cfg.tls_key is not None else None
    if isinstance(key, str):
        key = key.encode() if key.startswith("-----") else read(key)
    return read(cfg.tls_ca), read(cfg.tls_cert), key


_QUERY_KEYS = {"namespace", "domain", "register", "tls", "tls_cert", "tls_key", "tls_ca", "server_name",
               "api_key", "connect_timeout", "db", "port", "identity", "max_scan"}


def _flag(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise WfkitError(f"connection option {key}={value!r}: expected 1/0/true/false")


def parse_url(url: str) -> ConnectConfig:
    """Read ``temporal://host:port?namespace=…``, ``cadence://host:port?domain=…``, ``temporal+dev://`` …"""
    if not isinstance(url, str) or "://" not in url:
        raise WfkitError(
            f"not a wfkit URL: {_redact(url)!r} (expected e.g. temporal://localhost:7233?namespace=default, "
            "cadence://localhost:7833?domain=samples, temporal+dev://)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    engine, _, flavour = scheme.partition("+")
    if flavour not in ("", "dev"):
        raise WfkitError(f"unknown URL scheme {scheme!r}: use {engine}:// or {engine}+dev://")
    cfg = ConnectConfig(engine=engine, dev=flavour == "dev")
    try:
        port = parts.port
    except ValueError as exc:
        raise WfkitError(f"bad port in {_redact(url)!r}: {exc}") from None
    if parts.hostname:
        cfg.host = parts.hostname
    cfg.port = port
    if parts.password or parts.username:
        raise WfkitError("put credentials in ?api_key=… (or the api_key= keyword), not in the URL's user part")
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _QUERY_KEYS:
            raise WfkitError(f"unknown connection option {key!r} in URL (known: {', '.join(sorted(_QUERY_KEYS))})")
        apply_option(cfg, key, value)
    return cfg


def apply_option(cfg: ConnectConfig, key: str, value: Any) -> None:
    """Set one option on ``cfg`` from a URL query value or a keyword argument."""
    if value is None:
        return
    if key in ("namespace", "domain"):
        cfg.namespace = str(value)
    elif key in ("register", "register_domain"):
        cfg.register_domain = value if isinstance(value, bool) else _flag(key, str(value))
    elif key == "tls":
        cfg.tls = value if isinstance(value, bool) else _flag(key, str(value))
    elif key in ("tls_cert", "tls_ca", "server_name", "identity"):
        setattr(cfg, key, str(value))
        if key in ("tls_cert", "tls_ca"):
            cfg.tls = True
    elif key == "tls_key":
        cfg.tls_key = value if isinstance(value, Secret) else Secret(value)
        cfg.tls = True
    elif key == "api_key":
        cfg.api_key = value if isinstance(value, Secret) else Secret(value)
    elif key == "connect_timeout":
        try:
            cfg.connect_timeout = float(value)
        except ValueError:
            raise WfkitError(f"connect_timeout must be a number of seconds, not {value!r}") from None
    elif key == "max_scan":
        try:
            cfg.max_scan = int(value)
        except ValueError:
            raise WfkitError(f"max_scan must be a whole number, not {value!r}") from None
        if cfg.max_scan < 1:
            raise WfkitError(f"max_scan must be >= 1, got {cfg.max_scan}")
    elif key == "db":
        cfg.dev_db = str(value)
    elif key == "port":
        cfg.dev_port = int(value)
    else:
        raise WfkitError(f"unknown connection option {key!r}")


def _redact(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    parts = urlsplit(url)
    if not parts.query:
        return url
    q = "&".join(f"{k}=***" if k in ("api_key", "tls_key") else f"{k}={v}"
                 for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return parts._replace(query=q).geturl()


def url_from_env(env: Mapping[str, str] | None = None) -> str:
    """The URL the environment asks for: ``WFKIT_URL``, or the seed's ``WORKFLOW_ENGINE_TYPE`` variables."""
    env = os.environ if env is None else env
    if env.get("WFKIT_URL"):
        return env["WFKIT_URL"]
    engine = env.get("WORKFLOW_ENGINE_TYPE", "").strip().lower()
    if not engine:
        raise WfkitError("no URL given and neither WFKIT_URL nor WORKFLOW_ENGINE_TYPE is set "
                         "(e.g. wfkit.connect('temporal://localhost:7233'))")
    from ._engines import available, get_engine

    if engine not in available():
        raise WfkitError(f"WORKFLOW_ENGINE_TYPE={engine!r}: expected one of the installed engines "
                         f"({', '.join(available())})")
    plugin = get_engine(engine)
    prefix = engine.upper()
    server = env.get(f"{prefix}_SERVER_URL") or f"localhost:{plugin.default_port}"
    if "://" in server:
        server = server.split("://", 1)[1]
    ns = env.get(f"{prefix}_NAMESPACE") or "default"
    return f"{engine}://{server.rstrip('/')}?{plugin.namespace_term}={ns}"


def api_key_from_env(engine: str, env: Mapping[str, str] | None = None) -> Secret | None:
    env = os.environ if env is None else env
    value = env.get("WFKIT_API_KEY") or env.get(f"{engine.upper()}_API_KEY")
    return Secret(value) if value else None
