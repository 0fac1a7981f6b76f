"""The engine registry with a plugin built to CONTRIBUTING's "An engine" checklist (a small object standing for a
third-party plugin: registry validation, not an engine test): the optional members of ``wfkit.engine.Engine`` and
``EngineClient`` default, and a missing required member is named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import wfkit
import wfkit._engines as engines
from wfkit._capability import Capability
from wfkit._config import parse_url
from wfkit._execution import Execution, Executions


class _EntryPoint:
    def __init__(self, name: str, obj: Any) -> None:
        self.name, self.value, self._obj = name, f"wfkit_{name}:engine", obj

    def load(self) -> Any:
        return self._obj


class _Inner:
    """An engine client with the listing but no ``executions`` (no streamed listing)."""

    engine = "acme"
    address = "acme.example:1"
    namespace = "default"
    capabilities: frozenset[Capability] = frozenset()

    def __init__(self) -> None:
        self.rows = [Execution("acme", f"w{i}", f"r{i}", "T", "completed", None,
                               datetime(2026, 1, 1, tzinfo=UTC), None, None) for i in range(3)]

    async def list(self, query: str | None, limit: int | None) -> Executions:
        return Executions(self.rows[:limit], query=query)

    async def close(self) -> None:
        pass


class _Checklist:
    """Exactly the members CONTRIBUTING's checklist requires of an engine."""

    name = "acme"
    capabilities: frozenset[Capability] = frozenset()
    default_port = 1
    namespace_term = "namespace"

    async def connect(self, config: Any) -> Any:
        return _Inner()

    def dev_server(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def history_dialect(self) -> Any:
        raise NotImplementedError

    def history_proto_class(self) -> Any:
        raise NotImplementedError

    async def replay(self, histories: Any, workflows: Any) -> Any:
        raise NotImplementedError

    def native_history_json(self, history: Any, *, indent: int | None = None) -> str:
        raise NotImplementedError


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Any:
    real = engines.entry_points
    monkeypatch.setattr(engines, "_loaded", {})

    def add(obj: Any) -> None:
        monkeypatch.setattr(engines, "entry_points", lambda group: [*real(group), _EntryPoint("acme", obj)])

    return add


async def test_a_plugin_built_to_the_checklist_connects_and_lists(install: Any) -> None:
    install(_Checklist())
    plugin = engines.get_engine("acme")
    cfg = parse_url("acme://acme.example:1")
    plugin.apply_client_config(cfg)   # a no-op
    assert cfg.api_key is None and cfg.address == "acme.example:1"
    assert plugin.native_workflow_name(int) is None
    assert getattr(plugin, "adapt_codec")(object()) is None  # noqa: B009 - an optional member
    client = await wfkit.connect("acme://acme.example:1")   # was: AttributeError 'apply_client_config'
    try:
        assert [e.workflow_id async for e in client.iter_list()] == ["w0", "w1", "w2"]   # without executions()
        assert [e.workflow_id async for e in client.iter_list(limit=2, page_size=1)] == ["w0", "w1"]
    finally:
        await client.close()
    with pytest.raises(wfkit.UnsupportedFeature, match="client_profiles|profiles"):
        await wfkit.connect("acme://acme.example:1", profile="prod")


def test_a_plugins_own_optional_members_are_used(install: Any) -> None:
    class Full(_Checklist):
        def native_workflow_name(self, cls: type) -> str | None:
            return cls.__name__

    full = Full()
    install(full)
    plugin = engines.get_engine("acme")
    assert plugin.native_workflow_name(int) == "int"


def test_a_missing_required_member_is_named(install: Any) -> None:
    class NoReplay(_Checklist):
        replay = None  # type: ignore[assignment]

    broken = _Checklist()
    install(type("Broken", (), {k: getattr(broken, k) for k in engines._REQUIRED if k != "history_dialect"})())
    with pytest.raises(wfkit.WfkitError, match=r"'acme' \(wfkit_acme:engine\) does not satisfy "
                                               r"wfkit.engine.Engine: it has no history_dialect"):
        engines.get_engine("acme")
    install(NoReplay())
    with pytest.raises(wfkit.WfkitError, match="replay must be methods"):
        engines.get_engine("acme")
