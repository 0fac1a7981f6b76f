"""Connection settings: URLs, environment variables, secrets."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

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


class Redacted:
    """An engine SDK object behind a wrapper that never shows a secret: its ``repr``/``str``, and those of every
    attribute, item or string read through it, have the secrets replaced by ``***``. Methods are the SDK's own
    (their results are not wrapped); ``unwrap()`` returns the SDK object itself, for SDK calls that need it."""

    __slots__ = ("_target", "_secrets")

    def __init__(self, target: Any, secrets: tuple[str, ...]):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_secrets", tuple(s for s in secrets if s))

    def unwrap(self) -> Any:
        return self._target

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, bytes):
            return value if not any(s.encode() in value for s in self._secrets) else b"***"
        if value is None or isinstance(value, (bool, int, float)) or callable(value):
            return value
        return Redacted(value, self._secrets)

    def _scrub(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def __getattr__(self, name: str) -> Any:
        return self._wrap(getattr(self._target, name))

    def __getitem__(self, key: Any) -> Any:
        return self._wrap(self._target[key])

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __dir__(self) -> list[str]:
        return dir(self._target)

    def __repr__(self) -> str:
        return self._scrub(repr(self._target))

    def __str__(self) -> str:
        return self._scrub(str(self._target))


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
    path: str = ""
    """The URL's path (``local:///path/to/state.db``: where an engine keeps its state); empty when none."""
    options: dict[str, str] = dataclasses.field(default_factory=dict)
    """URL options the engine plugin declares itself (its ``url_options``), e.g. ``local://?time=skip``."""
    codec: Any = None
    """The payload codec (a ``wfkit.codecs.PayloadCodec``) the client and its workers encode and decode with;
    None: payloads go as they are."""
    profile: str | None = None
    """A profile of the engine's own client configuration (Temporal: ``temporal.toml``, as its CLI reads it);
    None: the engine's default (``TEMPORAL_PROFILE``, else ``default``)."""
    grpc_metadata: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    """Headers sent with every call (Temporal's ``grpc_meta`` / ``TEMPORAL_GRPC_META_*``); never shown."""
    explicit: set[str] = dataclasses.field(default_factory=set, repr=False)
    """The settings the URL or keyword arguments gave: the engine's own client configuration (environment
    variables, profiles) fills only the others."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or _plugin_default_port(self.engine)}"

    def redacted_url(self) -> str:
        """The URL without any secret (for reprs and messages)."""
        from ._engines import namespace_term

        scheme = self.engine + ("+dev" if self.dev else "")
        where = "" if self.dev else self.address
        return f"{scheme}://{where}?{namespace_term(self.engine)}={self.namespace}"


def _plugin_url_options(engine: str) -> Mapping[str, str]:
    """The URL options an engine plugin declares (``url_options``: name -> what it means); none by default."""
    from ._engines import get_engine

    try:
        return dict(getattr(get_engine(engine), "url_options", None) or {})
    except WfkitError:
        return {}


def _plugin_default_port(engine: str) -> int:
    from ._engines import get_engine

    try:
        return get_engine(engine).default_port
    except WfkitError:
        return 0


def _is_pem_text(value: str) -> bool:
    """True when a TLS setting (``tls_ca``, ``tls_cert``, ``tls_key``) holds the PEM text itself (a profile's
    ``*_data``, say), not a path: it starts with a ``-----`` line, leading blanks aside."""
    return value.lstrip().startswith("-----")


def secret_texts(cfg: ConnectConfig) -> tuple[str, ...]:
    """Every text of ``cfg``'s secrets to cut out of what is shown: the API key, the ``tls_key`` setting and each
    line of the key's PEM body (given as text, or read from its file now: an SDK's repr shows the key's bytes
    with escaped newlines, so the whole text would not match), and the values of extra gRPC headers."""
    texts = [cfg.api_key.text()] if cfg.api_key is not None else []
    if cfg.tls_key is not None:
        text = cfg.tls_key.text()
        texts.append(text)
        pem = text
        if not _is_pem_text(text):
            try:
                with open(text, encoding="ascii", errors="replace") as f:
                    pem = f.read()
            except OSError:
                pem = ""
        texts += [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")]
    texts += [v for v in cfg.grpc_metadata.values() if v]
    return tuple(texts)


def tls_material(cfg: ConnectConfig) -> tuple[bytes | None, bytes | None, bytes | None]:
    """(CA certificate, client certificate, client private key) as bytes, read from the configured paths.

    ``tls_key`` may be a path or the PEM text itself. Errors name the file, never the key.
    """
    from ._errors import ConnectionFailed

    def read(path: str | None) -> bytes | None:
        if path is None:
            return None
        if _is_pem_text(path):  # the PEM text itself (a profile's ``*_data``)
            return path.encode()
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise ConnectionFailed(f"cannot read TLS file {path}: {exc.strerror}") from None

    key = cfg.tls_key.get() if cfg.tls_key is not None else None
    if isinstance(key, str):
        key = read(key)  # the PEM text, or its file
    ca, cert = read(cfg.tls_ca), read(cfg.tls_cert)
    for data, label, what in ((ca, "CERTIFICATE", f"tls_ca {_shown_path(cfg.tls_ca)}"),
                              (cert, "CERTIFICATE", f"tls_cert {_shown_path(cfg.tls_cert)}"),
                              (key, "PRIVATE KEY", "tls_key (the key is not shown)")):
        if data is not None and not _is_pem(data, label):
            raise ConnectionFailed(f"bad key or certificate: {what} is not a PEM {label.lower()}")
    return ca, cert, key


def _shown_path(value: str | None) -> str:
    """A TLS setting as messages show it: its path, or ``(PEM text)`` for the text itself."""
    return "(PEM text)" if value is not None and _is_pem_text(value) else str(value)


def _is_pem(data: bytes, label: str) -> bool:
    """True when ``data`` holds at least one well-formed PEM block whose label ends with ``label``."""
    import base64
    import binascii

    blocks = re.findall(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", data, re.DOTALL)
    if not blocks:
        return False
    for _name, body in blocks:
        try:
            if not base64.b64decode(b"".join(body.split()), validate=True):
                return False
        except (binascii.Error, ValueError):
            return False
    return any(name.decode().endswith(label) for name, _ in blocks)


_QUERY_KEYS = {"namespace", "domain", "register", "tls", "tls_cert", "tls_key", "tls_ca", "server_name",
               "api_key", "connect_timeout", "db", "port", "identity", "max_scan"}


def _flag(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise WfkitError(f"connection option {key}={value!r}: expected 1/0/true/false")


_URL_EXAMPLES = ("expected e.g. temporal://localhost:7233?namespace=default, cadence://localhost:7833?domain=samples, "
                 "temporal+dev://")


def split_address(address: str, what: str) -> tuple[str | None, int | None]:
    """``host:port``, ``host``, ``[::1]:port`` or ``:port`` as (host, port), either None when not given; a bad
    port or host is a ``WfkitError`` naming ``what`` (a redacted URL, or the variable or setting it came from)."""
    try:
        parts = urlsplit(f"//{address.strip()}")
    except ValueError as exc:
        raise WfkitError(f"malformed address in {what}: {exc}") from None
    try:
        port = parts.port
    except ValueError:
        raise WfkitError(f"bad port in {what}: expected a number from 1 to 65535") from None
    if port == 0:
        raise WfkitError(f"bad port in {what}: port 0 is not a server's port (leave it out for the engine's "
                         "default)")
    if not parts.hostname and ("[" in parts.netloc or "]" in parts.netloc):
        raise WfkitError(f"malformed host in {what}")
    return parts.hostname or None, port


def parse_url(url: str) -> ConnectConfig:
    """Read ``temporal://host:port?namespace=…``, ``cadence://host:port?domain=…``, ``temporal+dev://`` …

    Options may be separated by ``&`` or ``;``; their names are read without case or surrounding spaces. Errors
    show the URL only through :func:`redact_url` (text without ``scheme://`` is never shown: it may be a key).
    """
    if not isinstance(url, str):
        raise WfkitError(f"a wfkit URL is a string, not {type(url).__name__} ({_URL_EXAMPLES})")
    if "://" not in url:
        raise WfkitError(f"not a wfkit URL (the text is not shown: it may hold a secret); {_URL_EXAMPLES}")
    shown = redact_url(url)
    scheme, _, rest = url.partition("://")
    netloc = re.split(r"[/?#;]", rest, maxsplit=1)[0]
    if "@" in netloc:
        raise WfkitError(f"put credentials in ?api_key=… (or the api_key= keyword), not in the URL's user part "
                         f"({shown})")
    try:
        parts = urlsplit(url.replace(";", "?", 1) if "?" not in url and ";" in url else url)
    except ValueError as exc:
        raise WfkitError(f"malformed URL {shown}: {exc}") from None
    scheme = parts.scheme.lower()
    engine, _, flavour = scheme.partition("+")
    if flavour not in ("", "dev"):
        raise WfkitError(f"unknown URL scheme {scheme!r}: use {engine}:// or {engine}+dev://")
    cfg = ConnectConfig(engine=engine, dev=flavour == "dev")
    host, port = split_address(parts.netloc, shown)
    if host:
        cfg.host = host
        cfg.explicit.add("host")
    cfg.port = port
    if port is not None:
        cfg.explicit.add("port")
    if parts.fragment or url.endswith("#"):
        raise WfkitError(f"a URL fragment (#…) means nothing to wfkit: {shown}")
    if parts.path not in ("", "/"):
        cfg.path = unquote_plus(parts.path)
    engine_options = _plugin_url_options(engine)
    for item in filter(None, re.split(r"[&;]", parts.query)):
        raw_key, _, value = item.partition("=")
        key = unquote_plus(raw_key).strip().lower()
        if key in engine_options and key not in _QUERY_KEYS:
            cfg.options[key] = unquote_plus(value).strip()
            continue
        if key not in _QUERY_KEYS:
            name = repr(key) if _SHOWABLE_KEY.fullmatch(key) else "(name not shown)"
            known = ", ".join(sorted({*_QUERY_KEYS, *engine_options}))
            raise WfkitError(f"unknown connection option {name} in URL (known: {known})")
        apply_option(cfg, key, unquote_plus(value).strip())
    return cfg


_SAFE_KEYS = {"namespace", "domain", "register", "tls", "tls_cert", "tls_ca", "server_name", "connect_timeout", "db",
              "port", "identity", "max_scan"}
_SHOWABLE_KEY = re.compile(r"[a-z_]{1,24}")


def redact_url(url: Any) -> str:
    """A URL as it may be shown: the user part, every option value but the harmless ones (namespace, domain, tls
    …) and any fragment replaced by ``***``. Text without ``scheme://`` is not shown at all; nothing is parsed
    before it is redacted."""
    if not isinstance(url, str):
        return f"<{type(url).__name__}>"
    if "://" not in url:
        return "<not shown>"
    scheme, _, rest = url.partition("://")
    rest, hashed, _ = rest.partition("#")
    m = re.search(r"[?;]", rest)
    head, sep, query = (rest[:m.start()], rest[m.start()], rest[m.end():]) if m else (rest, "", "")
    if "@" in head:
        head = "***@" + head.rsplit("@", 1)[1]
    shown = []
    for item in re.split(r"[&;]", query) if sep else []:
        key, eq, _value = item.partition("=")
        name = key.strip().lower()
        key_shown = key if _SHOWABLE_KEY.fullmatch(name) else "***"
        shown.append(f"{key_shown}={_value}" if eq and name in _SAFE_KEYS else
                     f"{key_shown}=***" if eq else key_shown)
    return f"{scheme}://{head}{sep}{'&'.join(shown)}{'#***' if hashed else ''}"


_OPTION_FIELDS = {"domain": "namespace", "register": "register_domain", "db": "dev_db", "port": "dev_port"}


def apply_option(cfg: ConnectConfig, key: str, value: Any) -> None:
    """Set one option on ``cfg`` from a URL query value or a keyword argument."""
    if value is None:
        return
    cfg.explicit.add(_OPTION_FIELDS.get(key, key))
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
        cfg.api_key = check_api_key(value if isinstance(value, Secret) else Secret(value))
    elif key == "connect_timeout":
        try:
            timeout = float(value)
        except (TypeError, ValueError):
            raise WfkitError(f"connect_timeout must be a number of seconds, not {value!r}") from None
        if not (0 < timeout < math.inf):
            raise WfkitError(f"connect_timeout must be a positive number of seconds, got {value!r}")
        cfg.connect_timeout = timeout
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
        try:
            cfg.dev_port = int(value)
        except (TypeError, ValueError):
            raise WfkitError(f"port must be a whole number, not {value!r}") from None
        if not 0 < cfg.dev_port < 65536:
            raise WfkitError(f"port must be from 1 to 65535, got {cfg.dev_port}")
    else:
        raise WfkitError(f"unknown connection option {key!r}")


def check_api_key(key: Secret) -> Secret:
    """The key, if it can travel in a gRPC header: printable ASCII only (the key itself is never shown)."""
    text = key.get()
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise WfkitError("api_key holds bytes that are not ASCII (the key is not shown)") from None
    for i, ch in enumerate(text):
        if not (" " < ch < "\x7f"):
            kind = "a control character or space" if ch.isascii() else "a non-ASCII character"
            raise WfkitError(f"api_key holds {kind} at position {i} (the key is not shown): API keys are printable "
                             "ASCII")
    if not text:
        raise WfkitError("api_key is empty")
    return key


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
    return check_api_key(Secret(value)) if value else None
