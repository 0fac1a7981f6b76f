"""The public names of ``wfkit.history`` and its dialects, and the rule that the history core names no engine."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import wfkit.history
import wfkit.history.dialects as dialects
from wfkit import HistoryFormatError, WfkitError
from wfkit.history import History
from wfkit.history._schema import KNOWN_EVENT_TYPES
from wfkit.history.dialects import HistoryDialect, get_dialect
from wfkit.history.dialects.temporal import TemporalDialect

from . import FIXTURES

HISTORY_DIR = Path(wfkit.history.__file__).parent


def test_history_exports() -> None:
    assert sorted(wfkit.history.__all__) == sorted(
        ["FRAME_COLUMNS", "FRAME_DTYPES", "Event", "History", "HistoryFormatError", "diff", "histories_frame",
         "read_histories", "register_protobuf"])
    for name in wfkit.history.__all__:
        assert getattr(wfkit.history, name) is not None


def test_dialects_exports() -> None:
    assert sorted(dialects.__all__) == sorted(
        ["HistoryDialect", "JsonHints", "JsonVariant", "available_dialects", "dialect_for_format", "get_dialect"])
    assert [d.name for d in dialects.available_dialects()][:2] == ["cadence", "temporal"]


def _protocol_members() -> set[str]:
    members = set(getattr(HistoryDialect, "__annotations__", {}))
    members |= {k for k, v in vars(HistoryDialect).items() if callable(v) and not k.startswith("_")}
    return members


@pytest.mark.parametrize("name", ["temporal", "cadence"])
def test_builtin_dialects_have_every_member(name: str) -> None:
    d = get_dialect(name)
    assert d.name == name
    missing = sorted(m for m in _protocol_members() if not hasattr(d, m))
    assert not missing
    assert set(d.extra_event_types) <= set(KNOWN_EVENT_TYPES)
    assert get_dialect(name) is d  # cached


def test_format_names_are_owned_by_their_dialect() -> None:
    assert dialects.dialect_for_format("temporal-legacy") is get_dialect("temporal")
    assert dialects.dialect_for_format("cadence-proto") is get_dialect("cadence")
    assert dialects.dialect_for_format("yaml") is None


def test_unknown_engine_gives_a_clear_error() -> None:
    with pytest.raises(HistoryFormatError, match="no history dialect for engine 'airflow'") as e:
        get_dialect("airflow")
    assert isinstance(e.value, WfkitError) and isinstance(e.value, ValueError)


def test_plugin_without_dialect_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import wfkit._engines

    monkeypatch.setattr(wfkit._engines, "get_engine", lambda name: object())
    monkeypatch.setattr(dialects, "_DIALECTS", dict(dialects._DIALECTS))
    with pytest.raises(HistoryFormatError, match="'acme'.*history_dialect"):
        get_dialect("acme")


def test_a_third_engine_plugs_in_through_its_dialect(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine the core has never heard of reads and writes histories once its plugin supplies a dialect."""
    import wfkit._engines

    class AcmeDialect(TemporalDialect):
        name = "acme"
        variants: dict[str, Any] = {}

    acme = AcmeDialect()

    class Plugin:
        def history_dialect(self) -> HistoryDialect:
            return acme

    monkeypatch.setattr(wfkit._engines, "get_engine", lambda name: Plugin())
    monkeypatch.setattr(dialects, "_DIALECTS", dict(dialects._DIALECTS))
    src = History.from_json(FIXTURES / "temporal" / "test_replayer_complete_history.json")
    doc = json.loads(src.to_json("wfkit"))
    doc["engine"] = "acme"
    h = History.from_json(json.dumps(doc))
    assert h.engine == "acme"
    cols = [c for c in h.to_dataframe().columns if c not in ("payload", "attributes")]
    pd.testing.assert_frame_equal(h.to_dataframe()[cols], src.to_dataframe()[cols])
    assert json.loads(h.to_json("temporal")) == json.loads(src.to_json("temporal"))


# --- the core names no engine ---------------------------------------------------------------------------------
#
# Rule: in wfkit/history/*.py (everything outside dialects/), no string literal in code may name an engine —
# no string matching \b(temporal|cadence)\b, any case. Allowed: docstrings (a string that is a statement of its
# own), comments, the default values of parameters, and documentation constants (``NAME_DOC = "..."``).
# Engine names in code belong to the dialects.

_ENGINE_WORD = re.compile(r"\b(temporal|cadence)\b", re.IGNORECASE)


def _engine_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            allowed.add(id(node.value))  # docstrings and other bare strings
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.endswith("_DOC")
                                                for t in node.targets):
            allowed.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    allowed.update(id(n) for n in ast.walk(default))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in allowed
            and _ENGINE_WORD.search(node.value)]


def test_the_history_core_names_no_engine() -> None:
    files = sorted(HISTORY_DIR.glob("*.py"))
    assert {f.name for f in files} >= {"_history.py", "_extract.py", "_json.py", "_schema.py", "_typed.py"}
    found = {f.name: hits for f in files if (hits := _engine_literals(f))}
    assert not found, f"engine names in the history core (move them to a dialect): {found}"


def test_the_rule_catches_engine_literals(tmp_path: Path) -> None:
    src = tmp_path / "x.py"
    src.write_text('"""About temporal."""\n\nX_DOC = "temporal"\nY = "Temporal JSON"\n\n'
                   'def f(engine="cadence"):\n    """Cadence."""\n'
                   '    # temporal\n    return engine == "temporal" or f"{engine} Cadence"\n')
    assert sorted(v for _, v in _engine_literals(src)) == [" Cadence", "Temporal JSON", "temporal"]
