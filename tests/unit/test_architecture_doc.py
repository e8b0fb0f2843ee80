"""docs/architecture.md's package map matches the folders: every name in it exists (but those marked
"(planned)"), and every package and every top-level module of src/jobdeck is in it."""

from __future__ import annotations

import re
from pathlib import Path

import jobdeck

ROOT = Path(jobdeck.__file__).parent
DOC = Path(__file__).parents[2] / "docs" / "architecture.md"
_CACHE = "__pycache__"
_ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[\w.]+/?)(?:\s|$)")


def map_entries(planned: bool = True) -> list[Path]:
    """The paths the package map names, relative to src/jobdeck (folders end their names with /),
    with or without those marked (planned)."""
    text = DOC.read_text()
    block = text.split("## Package map", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.strip()]
    assert lines[0].strip() == "src/jobdeck/"
    entries: list[Path] = []
    parents: list[str] = []  # the folders enclosing the current line, by depth
    for line in lines[1:]:
        match = _ENTRY.match(line)
        assert match, f"not a map line: {line!r}"
        depth = len(match["indent"]) // 2 - 1
        assert depth <= len(parents), f"indented too far: {line!r}"
        del parents[depth:]
        name = match["name"]
        if planned or not line.rstrip().endswith("(planned)"):
            entries.append(Path(*parents, name.rstrip("/")))
        if name.endswith("/"):
            parents.append(name.rstrip("/"))
    return entries


def packages() -> set[Path]:
    """Every package of src/jobdeck, every folder at its top, and every folder of Python code in a package."""
    found = {path.parent.relative_to(ROOT) for path in ROOT.rglob("__init__.py")}
    found |= {
        path.relative_to(ROOT) for path in ROOT.iterdir() if path.is_dir() and path.name != "__pycache__"
    }
    for package in list(found):
        found |= {
            child.relative_to(ROOT)
            for child in (ROOT / package).iterdir()
            if child.is_dir() and child.name != _CACHE and any(child.glob("*.py"))
        }
    return found - {Path(".")}


def test_every_name_in_the_map_exists() -> None:
    missing = [str(entry) for entry in map_entries(planned=False) if not (ROOT / entry).exists()]
    assert missing == [], f"named in docs/architecture.md but not in src/jobdeck: {missing}"


def test_every_package_and_top_level_module_is_in_the_map() -> None:
    named = set(map_entries())
    top_modules = {path.relative_to(ROOT) for path in ROOT.glob("*.py")}
    unnamed = sorted(str(path) for path in (packages() | top_modules) - named)
    assert unnamed == [], f"in src/jobdeck but not in docs/architecture.md's package map: {unnamed}"
