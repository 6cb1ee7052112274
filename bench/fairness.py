"""`make bench-fairness`: does one tenant's flood leave the others served? Ratios in one run.

    python -m bench.fairness [--seconds S] [--exports N] [--checks N] [--batches N]

Tenant B's ListDnc (one call at a time) and a health check are timed alone, then while tenant A
floods: exports that read one entry and stall (as many as the whole server's slots), loops of
1,000-number CheckDnc of pathological strings and of 1,000-item BatchAddDnc. Two services run
side by side on the same database, with the same global limit (the auditor's 32 slots): one with
DNC_MAX_CONCURRENT_RPCS_PER_ORG (fair), one with the per-organization limit equal to the global
one (as before it existed). The flood runs in its own process, so the measuring loop is not
also the flooding one. The result replaces the "Fairness" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from bson import ObjectId
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient

from bench import report
from bench.__main__ import ROOT, SECRET, WORK, database_uri, free_port, process
from bench.measure import percentiles
from bench.report import FAIRNESS_MARKER
from devtools.dev_tokens import issue_dev_token
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.settings import Settings
from dnc_service.store.order import LISTING_INDEX, LISTING_INDEX_NAME

DATABASE = "dnc_bench_fairness"
ORG_A, USER_A = ObjectId("be0cfa000000000000000000"), ObjectId("be0cfa000000000011111111")
ORG_B, USER_B = ObjectId("be0cfb000000000000000000"), ObjectId("be0cfb000000000011111111")
BASE_TIME = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)
# Numbers phonenumbers works hard on, then refuses (too long): CPU only, no database.
PATHOLOGICAL = ["+" + "1" * 31] * 1000
# A slow reader: a window that never grows, a connection of its own.
SLOW_READER = (("grpc.http2.bdp_probe", 0), ("grpc.use_local_subchannel_pool", 1))
Codes = dict[str, int]
# Tenant A's two floods, each measured on its own: stalled exports hold slots (they would starve
# everyone of admission), checks and batches burn CPU (they would starve everyone of the loop).
FLOODS = {"exports": "stalled exports", "cpu": "CheckDnc + BatchAddDnc loops"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--limit", type=int, default=32, help="DNC_MAX_CONCURRENT_RPCS")
    parser.add_argument("--per-org", type=int, default=8, help="DNC_MAX_CONCURRENT_RPCS_PER_ORG")
    parser.add_argument("--exports", type=int, default=None, help="stalled exports (--limit)")
    parser.add_argument("--checks", type=int, default=8, help="CheckDnc loops of 1,000 numbers")
    parser.add_argument("--batches", type=int, default=4, help="BatchAddDnc loops of 1,000")
    parser.add_argument("--entries", type=int, default=400, help="tenant A's entries (8 KiB)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--flood", help=argparse.SUPPRESS)  # internal: JSON of the flood
    return parser.parse_args()


def seed(uri: str, entries: int) -> None:
    """Tenant A with `entries` entries of 8 KiB (an export outgrows a stream's window; few
    documents, since FerretDB v1 scans the whole collection for every query) and tenant B
    with 100; reused when already there."""
    with MongoClient[dict[str, Any]](uri, tz_aware=True) as client:
        db = client[DATABASE]
        if (db.bench_meta.find_one({"_id": "dataset"}) or {}).get("entries") == entries:
            print(f"{DATABASE}: reused", flush=True)
            return
        for name in ("dnc_entries", "users", "bench_meta", "dnc_audit"):
            db[name].drop()
        db.dnc_entries.create_index(LISTING_INDEX, name=LISTING_INDEX_NAME)
        db.users.insert_many([{"_id": USER_A, "orgId": ORG_A}, {"_id": USER_B, "orgId": ORG_B}])
        for org, count, size in ((ORG_A, entries, 8192), (ORG_B, 100, 50)):
            db.dnc_entries.insert_many(
                [
                    {
                        "phoneNumber": f"1212{5_500_000 + i:07d}",
                        "phoneE164": f"+1212{5_500_000 + i:07d}",
                        "orgId": org,
                        "transcription": "x" * size,
                        "createdAt": BASE_TIME - timedelta(seconds=i),
                    }
                    for i in range(count)
                ]
            )
        db.bench_meta.insert_one({"_id": "dataset", "entries": entries})
        print(f"{DATABASE}: seeded", flush=True)


# The flood (tenant A), in its own process: `python -m bench.fairness --flood '{...}'`.


async def flood(config: dict[str, Any]) -> Codes:
    """Stalled exports, then check and batch loops until SIGTERM; the codes A was answered."""
    metadata = (("authorization", f"Bearer {config['token']}"),)
    codes: Codes = {}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    def count(code: grpc.StatusCode) -> None:
        codes[code.name] = codes.get(code.name, 0) + 1

    async def loop(call: Callable[[], Awaitable[object]]) -> None:
        while not stop.is_set():
            try:
                await call()
                count(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as error:
                count(error.code())
                await asyncio.sleep(0.05)  # a refused client backs off a little

    async with (
        grpc.aio.insecure_channel(config["target"], options=SLOW_READER) as slow,
        grpc.aio.insecure_channel(config["target"]) as channel,
    ):
        exports = [
            dnc_pb2_grpc.DncServiceStub(slow).ExportDnc(
                dnc_pb2.ExportDncRequest(), metadata=metadata, timeout=900
            )
            for _ in range(config["exports"])
        ]
        for export in exports:
            try:
                await export.read()  # one entry, then never again: the slot stays taken
                count(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as error:
                count(error.code())
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        check = dnc_pb2.CheckDncRequest(phone_numbers=PATHOLOGICAL)
        batch = dnc_pb2.BatchAddDncRequest(
            entries=[dnc_pb2.AddDncRequest(phone_number=f"+1646{i:07d}") for i in range(1000)]
        )
        loops: list[Callable[[], Awaitable[object]]] = [
            lambda: stub.CheckDnc(check, metadata=metadata, timeout=60)
        ] * config["checks"]
        loops += [lambda: stub.BatchAddDnc(batch, metadata=metadata, timeout=60)] * config[
            "batches"
        ]
        print("ready", flush=True)
        await asyncio.gather(stop.wait(), *(loop(call) for call in loops))
        for export in exports:
            export.cancel()
    return codes


# The measurements (tenant B and health), from the main process.


async def timed(call: Callable[[], Awaitable[object]], seconds: float) -> tuple[list[float], Codes]:
    """Latencies (s) of the answered ones of back-to-back calls for `seconds` (a refusal is
    fast and would flatter the figures), and the codes of all."""
    samples: list[float] = []
    codes: Codes = {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        try:
            await call()
        except grpc.aio.AioRpcError as error:
            codes[error.code().name] = codes.get(error.code().name, 0) + 1
            await asyncio.sleep(0.05)  # a refused client backs off a little
            continue
        samples.append(time.perf_counter() - started)
        codes["OK"] = codes.get("OK", 0) + 1
    return samples, codes


async def phase(target: str, token: str, seconds: float) -> dict[str, Any]:
    """Tenant B's ListDnc and a health check, alternating phases of `seconds` / 2 each."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        request = dnc_pb2.ListDncRequest(page=1, limit=10)
        with contextlib.suppress(grpc.aio.AioRpcError):  # warm (refused while A holds all)
            await stub.ListDnc(request, metadata=metadata, timeout=30)
        listed, codes = await timed(
            lambda: stub.ListDnc(request, metadata=metadata, timeout=30), seconds / 2
        )
        probed, _ = await timed(
            lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=30), seconds / 2
        )
    return {"list": percentiles_of(listed), "health": percentiles_of(probed), "codes": codes}


def percentiles_of(samples: list[float]) -> tuple[float, float] | None:
    """(p50, p99) in ms; None when no call was answered."""
    return percentiles(samples) if samples else None


def flooded(
    args: argparse.Namespace, target: str, token_a: str, token_b: str, kind: str
) -> tuple[dict[str, Any], Codes]:
    """Tenant B's phase while tenant A floods `target` from another process: stalled exports
    (`kind` "exports") or CPU-heavy checks and batches ("cpu")."""
    config = {
        "target": target,
        "token": token_a,
        "exports": (args.exports or args.limit) if kind == "exports" else 0,
        "checks": args.checks if kind == "cpu" else 0,
        "batches": args.batches if kind == "cpu" else 0,
    }
    flood_process = subprocess.Popen(
        [sys.executable, "-m", "bench.fairness", "--flood", json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flood_process.stdout is not None
        if flood_process.stdout.readline().strip() != "ready":
            raise RuntimeError("the flood did not start")
        measured = asyncio.run(phase(target, token_b, args.seconds))
    finally:
        flood_process.send_signal(signal.SIGTERM)
    output, _ = flood_process.communicate(timeout=120)
    return measured, json.loads(output.strip().splitlines()[-1])


def main() -> int:
    args = parse_args()
    if args.flood:
        print(json.dumps(asyncio.run(flood(json.loads(args.flood)))), flush=True)
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        uri = database_uri(stack)
        seed(uri, args.entries)
        env = {
            "MONGODB_URI": uri,
            "DNC_MONGODB_DB": DATABASE,
            "DNC_JWT_SECRET": SECRET,
            "DNC_LOG_LEVEL": "WARNING",
            "DNC_MAX_CONCURRENT_RPCS": str(args.limit),
            "DNC_ORG_CACHE_TTL_SECONDS": "5",
        }
        targets = {}
        for name, per_org in (("fair", args.per_org), ("unfair", args.limit)):
            targets[name] = f"127.0.0.1:{free_port()}"
            service_env = {
                **env,
                "DNC_GRPC_ADDR": targets[name],
                "DNC_MAX_CONCURRENT_RPCS_PER_ORG": str(per_org),
            }
            stack.enter_context(
                process([sys.executable, "-m", "dnc_service"], service_env,
                        WORK / f"fairness-{name}.log")
            )  # fmt: skip
        settings = Settings.from_env(env)
        token_a = issue_dev_token(settings, str(USER_A))
        token_b = issue_dev_token(settings, str(USER_B))
        wait_grpc(list(targets.values()))
        results: dict[str, Any] = {}
        for name, target in targets.items():
            print(f"{name}: tenant B alone", flush=True)
            results[name] = {"alone": (asyncio.run(phase(target, token_b, args.seconds)), {})}
            for kind in FLOODS:
                print(f"{name}: tenant B while tenant A floods ({kind})", flush=True)
                results[name][kind] = flooded(args, target, token_a, token_b, kind)
            for key, value in results[name].items():
                print(f"  {key}: {value}", flush=True)
    write(args, results)
    return 0


def wait_grpc(targets: list[str], timeout: float = 60) -> None:
    """Wait until every service answers health SERVING."""
    end = time.monotonic() + timeout
    for target in targets:
        with grpc.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > end:
                    raise RuntimeError(f"{target} did not serve within {timeout}s")
                time.sleep(0.2)


def ms(marks: tuple[float, float] | None) -> str:
    return "none answered" if marks is None else f"{marks[0]:.1f} / {marks[1]:.1f}"


def ratio(alone: tuple[float, float] | None, flooded: tuple[float, float] | None) -> str:
    """p99 flooded / p99 alone, as `2.3x`; "refused" when nothing was answered flooded."""
    if flooded is None:
        return "refused"
    return "-" if alone is None else f"{flooded[1] / alone[1]:.1f}x"


def served(codes: Codes) -> str:
    total = sum(codes.values())
    return f"{codes.get('OK', 0) / total:.0%} of {total}" if total else "none"


def write(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Replace the fairness section of the benchmarks page (or add it, last)."""
    rows = []
    for name, label in (("fair", f"per org {args.per_org}"), ("unfair", "no per-org limit")):
        alone = results[name]["alone"][0]
        for kind, flood_label in FLOODS.items():
            measured, a_codes = results[name][kind]
            for what, key in (("tenant B ListDnc", "list"), ("health Check", "health")):
                rows.append(
                    f"| {label} | {flood_label} | {what} | {ms(alone[key])} "
                    f"| {ms(measured[key])} | {ratio(alone[key], measured[key])} |"
                )
            by_code = ", ".join(f"{code} {n}" for code, n in sorted(a_codes.items()))
            rows.append(
                f"| {label} | {flood_label} | tenant B answered OK; A's calls by code "
                f"| {served(alone['codes'])} | {served(measured['codes'])}; A: {by_code} | |"
            )
    command = report.command_line("make bench-fairness", "bench.fairness")
    section = "\n".join(
        [
            FAIRNESS_MARKER,
            "## Fairness",
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores, shared; "
            f"DNC_MAX_CONCURRENT_RPCS={args.limit} (the auditor's figure). Tenant A floods in "
            f"two ways, one after the other: {args.exports or args.limit} exports that read one "
            f"entry and stall; then {args.checks} loops of CheckDnc of 1,000 pathological "
            f"numbers and {args.batches} loops of BatchAddDnc of 1,000 items. Two services on "
            f"the same database: DNC_MAX_CONCURRENT_RPCS_PER_ORG={args.per_org}, and one "
            "without a per-organization limit (set to the global one) for comparison. "
            f"{args.seconds:g} s per phase; latencies in ms, p50 / p99, one call at a time; "
            "the ratio is p99 flooded / p99 alone, both measured in this run.",
            "",
            "| service | tenant A's flood | measured | alone | while A floods | p99 ratio |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "How to read it. Admission is the bound this measures exactly: with the "
            f"per-organization limit tenant A never holds more than {args.per_org} of the "
            f"{args.limit} slots, so tenant B is always admitted (100% OK above), whatever A "
            "sends; without it A's stalled exports take every slot and B is refused "
            "(RESOURCE_EXHAUSTED) until they end. What admission does not bound is CPU: A's "
            "admitted checks and batches share the service's one event loop with everyone. "
            "Many-item parsing runs in slices of 25 items (~2 ms) with long requests taking "
            "turns, so it adds at most one slice per loop turn a call of B needs, whatever the "
            "number of A's requests; what remains are steps that are not sliced (building "
            "1,000 results, ~5 ms; the database driver) and the garbage collector's full "
            "collections (60-140 ms in the service process, measured in-process), plus, on this "
            "shared 2-core machine, the CPU FerretDB and the flooding client take: B's ListDnc "
            "is FerretDB-bound (a full collection scan per query) and slows with the database "
            "load A's batches add. Quote the admission rows and the ratios, not the absolute "
            "times; few ListDnc samples make their p99 the maximum.",
            "",
        ]
    )
    report.write_section(args.out, section)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
