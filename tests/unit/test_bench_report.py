"""The benchmarks page: each command rewrites its own section and keeps the others, in order."""

from __future__ import annotations

from pathlib import Path

from bench import report


def section(marker: str, body: str) -> str:
    return f"{marker}\n## {body}\n\n{body} rows\n"


def test_each_command_keeps_the_others_sections_in_page_order(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    report.write_section(page, section(report.FAIRNESS_MARKER, "Fairness"))
    report.write_section(page, section(report.MANAGEMENT_MARKER, "Management"))
    report.write_head(page, "# Benchmarks\n\nlisting v1\n")
    report.write_section(page, section(report.VOLUME_MARKER, "Volume"))
    report.write_section(page, section(report.MANAGEMENT_MARKER, "Management again"))
    report.write_head(page, "# Benchmarks\n\nlisting v2\n")
    head, sections = report.split_page(page.read_text())
    assert head == "# Benchmarks\n\nlisting v2\n\n"
    assert list(sections) == [
        report.MANAGEMENT_MARKER,
        report.VOLUME_MARKER,
        report.FAIRNESS_MARKER,
    ]
    assert "Management again rows" in sections[report.MANAGEMENT_MARKER]
    assert "Management rows" not in page.read_text()
    assert sections[report.FAIRNESS_MARKER].startswith(report.FAIRNESS_MARKER + "\n## Fairness")


def test_a_page_without_sections_is_all_head() -> None:
    assert report.split_page("# Benchmarks\n\nrows\n") == ("# Benchmarks\n\nrows\n", {})
