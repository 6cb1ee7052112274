"""`make bench-volume`: ScrubDnc, ImportDnc and ExportDnc at volume, as ratios within one run.

    python -m bench.volume [--export-entries N] [--scrub-numbers N] [--import-rows N]
                           [--sizes 1000,10000,100000] [--per-size N]

- ExportDnc of an organization over gRPC / pymongo iterating the same query (goal >= 0.8x);
- ScrubDnc of N numbers (default 200,000) against a 1,000-entry list / the same `$in` queries
  sent by pymongo one after another (goal >= 0.8x); service CPU per number (goal <= 10 us);
- ImportDnc of N new rows / pymongo insert_many of the same documents, 1,000 a batch, into a
  collection with the same indexes (goal >= 0.7x);
- the service's RSS growth during the scrub and the import (goal <= 20 MB);
- the service's CPU per item for check, scrub, export and import against lists of each size
  (goal: flat within 1.5x).

CPU is the service process's user + system time from /proc over the items it handled. The result
goes in the "Volume" section of docs/benchmarks.md (after the management section, which keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient

from bench import report
from bench.__main__ import (
    ROOT,
    SECRET,
    WORK,
    database_uri,
    free_port,
    process,
)
from bench.management import ORG, USER, growth, number, sampled, seed
from bench.report import VOLUME_MARKER as MARKER
from devtools.dev_tokens import issue_dev_token
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.settings import Settings
from dnc_service.store.entries import EXPORT_BATCH_SIZE
from dnc_service.store.filters import listing_filter
from dnc_service.store.order import SORT
from dnc_service.store.schema import PROJECTION, NewEntry, new_document

CHUNK = 1000
EXPORT_DB, SCRUB_DB, IMPORT_DB = "dnc_bench_export", "dnc_bench_scrub", "dnc_bench_import"
_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.volume", description=__doc__)
    parser.add_argument("--export-entries", type=int, default=100_000)
    parser.add_argument("--list-entries", type=int, default=1_000, help="the scrubbed list")
    parser.add_argument("--scrub-numbers", type=int, default=200_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--sizes", default="1000,10000,100000", help="list sizes for CPU/item")
    parser.add_argument("--per-size", type=int, default=10_000, help="items per size and RPC")
    parser.add_argument(
        "--parts", default="export,scrub,import,sizes", help="which measurements to run"
    )
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (export, scrub)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    return parser.parse_args()


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class Service:
    """One `python -m dnc_service` on a database, with a channel and the bench user's token."""

    def __init__(self, pid: int, channel: grpc.aio.Channel, token: str) -> None:
        self.pid = pid
        self.stub = dnc_pb2_grpc.DncServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self._channel = channel

    def cpu(self) -> float:
        return cpu_seconds(self.pid)


@contextmanager
def running(uri: str, database: str, label: str) -> Iterator[tuple[int, str]]:
    addr = f"127.0.0.1:{free_port()}"
    env = {
        "MONGODB_URI": uri, "DNC_JWT_SECRET": SECRET, "DNC_LOG_LEVEL": "WARNING",
        "DNC_MONGODB_DB": database, "DNC_GRPC_ADDR": addr,
        # FerretDB scans a whole list per lookup: at 100,000 entries on a busy machine one
        # CheckDnc may take longer than the default 10 s.
        "DNC_REQUEST_TIMEOUT_SECONDS": "300",
    }  # fmt: skip
    with process([sys.executable, "-m", "dnc_service"], env, WORK / f"volume-{label}.log") as p:
        yield p.pid, addr


async def connect(pid: int, addr: str) -> Service:
    channel = grpc.aio.insecure_channel(addr)
    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(300):
        try:
            answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                break
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.1)
    settings = Settings.from_env({"DNC_JWT_SECRET": SECRET})
    return Service(pid, channel, issue_dev_token(settings, str(USER)))


def scrub_numbers(count: int, listed: int) -> list[list[str]]:
    """`count` numbers in chunks of CHUNK: every 200th on the list, the others not."""
    numbers = [number(k // 200 % listed) if k % 200 == 0 else f"1646{k:07d}" for k in range(count)]
    return [numbers[start : start + CHUNK] for start in range(0, count, CHUNK)]


async def export(service: Service) -> int:
    count = 0
    async for _ in service.stub.ExportDnc(
        dnc_pb2.ExportDncRequest(), metadata=service.metadata, timeout=900
    ):
        count += 1
    return count


async def export_batches(service: Service) -> int:
    count = 0
    async for batch in service.stub.ExportDncBatches(
        dnc_pb2.ExportDncBatchesRequest(), metadata=service.metadata, timeout=900
    ):
        count += len(batch.entries)
    return count


def export_floor(uri: str, database: str) -> int:
    with MongoClient[dict[str, Any]](uri, tz_aware=True) as client:
        found = client[database].dnc_entries.find(
            listing_filter(str(ORG), "", datetime.now(UTC)),
            PROJECTION,
            sort=SORT,
            batch_size=EXPORT_BATCH_SIZE,
        )
        return sum(1 for _ in found)


async def scrub(service: Service, chunks: list[list[str]]) -> int:
    async def requests() -> AsyncIterator[dnc_pb2.ScrubDncRequest]:
        for chunk in chunks:
            yield dnc_pb2.ScrubDncRequest(phone_numbers=chunk)

    listed = 0
    async for response in service.stub.ScrubDnc(requests(), metadata=service.metadata, timeout=900):
        listed += sum(result.listed for result in response.results)
    return listed


def scrub_floor(uri: str, database: str, chunks: list[list[str]]) -> tuple[int, float]:
    """The listed count and the seconds of CheckDnc's query for each chunk, sent by pymongo."""
    e164 = [["+" + each for each in chunk] for chunk in chunks]
    listed = 0
    with MongoClient[dict[str, Any]](uri, tz_aware=True) as client:
        entries = client[database].dnc_entries
        started = time.perf_counter()
        for chunk in e164:
            found = entries.find(
                {"orgId": ORG, "phoneE164": {"$in": chunk}},
                {"phoneE164": 1, "orgId": 1, "type": 1, "createdAt": 1},
            )
            listed += len(found.to_list())
        return listed, time.perf_counter() - started


def import_chunks(rows: int, prefix: str) -> list[list[str]]:
    numbers = [f"{prefix}{i:07d}" for i in range(rows)]
    return [numbers[start : start + CHUNK] for start in range(0, rows, CHUNK)]


async def import_rows(service: Service, chunks: list[list[str]]) -> dnc_pb2.ImportDncResponse:
    async def requests() -> AsyncIterator[dnc_pb2.ImportDncRequest]:
        for chunk in chunks:
            yield dnc_pb2.ImportDncRequest(
                entries=[dnc_pb2.AddDncRequest(phone_number=each) for each in chunk]
            )

    response: dnc_pb2.ImportDncResponse = await service.stub.ImportDnc(
        requests(), metadata=service.metadata, timeout=900
    )
    return response


def import_floor(uri: str, database: str, chunks: list[list[str]]) -> float:
    """pymongo insert_many of the documents the service writes, into a twin collection with the
    entries collection's indexes; seconds."""
    with MongoClient[dict[str, Any]](uri, tz_aware=True) as client:
        db = client[database]
        db.floor_entries.drop()
        for name, info in db.dnc_entries.index_information().items():
            if name != "_id_":
                options = {k: v for k, v in info.items() if k not in ("key", "v", "ns")}
                db.floor_entries.create_index(info["key"], name=name, **options)
        documents = [
            [
                new_document(str(ORG), NewEntry("+" + each), datetime.now(UTC), "bench")
                for each in chunk
            ]
            for chunk in chunks
        ]
        started = time.perf_counter()
        for batch in documents:
            db.floor_entries.insert_many(batch, ordered=False)
        elapsed = time.perf_counter() - started
        db.floor_entries.drop()
    return elapsed


def drop_entries(uri: str, database: str) -> None:
    """An empty list for the import (the service creates its indexes when it starts)."""
    with MongoClient[dict[str, Any]](uri) as client:
        client[database].dnc_entries.drop()
        client[database].dnc_audit.drop()


def reset_import(uri: str, database: str) -> None:
    """Remove what an import added (by id, 1,000 at a time: FerretDB's SQLite refuses a delete
    of too many rows at once) and the audit."""
    with MongoClient[dict[str, Any]](uri) as client:
        db = client[database]
        ids = [doc["_id"] for doc in db.dnc_entries.find({"phoneNumber": {"$regex": "^1718"}}, {})]
        for start in range(0, len(ids), 1000):
            db.dnc_entries.delete_many({"_id": {"$in": ids[start : start + 1000]}})
        db.dnc_audit.drop()


async def timed_cpu(service: Service, work: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, service CPU seconds) of awaiting `work`."""
    cpu, started = service.cpu(), time.perf_counter()
    result = await work
    return result, time.perf_counter() - started, service.cpu() - cpu


Rows = list[tuple[str, str]]


def row(rows: Rows, name: str, value: str) -> None:
    rows.append((name, value))
    print(f"  {name}: {value}", flush=True)


async def measure_export(uri: str, entries: int, rounds: int, rows: Rows) -> None:
    """Interleaved rounds (the machine is shared: its load drifts); totals over the rounds."""
    totals = {"ExportDnc": [0.0, 0.0], "ExportDncBatches": [0.0, 0.0], "pymongo": [0.0, 0.0]}
    with running(uri, EXPORT_DB, "export") as (pid, addr):
        service = await connect(pid, addr)
        await export_batches(service)  # warm
        for _ in range(rounds):
            for name, work in (("ExportDnc", export), ("ExportDncBatches", export_batches)):
                count, seconds, cpu = await timed_cpu(service, work(service))
                assert count == entries, f"{name} gave {count} of {entries}"
                totals[name][0] += seconds
                totals[name][1] += cpu
            started = time.perf_counter()
            assert export_floor(uri, EXPORT_DB) == entries
            totals["pymongo"][0] += time.perf_counter() - started
    done = entries * rounds
    for name, label in (
        ("ExportDnc", "ExportDnc (one entry a message)"),
        ("ExportDncBatches", "ExportDncBatches (500 entries a message)"),
    ):
        seconds, cpu = totals[name]
        row(rows, f"{label}, {entries:,} entries over gRPC",
            f"{done / seconds:,.0f} entries/s, "
            f"service CPU {cpu / done * 1e6:.1f} us/entry")  # fmt: skip
    floor = totals["pymongo"][0]
    row(rows, "pymongo iterating the same query", f"{done / floor:,.0f} entries/s")
    row(rows, "ExportDnc / pymongo", f"{floor / totals['ExportDnc'][0]:.2f}x")
    row(rows, "ExportDncBatches / pymongo (goal >= 0.8x)",
        f"{floor / totals['ExportDncBatches'][0]:.2f}x")  # fmt: skip


async def measure_scrub(uri: str, numbers: int, listed: int, rounds: int, rows: Rows) -> None:
    """The numbers in `rounds` parts, each scrubbed by the service then by pymongo."""
    chunks = scrub_numbers(numbers, listed)
    part = -(-len(chunks) // rounds)
    found = expected = 0
    seconds = cpu = floor = 0.0
    with running(uri, SCRUB_DB, "scrub") as (pid, addr):
        service = await connect(pid, addr)
        await scrub(service, chunks[:5])  # warm
        with sampled({"service": pid}) as rss:
            for start in range(0, len(chunks), part):
                some = chunks[start : start + part]
                listed_now, elapsed, used = await timed_cpu(service, scrub(service, some))
                found, seconds, cpu = found + listed_now, seconds + elapsed, cpu + used
                listed_floor, elapsed = scrub_floor(uri, SCRUB_DB, some)
                expected, floor = expected + listed_floor, floor + elapsed
    assert found == expected, f"scrub listed {found}, pymongo found {expected}"
    row(rows, f"ScrubDnc, {numbers:,} numbers against {listed:,} entries",
        f"{seconds:.1f} s ({numbers / seconds:,.0f} numbers/s); {found:,} listed")  # fmt: skip
    row(rows, "pymongo, the same $in queries in sequence",
        f"{floor:.1f} s ({numbers / floor:,.0f}/s)")  # fmt: skip
    row(rows, "ScrubDnc / pymongo (goal >= 0.8x)", f"{floor / seconds:.2f}x")
    row(rows, "ScrubDnc service CPU per number (goal <= 10 us)", f"{cpu / numbers * 1e6:.1f} us")
    row(rows, "ScrubDnc service RSS growth (goal <= 20 MB)", growth(rss["service"]))


async def measure_import(uri: str, count: int, rows: Rows) -> None:
    chunks = import_chunks(count, "1718")
    drop_entries(uri, IMPORT_DB)
    with running(uri, IMPORT_DB, "import") as (pid, addr):
        service = await connect(pid, addr)
        with sampled({"service": pid}) as rss:
            answer, seconds, cpu = await timed_cpu(service, import_rows(service, chunks))
        assert answer.added == count, f"import added {answer.added} of {count}"
        floor = import_floor(uri, IMPORT_DB, chunks)
        row(rows, f"ImportDnc, {count:,} new rows (entries and their audit records)",
            f"{seconds:.1f} s ({count / seconds:,.0f} rows/s, service CPU "
            f"{cpu / count * 1e6:.1f} us/row)")  # fmt: skip
        row(rows, "pymongo insert_many of the same entries, 1,000 a batch",
            f"{floor:.1f} s ({count / floor:,.0f}/s)")  # fmt: skip
        row(rows, "ImportDnc / pymongo (goal >= 0.7x)", f"{floor / seconds:.2f}x")
        row(rows, "ImportDnc service RSS growth (goal <= 20 MB)", growth(rss["service"]))
    drop_entries(uri, IMPORT_DB)


async def checks(service: Service, chunks: list[list[str]]) -> None:
    for chunk in chunks:
        check = dnc_pb2.CheckDncRequest(phone_numbers=chunk)
        await service.stub.CheckDnc(check, metadata=service.metadata)


async def per_size(uri: str, database: str, size: int, items: int) -> dict[str, float]:
    """The service's CPU per item (us) for each RPC against a list of `size` entries, less
    what the idle service burns in the same wall time (health pings, driver monitors, gRPC's
    pollers): FerretDB's scans of a large list stretch the wall time, not our work."""
    seed(uri, database, size)
    costs: dict[str, float] = {}
    with running(uri, database, f"size-{size}") as (pid, addr):
        service = await connect(pid, addr)
        chunks = scrub_numbers(items, min(size, 1000))
        await checks(service, chunks[:1])  # warm
        _, idle_wall, idle_cpu = await timed_cpu(service, asyncio.sleep(5))
        idle = idle_cpu / idle_wall

        async def ours(work: Any, count: int) -> float:
            _, wall, cpu = await timed_cpu(service, work)
            return max(0.0, cpu - idle * wall) / count * 1e6

        costs["check"] = await ours(checks(service, chunks), items)
        costs["scrub"] = await ours(scrub(service, chunks), items)
        costs["export"] = await ours(export(service), size)
        reset_import(uri, database)
        costs["import"] = await ours(import_rows(service, import_chunks(items, "1718")), items)
        reset_import(uri, database)
    return costs


async def measure(args: argparse.Namespace, uri: str) -> Rows:
    rows: Rows = []
    parts = set(args.parts.split(","))
    if "export" in parts:
        await measure_export(uri, args.export_entries, args.rounds, rows)
    if "scrub" in parts:
        await measure_scrub(uri, args.scrub_numbers, args.list_entries, args.rounds, rows)
    if "import" in parts:
        await measure_import(uri, args.import_rows, rows)
    if "sizes" not in parts:
        return rows
    sizes = [int(each) for each in args.sizes.split(",")]
    costs = {
        size: await per_size(
            uri,
            EXPORT_DB if size == args.export_entries else f"dnc_bench_volume_{size}",
            size,
            args.per_size,
        )
        for size in sizes
    }
    for rpc in ("check", "scrub", "export", "import"):
        values = [costs[size][rpc] for size in sizes]
        # /proc counts CPU in clock ticks (10 ms): tiny runs may show none.
        spread = f"{max(values) / min(values):.2f}x" if min(values) > 0 else "n/a"
        row(rows, f"{rpc}: service CPU per item at " + ", ".join(f"{s:,}" for s in sizes),
            " / ".join(f"{value:.1f} us" for value in values)
            + f" (max/min {spread}, goal <= 1.5x)")  # fmt: skip
    return rows


def main() -> int:
    args = parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        uri = database_uri(stack)
        seed(uri, EXPORT_DB, args.export_entries)
        seed(uri, SCRUB_DB, args.list_entries)
        with MongoClient[dict[str, Any]](uri) as client:
            client[IMPORT_DB].users.replace_one({"_id": USER}, {"orgId": ORG}, upsert=True)
        rows = asyncio.run(measure(args, uri))
    write(args, rows)
    return 0


def write(args: argparse.Namespace, rows: Rows) -> None:
    """Replace the volume section of the benchmarks page (the last one), or add it."""
    command = report.command_line("make bench-volume", "bench.volume")
    section = "\n".join(
        [
            MARKER,
            "## Volume: scrub, import, export",
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores, shared "
            "(FerretDB unless MONGODB_URI is set). Ratios are measured in the same run; CPU is "
            "the service process's user + system time from /proc over the items it handled.",
            "",
            "| measurement | result |",
            "|---|---|",
            *[f"| {name} | {value} |" for name, value in rows],
            "",
            "How to read it. The floors are pymongo sending the service's own queries from one "
            "process: the service can only approach them. Export and scrub interleave rounds of "
            "service and floor (the machine is shared and its load drifts). One gRPC message per "
            "entry costs grpc.aio more than the database costs per entry, hence "
            "ExportDncBatches (500 entries a message, gRPC only); ExportDnc also fetches the "
            "next cursor batch while it sends the previous one. An import writes every entry "
            "and its audit record (two inserts per row where the floor has one), so on a "
            "database that writes one collection at a time (FerretDB's SQLite) it cannot pass "
            "about 0.5x of an insert-only floor; and before it writes, each message looks up "
            "which numbers are listed (the contract's already-listed check, which must see rows "
            "the unique index cannot), a scan of the whole list on FerretDB: an import into a "
            "growing list is quadratic there, index-backed on MongoDB. "
            "Our layers' CPU per item should not grow with "
            "the list: they never touch rows they do not answer. The database's cost does: "
            "FerretDB v1 filters and sorts in memory, so each check or scrub lookup scans the "
            "organization's whole list (its time grows linearly with the list) and an export "
            "sorts it; MongoDB answers the `$in` lookups from the unique index {orgId, "
            "phoneE164} (k point lookups, O(k log n)), walks the listing index {orgId, "
            "createdAt, _id} for the export (constant per entry) and updates three indexes per "
            "inserted row (O(log n)).",
            "",
        ]
    )
    report.write_section(args.out, section)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
