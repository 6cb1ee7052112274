"""Every benchmark entry point runs to the end at tiny sizes, so none can rot unseen again.

Each runs as `make bench*` runs it (its own FerretDB, or MONGODB_URI when set), in a scratch work
folder, writing its report to a scratch copy of docs/benchmarks.md; the assertions are on what
the report says, not on any figure.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

# (module, tiny arguments, text the report must contain)
ENTRY_POINTS = [
    pytest.param(
        "bench",
        "--entries 40 --orgs 2 --deep 110 --seconds 0.3 --rounds 1 --concurrency 2"
        " --micro-repeat 20",
        [
            "| floor: find + count",
            "| REST, grpc-gateway v2",
            "| REST, bare aiohttp + grpc.aio",
            "| our gateway / bare aiohttp + grpc.aio, CPU per request",
            "Keyset page 10 / page 1",
            "## Fairness",  # the other commands' sections are kept
        ],
        id="make-bench",
    ),
    pytest.param(
        "bench.management",
        "--check-entries 40 --export-entries 300 --singles 5 --repeat 1 --history-events 45"
        " --audit-singles 10 --audit-batch 20 --audit-rounds 1",
        [
            "## Management RPCs",
            "ExportDnc, 300 entries over REST (CSV",
            "ListDncHistory, last page (3) / first page (keyset)",
            "BatchAddDnc of 20, store work: crash-safe audit / two-step write",
            "## Fairness",  # the other commands' sections are kept
        ],
        id="make-bench-management",
    ),
    pytest.param(
        "bench.rest_volume",
        "--entries 300 --scrub-numbers 3000 --import-rows 1500 --repeat 1",
        ["## Volume over REST: scrub, import and export", "ScrubDnc over REST (CSV) / gRPC"],
        id="make-bench-rest-volume",
    ),
    pytest.param(
        "bench.volume",
        "--export-entries 300 --list-entries 20 --scrub-numbers 2000 --import-rows 1500"
        " --sizes 50,300 --per-size 1000",
        ["## Volume: scrub, import, export", "ScrubDnc / pymongo", "import: service CPU per item"],
        id="make-bench-volume",
    ),
    pytest.param(
        "bench.fairness",
        "--seconds 1 --entries 300 --limit 8 --per-org 2 --checks 2 --batches 1",
        ["## Fairness", "| per org 2 | stalled exports | tenant B ListDnc |", "## Management RPCs"],
        id="make-bench-fairness",
    ),
    pytest.param(
        "bench.tracing",
        "--seconds 0.3 --rounds 1 --concurrency 2",
        [],
        id="bench-tracing",
    ),
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("module", "arguments", "expected"), ENTRY_POINTS)
def test_benchmark_runs_to_the_end_at_tiny_size(
    module: str, arguments: str, expected: list[str], tmp_path: Path
) -> None:
    report = tmp_path / "benchmarks.md"
    shutil.copy(ROOT / "docs" / "benchmarks.md", report)
    env = {**os.environ, "DNC_BENCH_WORK": str(tmp_path / "work")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            *shlex.split(arguments),
            *(["--out", str(report)] if expected else []),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert run.returncode == 0, f"{module} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    assert "Traceback" not in run.stderr
    written = report.read_text()
    for text in expected:
        assert text in written, f"{module}'s report lacks {text!r}:\n{written}"
    if not expected:  # bench.tracing prints its table instead
        assert "| refused, on | " in run.stdout, run.stdout
