"""CONTRIBUTING.md maps every folder of the repository, one line each, and names no folder that is gone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tracked_folders() -> set[str]:
    """Folders that directly hold a tracked file (a folder holding only folders needs no line of its own)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {str(Path(f).parent) + "/" for f in files if Path(f).parent != Path(".")}


def _mapped_folders() -> set[str]:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    return set(re.findall(r"^\| `([^`]+/)` \|", text, re.MULTILINE))


def test_layout_map_matches_the_tree():
    tracked, mapped = _tracked_folders(), _mapped_folders()
    assert not tracked - mapped, f"folders missing from CONTRIBUTING.md: {sorted(tracked - mapped)}"
    assert not mapped - tracked, f"CONTRIBUTING.md maps folders that hold no file: {sorted(mapped - tracked)}"
