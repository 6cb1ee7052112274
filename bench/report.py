"""docs/benchmarks.md from one run: medians over the rounds, and the ratios the targets name."""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import Result

TARGETS = ("floor", "grpc", "grpc-cached", "gateway", "grpc-gateway", "bare-gateway")
LABELS = {
    "floor": "floor: find + count, pymongo",
    "grpc": "gRPC `ListDnc` (ghz)",
    "grpc-cached": "gRPC, organization cache on (ghz)",
    "gateway": "REST, our gateway (wrk)",
    "grpc-gateway": "REST, grpc-gateway v2 (wrk)",
    "bare-gateway": "REST, bare aiohttp + grpc.aio (wrk)",
}
REST_TARGETS = ("gateway", "grpc-gateway", "bare-gateway")
INTRO = """\
How to read this: the four targets serve the same first page (10 entries) of the same organization.
*floor* is the find and the count the service issues, sent directly with pymongo's async client;
*gRPC* adds the service (token check, user lookup, rendering); the two REST rows put a gateway in
front of that same service: ours (Python, aiohttp) and grpc-gateway v2 generated from the same proto
(bench/grpcgateway). *bare aiohttp + grpc.aio* (bench/bare_gateway.py) is the least a Python gateway
does: aiohttp's low-level server, one grpc.aio call, the same rendering, and none of the gateway's
features (routes, request ids, trace context, metrics, deadlines, limits, retries, balancing,
error envelopes); it shows which part of the gap to grpc-gateway is the Python stack itself.
Latency is one call at a time; throughput uses {concurrency} concurrent callers
(ghz for gRPC, wrk for REST). CPU ms/req is the CPU time the service and gateway processes spent per
request during the throughput run (/proc), the cleanest measure of what a layer costs.

Everything, load generators included, shares one 2-core machine, and FerretDB v1 scans the whole
collection for every query (its explain says `filterPushdown: False`), so its time dominates and
varies: compare ratios within this run, never absolute numbers across machines. That is also why
layer costs use a small collection, and deep pages a database of their own.
"""


def _median(results: list[Result], field: str) -> float:
    return float(statistics.median(getattr(result, field) for result in results))


def _cpu(results: list[Result], process: str) -> float:
    return float(statistics.median(r.cpu_ms_per_request.get(process, 0.0) for r in results))


def render(
    results: dict[str, list[Result]],
    args: argparse.Namespace,
    machine: str,
    command: str,
    ferret: bool,
) -> str:
    p50 = {name: _median(results[name], "p50_ms") for name in TARGETS}
    rps = {name: _median(results[name], "rps") for name in TARGETS}
    database = "FerretDB v1.24.2 on SQLite" if ferret else "MONGODB_URI"
    lines = [
        "# Benchmarks",
        "",
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d}: {machine}; database {database}; "
        f"layer costs over {args.entries} entries in {args.orgs} organizations; deep pages over "
        f"one organization of {args.deep} entries; {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s per target, medians of the rounds.",
        "",
        INTRO.format(concurrency=args.concurrency),
        "| target | p50 ms | p99 ms | req/s | CPU ms/req service | CPU ms/req gateway |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in TARGETS:
        service_cpu = _cpu(results[name], "cached-service" if name == "grpc-cached" else "service")
        gateway_cpu = _cpu(results[name], name)  # a REST target's front process; else 0
        p99 = _median(results[name], "p99_ms")
        lines.append(
            f"| {LABELS[name]} | {p50[name]:.2f} | {p99:.2f} | {rps[name]:.0f} | "
            f"{service_cpu:.3f} | {gateway_cpu:.3f} |"
        )
    over_floor = p50["grpc"] - p50["floor"]
    cached_over_floor = p50["grpc-cached"] - p50["floor"]
    ours = p50["gateway"] - p50["grpc"]
    peer = p50["grpc-gateway"] - p50["grpc"]
    throughput = rps["gateway"] / rps["grpc-gateway"]
    front_cpu = {name: max(_cpu(results[name], name), 1e-9) for name in REST_TARGETS}
    cpu_ratio = front_cpu["gateway"] / front_cpu["grpc-gateway"]
    bare_ratio = front_cpu["bare-gateway"] / front_cpu["grpc-gateway"]
    lines += [
        "",
        "| ratio (same run) | measured | target | met |",
        "|---|---:|---:|:---:|",
        f"| gRPC over floor, p50 | {over_floor:+.2f} ms ({p50['grpc'] / p50['floor']:.2f}x) "
        f"| <= +0.5 ms | {_met(over_floor <= 0.5)} |",
        f"| gRPC with the organization cache over floor, p50 | {cached_over_floor:+.2f} ms "
        f"| <= +0.5 ms | {_met(cached_over_floor <= 0.5)} |",
        f"| our gateway over gRPC, p50 | {ours:+.2f} ms (grpc-gateway: {peer:+.2f} ms) "
        f"| <= +0.5 ms | {_met(ours <= 0.5)} |",
        f"| our gateway / grpc-gateway, throughput | {throughput:.2f}x | >= 1x "
        f"| {_met(throughput >= 1)} |",
        f"| our gateway / grpc-gateway, CPU per request | {cpu_ratio:.2f}x | <= 1.5x "
        f"| {_met(cpu_ratio <= 1.5)} |",
        f"| bare aiohttp + grpc.aio / grpc-gateway, CPU per request | {bare_ratio:.2f}x | | |",
        f"| our gateway / bare aiohttp + grpc.aio, CPU per request "
        f"| {front_cpu['gateway'] / front_cpu['bare-gateway']:.2f}x | | |",
    ]
    rendering = {
        name[len("render: ") :]: r[0].p50_ms * 1000
        for name, r in results.items()
        if name.startswith("render: ")
    }
    if rendering:
        lines += ["", "Gateway JSON rendering of a 10-entry page, in process (us per page):", ""]
        lines += ["| path | us |", "|---|---:|"]
        lines += [f"| {name} | {us:.1f} |" for name, us in rendering.items()]
    validating = {
        name[len("validate: ") :]: r[0].p50_ms * 1000
        for name, r in results.items()
        if name.startswith("validate: ")
    }
    if validating:
        lines += ["", "The service's check of a ListDnc request, in process (us per request):", ""]
        lines += ["| step | us |", "|---|---:|"]
        lines += [f"| {name} | {us:.1f} |" for name, us in validating.items()]
    if "keyset page 1" in results:
        lines += _deep_pages(results)
    return "\n".join(lines) + "\n"


def _deep_pages(results: dict[str, list[Result]]) -> list[str]:
    lines = [
        "",
        "Deep pages of the deep organization, one call at a time over gRPC (p50 ms):",
        "",
        "| page | offset (`page`, skip) | keyset (`page_token`) |",
        "|---:|---:|---:|",
    ]
    pages = sorted(
        int(name.rsplit(" ", 1)[1]) for name in results if name.startswith("keyset page")
    )
    for page in pages:
        offset = _median(results[f"offset page {page}"], "p50_ms")
        keyset = _median(results[f"keyset page {page}"], "p50_ms")
        lines.append(f"| {page} | {offset:.2f} | {keyset:.2f} |")
    first, last = pages[0], pages[-1]
    keyset_growth = _median(results[f"keyset page {last}"], "p50_ms") / _median(
        results[f"keyset page {first}"], "p50_ms"
    )
    offset_growth = _median(results[f"offset page {last}"], "p50_ms") / _median(
        results[f"offset page {first}"], "p50_ms"
    )
    lines += [
        "",
        f"Keyset page {last} / page {first}: {keyset_growth:.2f}x (target <= 2x: "
        f"{_met(keyset_growth <= 2)}); offset page {last} / page {first}: {offset_growth:.2f}x.",
    ]
    return lines


def _met(condition: bool) -> str:
    return "yes" if condition else "no"


# The sections the other benchmark commands write below `make bench`'s, in page order; each
# command rewrites its own and keeps the others.
MANAGEMENT_MARKER = "<!-- bench-management -->"
VOLUME_MARKER = "<!-- bench-volume -->"
REST_VOLUME_MARKER = "<!-- bench-rest-volume -->"
FAIRNESS_MARKER = "<!-- bench-fairness -->"
SECTION_MARKERS = (MANAGEMENT_MARKER, VOLUME_MARKER, REST_VOLUME_MARKER, FAIRNESS_MARKER)


def command_line(make_target: str, module: str) -> str:
    """How this run was started, for its section: the make target, or the module with its
    arguments when it was given any."""
    return make_target if len(sys.argv) == 1 else f"python -m {module} " + " ".join(sys.argv[1:])


def split_page(text: str) -> tuple[str, dict[str, str]]:
    """The page's head (`make bench`'s part) and each command's section by its marker."""
    found = sorted((at, marker) for marker in SECTION_MARKERS if (at := text.find(marker)) >= 0)
    if not found:
        return text, {}
    sections = {
        marker: text[at : found[index + 1][0] if index + 1 < len(found) else len(text)]
        for index, (at, marker) in enumerate(found)
    }
    return text[: found[0][0]], sections


def write_section(path: Path, section: str) -> None:
    """Put one command's section (its text starts with its marker line) on the page, in
    SECTION_MARKERS order, keeping the head and the other sections."""
    head, sections = split_page(path.read_text() if path.exists() else "# Benchmarks\n")
    sections[section.split("\n", 1)[0]] = section
    _write(path, head, sections)


def write_head(path: Path, head: str) -> None:
    """Replace `make bench`'s part of the page, keeping the other commands' sections."""
    _write(path, head, split_page(path.read_text() if path.exists() else "")[1])


def _write(path: Path, head: str, sections: dict[str, str]) -> None:
    parts = [head.rstrip("\n")]
    parts += [sections[marker].rstrip("\n") for marker in SECTION_MARKERS if marker in sections]
    path.write_text("\n\n".join(parts) + "\n")
