"""The docs stay true to the tree: every module is in the architecture table, and no page points
outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGES = ("dnc_service", "gateway", "dnc_common", "devtools", "bench")


def listed_paths(table: str) -> set[str]:
    """Paths named in the table's first column: `dir/a.py`, then bare `b.py` in the same cell
    meaning `dir/b.py`."""
    paths: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        folder = ""
        for name in re.findall(r"`([^`]+)`", row.split(" | ", 1)[0]):
            if "/" in name:
                folder = name.rsplit("/", 1)[0] if not name.endswith("/") else name.rstrip("/")
                paths.add(name.rstrip("/"))
            else:
                paths.add(f"{folder}/{name}")
    return paths


def modules() -> set[str]:
    found = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    found |= {f"tests/{path.name}" for path in (ROOT / "tests").glob("*.py")}
    # A package's __init__.py is listed only when it holds code, not just a docstring.
    return {
        path
        for path in found
        if not path.endswith("__init__.py") or len((ROOT / path).read_text().splitlines()) > 5
    }


def test_every_module_is_in_the_architecture_table() -> None:
    missing = sorted(modules() - listed_paths(ARCHITECTURE.read_text()))
    assert not missing, f"add these to docs/architecture.md: {missing}"


def test_the_table_names_no_module_that_is_gone() -> None:
    listed = {path for path in listed_paths(ARCHITECTURE.read_text()) if path.endswith(".py")}
    gone = sorted(path for path in listed if not (ROOT / path).exists())
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"


def test_no_page_points_outside_the_repository() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        assert "../" not in text, f"{page.name} links outside the repository"
        assert "shared/" not in text, f"{page.name} names a folder outside the repository"


def test_the_readme_stays_a_first_read() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 220
