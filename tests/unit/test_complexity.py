"""No function, method or class above McCabe's bound: radon rank B (cyclomatic complexity <= 10).

One case per package, so that each package's owner sees its own list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit  # type: ignore[import-untyped]

ROOT = Path(__file__).parents[2]
PACKAGES = ("gateway", "dnc_service", "dnc_common")
WORST_RANK = "B"


def too_complex(package: str) -> list[str]:
    """`path:line name rank (complexity)` for every block ranked above WORST_RANK."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for block in cc_visit(path.read_text()):
            rank = cc_rank(block.complexity)
            if rank > WORST_RANK:
                where = f"{path.relative_to(ROOT)}:{block.lineno}"
                found.append(f"{where} {block.fullname} {rank} ({block.complexity})")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_block_is_ranked_above_b(package: str) -> None:
    assert too_complex(package) == []
