"""The engine registry: plugins are discovered through the ``wfkit.engines`` entry-point group, loaded on first
use and checked against :class:`wfkit.engine.Engine`. A broken plugin is reported by name without hiding the
others; the core never imports an engine SDK itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wfkit._capability import Capability
from wfkit._errors import WfkitError

if TYPE_CHECKING:
    from wfkit.engine import Engine

GROUP = "wfkit.engines"

#: Every capability an engine may declare, as strings (``wfkit.CAPABILITIES``).
CAPABILITIES = tuple(c.value for c in Capability)

# What the core calls on every plugin (see wfkit.engine.Engine).
_REQUIRED = ("name", "capabilities", "default_port", "namespace_term", "connect", "dev_server", "history_dialect",
             "history_proto_class", "replay", "native_history_json")


def _no_client_config(config: Any) -> None:
    """An engine without a client configuration of its own: the URL and arguments are all there is."""


def _no_native_workflows(cls: type) -> None:
    """An engine whose SDK workflow classes wfkit cannot replay as they are."""


def _no_codec_adapter(obj: Any) -> None:
    """An engine whose SDK has no codec objects of its own."""


# Members of wfkit.engine.Engine a plugin may leave out, and what the core does without them.
OPTIONAL: dict[str, Any] = {
    "apply_client_config": _no_client_config,
    "native_workflow_name": _no_native_workflows,
    "adapt_codec": _no_codec_adapter,
}


class _WithDefaults:
    """A plugin that leaves out optional members, seen with their defaults (its own attributes otherwise)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._engine, name)
        except AttributeError:
            if name in OPTIONAL:
                return OPTIONAL[name]
            raise

    def __repr__(self) -> str:
        return repr(self._engine)

_loaded: dict[str, Engine] = {}


def entry_points(group: str) -> Any:
    from importlib.metadata import entry_points as eps  # ~20 ms: only when an engine is looked up

    return eps(group=group)


def available() -> list[str]:
    """Names of the installed engine plugins (nothing is imported)."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def get_engine(name: str) -> Engine:
    """Load the plugin registered as ``name``."""
    if name in _loaded:
        return _loaded[name]
    eps = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not eps:
        have = ", ".join(available()) or "none"
        raise WfkitError(f"no wfkit engine plugin named {name!r} is installed (installed: {have}); "
                         f"pip install the wfkit-{name} adapter")
    try:
        engine = eps[0].load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, by name
        raise WfkitError(f"the wfkit engine plugin {name!r} ({eps[0].value}) failed to load: "
                         f"{type(exc).__name__}: {exc}") from exc
    missing = [m for m in _REQUIRED if not hasattr(engine, m)]
    if missing:
        raise WfkitError(f"the wfkit engine plugin {name!r} ({eps[0].value}) does not satisfy wfkit.engine.Engine: "
                         f"it has no {', '.join(missing)}")
    not_callable = [m for m in ("connect", "dev_server", "history_dialect", "history_proto_class", "replay",
                                "native_history_json", *OPTIONAL) if hasattr(engine, m) and not callable(
                                    getattr(engine, m))]
    if not_callable:
        raise WfkitError(f"the wfkit engine plugin {name!r} ({eps[0].value}) does not satisfy wfkit.engine.Engine: "
                         f"{', '.join(not_callable)} must be methods")
    unknown = [c for c in engine.capabilities if not isinstance(c, Capability)]
    if unknown:
        raise WfkitError(f"the wfkit engine plugin {name!r} declares capabilities that are not "
                         f"wfkit.engine.Capability members: {sorted(map(str, unknown))}")
    if any(not hasattr(engine, m) for m in OPTIONAL):
        engine = _WithDefaults(engine)
    _loaded[name] = engine
    return engine


def engine_for_scheme(scheme: str) -> Engine:
    """The plugin for a URL's engine part (``temporal`` of ``temporal+dev://``); an unknown scheme is named as
    such, with the known schemes and the closest one."""
    if scheme not in available():
        import difflib

        names = available()
        known = ", ".join(f"{n}://, {n}+dev://" for n in names) or "none: no engine plugin is installed"
        close = difflib.get_close_matches(scheme, names, n=1)
        hint = f"; did you mean {close[0]}://?" if close else ""
        raise WfkitError(f"unknown URL scheme {scheme + '://'!r} (known: {known}){hint} — another engine needs its "
                         f"wfkit plugin package (entry point group {GROUP!r})")
    return get_engine(scheme)


def history_proto_class(engine: str) -> Any:
    """The ``History`` protobuf message class of ``engine``, from its plugin (so the core imports no SDK)."""
    return get_engine(engine).history_proto_class()


def namespace_term(engine: str) -> str:
    """What ``engine`` calls a namespace in URLs (``namespace``, ``domain``, …); ``namespace`` when no such plugin
    is installed (the connect that follows says so)."""
    try:
        return get_engine(engine).namespace_term
    except WfkitError:
        return "namespace"
