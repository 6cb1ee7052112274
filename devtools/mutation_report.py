"""The score of the last `mutmut run`, per module, and its survivors: what docs/mutation.md shows.

Usage: python -m devtools.mutation_report [--fail-under PERCENT] [MODULE_PATH ...]
(default: every module mutmut ran); exits 1 when the overall score is below PERCENT.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

MUTANTS = Path("mutants")
# Caught is what the score counts as killed; never run (filtered out, "not checked") is left out.
CAUGHT = ("killed", "timeout", "caught by type check")
NOT_RUN = ("not checked", "skipped")


def load(paths: list[str]) -> dict[str, dict[str, str]]:
    """Each mutated module's mutants and their status, from mutmut's .meta files."""
    found: dict[str, dict[str, str]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = meta.relative_to(MUTANTS).as_posix().removesuffix(".meta")
        if paths and module not in paths:
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[module] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return found


def score(counts: Counter[str]) -> tuple[int, int, float]:
    caught = sum(counts[status] for status in CAUGHT)
    tested = sum(counts.values()) - sum(counts[status] for status in NOT_RUN)
    return caught, tested, 100.0 * caught / tested if tested else 0.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.mutation_report")
    parser.add_argument("--fail-under", type=float, default=0.0, metavar="PERCENT")
    parser.add_argument("paths", nargs="*", metavar="MODULE_PATH")
    args = parser.parse_args(argv)
    modules = load(args.paths)
    if not modules:
        print("no mutmut results: run `make mutation` first", file=sys.stderr)
        return 1
    print("| module | killed | survived | no tests | total | score |")
    print("|---|---:|---:|---:|---:|---:|")
    everything: Counter[str] = Counter()
    for module, statuses in modules.items():
        counts = Counter(statuses.values())
        everything += counts
        caught, tested, percent = score(counts)
        print(
            f"| {module} | {caught} | {counts['survived']} | {counts['no tests']} "
            f"| {tested} | {percent:.1f}% |"
        )
    caught, tested, percent = score(everything)
    print(f"| **all** | {caught} | {everything['survived']} | {everything['no tests']} "
          f"| {tested} | **{percent:.1f}%** |")  # fmt: skip
    print()
    for statuses in modules.values():
        for name, status in sorted(statuses.items()):
            if status not in CAUGHT and status not in NOT_RUN:
                print(f"{status}: {name}")
    print("\n`.venv/bin/mutmut show NAME` prints a mutant's diff.")
    if percent < args.fail_under:
        print(f"score {percent:.1f}% is below {args.fail_under:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
