"""`make bench-management`: the management RPCs' costs, as ratios within one run.

    python -m bench.management [--check-entries N] [--export-entries N] [--singles N]
                               [--history-events N]

- CheckDnc of 1,000 numbers in one call, against 1,000 one-number calls and one ListDnc page;
- BatchAddDnc of 1,000 new numbers, against single AddDnc calls (per entry);
- ListDncHistory of a number with a long history: its first page against one ListDnc page, and
  its last page (reached with page tokens, keyset) against its first;
- ExportDnc of a 100,000-entry organization over gRPC and over REST (NDJSON and CSV), with the
  resident memory of the service and the gateway sampled during the stream (goal: < 20 MB growth);
- the crash-safe audit's writes against the two-step write they replaced (bench/audit.py; goal:
  >= 0.8x).

Check and export use two databases (FerretDB v1 scans a whole collection per query, so a large
organization next to the small one would drown the check's own cost). The result replaces the
"Management RPCs" section of docs/benchmarks.md, which `make bench` keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from bson import ObjectId
from pymongo import MongoClient

from bench import audit, report
from bench.__main__ import (
    ROOT,
    SECRET,
    WORK,
    database_uri,
    free_port,
    process,
    wait_http,
)
from bench.report import MANAGEMENT_MARKER as MARKER
from devtools.dev_tokens import issue_dev_token
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.settings import Settings
from dnc_service.store.order import LISTING_INDEX, LISTING_INDEX_NAME

CHECK_DB, EXPORT_DB, AUDIT_DB = "dnc_bench_check", "dnc_bench_export", "dnc_bench_audit"
ORG, USER = ObjectId("be0c0a000000000000000000"), ObjectId("be0c0a000000000011111111")
BASE_TIME = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)
BATCH = 1000
# The number whose history is read: not one of the seeded entries' numbers.
HISTORY_NUMBER = "+12127770000"
HISTORY_PAGE = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.management", description=__doc__)
    parser.add_argument("--check-entries", type=int, default=2_000)
    parser.add_argument("--export-entries", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=1_000, help="one-number CheckDnc calls")
    parser.add_argument(
        "--history-events", type=int, default=2_000, help="audit records of the history's number"
    )
    parser.add_argument("--repeat", type=int, default=5, help="medians of this many calls")
    parser.add_argument("--audit-singles", type=int, default=400, help="adds per audit round")
    parser.add_argument("--audit-batch", type=int, default=BATCH, help="entries per audit batch")
    parser.add_argument("--audit-rounds", type=int, default=4, help="interleaved audit rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    return parser.parse_args()


def number(i: int) -> str:
    """Seeded numbers: +1 212 55x xxxx, all possible NANP numbers."""
    return f"1212{5_500_000 + i:07d}"


def seed(uri: str, database: str, entries: int) -> None:
    """One organization of `entries` entries with phoneE164 (as the service writes it); reused
    when already there."""
    with MongoClient[dict[str, Any]](uri, tz_aware=True) as client:
        db = client[database]
        if (db.bench_meta.find_one({"_id": "dataset"}) or {}).get("entries") == entries:
            print(f"{database}: {entries} entries reused", flush=True)
            return
        for name in ("dnc_entries", "users", "bench_meta", "dnc_audit"):
            db[name].drop()
        db.dnc_entries.create_index(LISTING_INDEX, name=LISTING_INDEX_NAME)
        db.users.insert_one({"_id": USER, "orgId": ORG})
        for start in range(0, entries, 5000):
            db.dnc_entries.insert_many(
                [
                    {
                        "phoneNumber": number(i),
                        "phoneE164": "+" + number(i),
                        "type": "customer_request",
                        "orgId": ORG,
                        "requestUUID": f"00000000-0000-4000-8000-{i:012d}",
                        "transcription": "Customer requested to be removed from calling list",
                        "createdAt": BASE_TIME - timedelta(seconds=i),
                    }
                    for i in range(start, min(entries, start + 5000))
                ],
                ordered=False,
            )
        db.bench_meta.insert_one({"_id": "dataset", "entries": entries})
        print(f"{database}: {entries} entries seeded", flush=True)


def seed_history(uri: str, database: str, events: int) -> None:
    """`events` audit records of one number (HISTORY_NUMBER), a second apart, as AuditLog
    writes them (add and remove in turn); reused when already there."""
    with MongoClient[dict[str, Any]](uri, tz_aware=True) as client:
        audit = client[database].dnc_audit
        if audit.count_documents({"orgId": ORG, "phoneE164": HISTORY_NUMBER}) == events:
            print(f"{database}: {events} history events reused", flush=True)
            return
        audit.delete_many({"orgId": ORG, "phoneE164": HISTORY_NUMBER})
        for start in range(0, events, 5000):
            audit.insert_many(
                [
                    {
                        "orgId": ORG,
                        "action": "remove" if i % 2 else "add",
                        "entryId": ObjectId(),
                        "phoneE164": HISTORY_NUMBER,
                        "actor": str(USER),
                        "requestId": None,
                        "at": BASE_TIME - timedelta(seconds=i),
                    }
                    for i in range(start, min(events, start + 5000))
                ],
                ordered=False,
            )
        print(f"{database}: {events} history events seeded", flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def sampled(pids: dict[str, int], every: float = 0.02) -> Iterator[dict[str, list[float]]]:
    """RSS of each process (MB), sampled in a thread while the block runs."""
    samples: dict[str, list[float]] = {name: [rss_mb(pid)] for name, pid in pids.items()}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            for name, pid in pids.items():
                samples[name].append(rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def median_ms(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    await call()  # warm: connections, caches
    return statistics.median([await timed(call) for _ in range(repeat)])


def rest(
    addr: str,
    method: str,
    path: str,
    token: str,
    body: bytes | None = None,
    accept: str = "application/json",
) -> tuple[int, int, int]:
    """Status, bytes and lines of one REST call, read in 64 KiB chunks (never held whole)."""
    host, port = addr.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=900)
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": accept,
        "Content-Type": "application/json",
    }
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        size = lines = 0
        while chunk := response.read(65536):
            size += len(chunk)
            lines += chunk.count(b"\n")
        return response.status, size, lines
    finally:
        connection.close()  # fmt: skip


def main() -> int:
    args = parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        uri = database_uri(stack)
        seed(uri, CHECK_DB, args.check_entries)
        seed_history(uri, CHECK_DB, args.history_events)
        seed(uri, EXPORT_DB, args.export_entries)
        addr = {name: f"127.0.0.1:{free_port()}" for name in ("check", "export", "http", "xhttp")}
        env = {"MONGODB_URI": uri, "DNC_JWT_SECRET": SECRET, "DNC_LOG_LEVEL": "WARNING"}
        pids: dict[str, int] = {}
        for name, db, http_name in (("check", CHECK_DB, "http"), ("export", EXPORT_DB, "xhttp")):
            service_env = {**env, "DNC_MONGODB_DB": db, "DNC_GRPC_ADDR": addr[name]}
            pids[name] = stack.enter_context(
                process([sys.executable, "-m", "dnc_service"], service_env,
                        WORK / f"{name}-service.log")
            ).pid  # fmt: skip
            gateway_env = {**env, "DNC_HTTP_ADDR": addr[http_name], "DNC_GRPC_TARGET": addr[name]}
            pids[f"{name}-gateway"] = stack.enter_context(
                process([sys.executable, "-m", "gateway"], gateway_env,
                        WORK / f"{name}-gateway.log")
            ).pid  # fmt: skip
        for http_name in ("http", "xhttp"):
            wait_http(f"http://{addr[http_name]}/healthz")
        token = issue_dev_token(Settings.from_env(env), str(USER))
        rows = asyncio.run(measure(args, uri, addr, pids, token))
        rows += asyncio.run(
            audit.compare(uri, AUDIT_DB, args.audit_singles, args.audit_batch, args.audit_rounds)
        )
        for name, value in rows[-4:]:
            print(f"  {name}: {value}", flush=True)
    write(args, rows)
    return 0


async def measure(
    args: argparse.Namespace, uri: str, addr: dict[str, str], pids: dict[str, int], token: str
) -> list[tuple[str, str]]:
    metadata = (("authorization", f"Bearer {token}"),)
    rows: list[tuple[str, str]] = []

    def row(name: str, value: str) -> None:
        rows.append((name, value))
        print(f"  {name}: {value}", flush=True)

    async with grpc.aio.insecure_channel(addr["check"]) as channel:
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        # Half listed, half not, interleaved.
        numbers = [
            f"+{number(i // 2)}" if i % 2 == 0 else f"+1212{6_600_000 + i:07d}"
            for i in range(BATCH)
        ]
        one_call = await median_ms(
            lambda: stub.CheckDnc(dnc_pb2.CheckDncRequest(phone_numbers=numbers),
                                  metadata=metadata), args.repeat)  # fmt: skip
        page = await median_ms(
            lambda: stub.ListDnc(dnc_pb2.ListDncRequest(page=1, limit=10), metadata=metadata),
            args.repeat,
        )
        started = time.perf_counter()
        for each in numbers[: args.singles]:
            await stub.CheckDnc(dnc_pb2.CheckDncRequest(phone_numbers=[each]), metadata=metadata)
        singles = (time.perf_counter() - started) * 1000 * BATCH / args.singles
        body = ('{"phoneNumbers": [' + ",".join(f'"{n}"' for n in numbers) + "]}").encode()
        rest_check = await median_ms(
            lambda: asyncio.to_thread(rest, addr["http"], "POST", "/api/dnc/check", token, body),
            args.repeat,
        )
        row("CheckDnc, 1,000 numbers in one call (gRPC)", f"{one_call:.1f} ms")
        row("CheckDnc, 1,000 one-number calls in sequence (gRPC)", f"{singles:.0f} ms")
        row("one call / 1,000 calls", f"{singles / one_call:.1f}x faster")
        row("ListDnc, first page of 10 (gRPC)", f"{page:.1f} ms")
        row("CheckDnc of 1,000 / one ListDnc page", f"{one_call / page:.2f}x")
        row("CheckDnc, 1,000 numbers over REST / over gRPC", f"{rest_check / one_call:.2f}x")

        stamp = int(time.time()) % 1_000_000
        fresh = [f"+1646{(stamp * 1000 + i) % 10_000_000:07d}" for i in range(BATCH + 100)]
        batch = await timed(lambda: stub.BatchAddDnc(
            dnc_pb2.BatchAddDncRequest(entries=[dnc_pb2.AddDncRequest(phone_number=n)
                                                for n in fresh[:BATCH]]),
            metadata=metadata))  # fmt: skip
        started = time.perf_counter()
        for each in fresh[BATCH:]:
            await stub.AddDnc(dnc_pb2.AddDncRequest(phone_number=each), metadata=metadata)
        single_add = (time.perf_counter() - started) * 1000 / 100
        row(
            "BatchAddDnc, 1,000 new numbers (gRPC)",
            f"{batch:.0f} ms ({batch / BATCH:.2f} ms/entry)",
        )
        row("AddDnc, one number per call (gRPC)", f"{single_add:.1f} ms/entry")
        row("batch / single, per entry", f"{single_add / (batch / BATCH):.1f}x faster")
        with MongoClient[dict[str, Any]](uri) as client:  # leave the check data as seeded
            client[CHECK_DB].dnc_entries.delete_many({"phoneE164": {"$in": fresh}})
            client[CHECK_DB].dnc_audit.delete_many({"phoneE164": {"$in": fresh}})
        await measure_history(stub, metadata, args, page, row)

    total = args.export_entries
    watched = {"service": pids["export"], "gateway": pids["export-gateway"]}
    async with grpc.aio.insecure_channel(addr["export"]) as channel:
        stub = dnc_pb2_grpc.DncServiceStub(channel)

        async def export_grpc() -> int:
            count = 0
            async for _ in stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=metadata,
                                          timeout=900):  # fmt: skip
                count += 1
            return count

        with sampled(watched) as rss:
            started = time.perf_counter()
            count = await export_grpc()
            elapsed = time.perf_counter() - started
        assert count == total, f"gRPC export gave {count} of {total}"
        rate = f"{elapsed:.1f} s ({total / elapsed:,.0f} entries/s)"
        row(f"ExportDnc, {total:,} entries over gRPC",
            f"{rate}; service RSS growth {growth(rss['service'])}")  # fmt: skip
    for accept, name in (("application/x-ndjson", "NDJSON"), ("text/csv", "CSV")):
        with sampled(watched) as rss:
            started = time.perf_counter()
            status, size, lines = await asyncio.to_thread(
                rest, addr["xhttp"], "GET", "/api/dnc/export", token, None, accept
            )
            elapsed = time.perf_counter() - started
        expected = total + (1 if name == "CSV" else 0)
        assert (status, lines) == (200, expected), f"REST {name} gave {status}, {lines} lines"
        row(f"ExportDnc, {total:,} entries over REST ({name}, {size / 2**20:.0f} MiB)",
            f"{elapsed:.1f} s ({total / elapsed:,.0f} entries/s); RSS growth service "
            f"{growth(rss['service'])}, gateway {growth(rss['gateway'])}")  # fmt: skip
    return rows


async def measure_history(
    stub: dnc_pb2_grpc.DncServiceAsyncStub,
    metadata: tuple[tuple[str, str], ...],
    args: argparse.Namespace,
    list_page_ms: float,
    row: Callable[[str, str], None],
) -> None:
    """ListDncHistory's first page, against a ListDnc page of the same run, and its last page
    (every token followed once to get there) against its first: keyset keeps them level."""

    async def history(token: str = "") -> dnc_pb2.ListDncHistoryResponse:
        request = dnc_pb2.ListDncHistoryRequest(
            phone_number=HISTORY_NUMBER, limit=HISTORY_PAGE, page_token=token
        )
        return await stub.ListDncHistory(request, metadata=metadata)

    first = await median_ms(history, args.repeat)
    token, pages = (await history()).next_page_token, 1
    while token:
        last_token = token
        token, pages = (await history(token)).next_page_token, pages + 1
    expected = max(1, -(-args.history_events // HISTORY_PAGE))
    assert pages == expected, f"history walked {pages} pages of {expected}"
    last = await median_ms(lambda: history(last_token), args.repeat) if pages > 1 else first
    events = f"{args.history_events:,}-event history"
    row(f"ListDncHistory, first page of {HISTORY_PAGE} of a {events} (gRPC)", f"{first:.1f} ms")
    row("ListDncHistory first page / one ListDnc page", f"{first / list_page_ms:.2f}x")
    row(f"ListDncHistory, last page ({pages}) / first page (keyset)", f"{last / first:.2f}x")


def growth(samples: list[float]) -> str:
    """Peak over the value before the stream, and the start: `+3.1 MB (52 -> 55 MB peak)`."""
    return f"+{max(samples) - samples[0]:.1f} MB ({samples[0]:.0f} -> {max(samples):.0f} MB peak)"


def write(args: argparse.Namespace, rows: list[tuple[str, str]]) -> None:
    """Replace the management section of the benchmarks page (or add it)."""
    command = report.command_line("make bench-management", "bench.management")
    section = "\n".join(
        [
            MARKER,
            "## Management RPCs",
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores, shared; "
            f"check data {args.check_entries:,} entries, export {args.export_entries:,} entries "
            "(separate databases, FerretDB unless MONGODB_URI is set). Quote the ratios: "
            "absolute times vary with the machine and FerretDB's full scans.",
            "",
            "| measurement | result |",
            "|---|---|",
            *[f"| {name} | {value} |" for name, value in rows],
            "",
            "How to read it: one-call figures are medians; the 1,000 one-number calls run once, "
            "in sequence, so they carry every per-call cost (token check, user lookup, a query) "
            "1,000 times and whatever else the machine runs meanwhile. RSS growth is the peak "
            "during the stream over the value just before it, sampled every 20 ms (goal: under "
            "20 MB); the export's entries are never held together by either process. The "
            "audit rows compare the store work of the writes in-process (bench/audit.py), "
            f"{args.audit_rounds} interleaved rounds of {args.audit_singles} adds and one "
            f"batch of {args.audit_batch} per round; the last row charges the sweep that "
            "clears the markers to the crash-safe writes (goal: >= 0.8x).",
            "",
        ]
    )
    report.write_section(args.out, section)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
