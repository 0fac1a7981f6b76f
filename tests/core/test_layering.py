"""The house rules, checked on the source: adapters import only ``wfkit.engine``; the core names no engine
outside the history dialects (an engine plugin is found by name, never branched on)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE_NAMES = {"temporal", "cadence"}


def _sources(*globs: str) -> list[Path]:
    return sorted(p for g in globs for p in ROOT.glob(g))


def _wfkit_imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "wfkit"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "wfkit":
            if node.module == "wfkit":
                out += [(node.lineno, f"wfkit.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module or ""))
    return out


def test_adapters_import_only_wfkit_engine():
    files = _sources("adapters/*/wfkit_*/**/*.py")
    assert len(files) > 10
    bad = [f"{p.relative_to(ROOT)}:{line}: {name}" for p in files for line, name in _wfkit_imports(p)
           if name != "wfkit.engine"]
    assert not bad, "adapters may import only wfkit.engine:\n" + "\n".join(bad)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            # the docstring, and the attribute docstrings that follow assignments
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                        and isinstance(stmt.value.value, str) and (i == 0 or not isinstance(body[i - 1], ast.Expr)):
                    ids.add(id(stmt.value))
    return ids


def engine_names_in_code(path: Path) -> list[tuple[int, str]]:
    """String constants that are an engine's name (or start a URL of one), outside docstrings and outside the
    right-hand side of module constants named ``DEFAULT_*`` (documented defaults)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstring_nodes(tree)
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.startswith("DEFAULT")
                                                for t in node.targets):
            skip |= {id(n) for n in ast.walk(node.value)}
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            word = node.value.split(":", 1)[0].split("+", 1)[0].lower()
            if word in ENGINE_NAMES:
                hits.append((node.lineno, node.value))
    return hits


def test_core_names_no_engine_outside_the_dialects():
    files = [p for p in _sources("wfkit/**/*.py") if "dialects" not in p.parts]
    bad = [f"{p.relative_to(ROOT)}:{line}: {value!r}" for p in files for line, value in engine_names_in_code(p)]
    assert not bad, "the core branches on engine names (put it in a dialect or the plugin):\n" + "\n".join(bad)
