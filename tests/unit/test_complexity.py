"""No function, method or class above McCabe's bound: radon rank B (cyclomatic complexity <= 10).

One case per package, so that each package's owner sees its own list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit  # type: ignore[import-untyped]

ROOT = Path(__file__).parents[2]
# The service half of issue 15 brings dnc_service and dnc_common under the bound: until it is
# merged their cases may fail (not strict, so that they pass once it is; then drop the marks).
_SERVICE_HALF = pytest.mark.xfail(strict=False, reason="issue 15, service half: not merged yet")
PACKAGES = (
    "gateway",
    pytest.param("dnc_service", marks=_SERVICE_HALF),
    pytest.param("dnc_common", marks=_SERVICE_HALF),
)
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
