"""The crash-safe audit's cost, as ratios within one run (part of `make bench-management`).

The store work of AddDnc and BatchAddDnc with the crash-safe audit (dnc_service/store/writes.py:
the entry with its marker, then the record with its deterministic id; the markers are cleared
by the audit sweep in bulk) against the two-step write it replaced (TwoStepWrites, kept only
here: the entry, then a record with a random id). Both make the same number lookup first
(store/lookup.py: heal, listed), so only the audit's cost differs. Both run in-process on the
same database, in interleaved rounds, one at a time and eight at once; the sweep is timed after
each round's crash-safe writes, and the last row charges it to them. The gRPC layers on top
(token, user lookup) are the same for both and left out: the ratio here is the stricter one.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any, Protocol

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from bench.__main__ import database_uri
from dnc_service.clock import system_clock
from dnc_service.store import AuditLog, AuditRecovery, Author, EntryWrites, NewEntry, lookup
from dnc_service.store.client import Document
from dnc_service.store.indexes import ensure_indexes
from dnc_service.store.schema import ID, ORG_ID, PHONE_E164, new_document

ORG = ObjectId("be0c0a000000000000000a0d")
AUTHOR = Author("be0c0a000000000011111111", "bench")
CONCURRENCY = 8


class Writes(Protocol):
    async def add(self, org_id: str, entry: NewEntry, author: Author) -> Any: ...

    async def add_many(
        self, org_id: str, entries: Sequence[NewEntry], author: Author
    ) -> dict[str, Any]: ...


class TwoStepWrites:
    """The write before the crash-safe audit: the change, then its record as a second step."""

    def __init__(self, entries: AsyncCollection[Document], audit: AsyncCollection[Document]):
        self._entries, self._audit = entries, audit

    async def add(self, org_id: str, entry: NewEntry, author: Author) -> Document:
        document = new_document(org_id, entry, system_clock(), author.actor)
        await lookup.heal(self._entries, org_id, [entry.phone_e164])  # as the store's add does
        await self._entries.insert_one(document)
        await self._audit.insert_one(_record(document, author))
        return document

    async def add_many(
        self, org_id: str, entries: Sequence[NewEntry], author: Author
    ) -> dict[str, Any]:
        numbers = [entry.phone_e164 for entry in entries]
        now = system_clock()
        # The number lookup the store's add_many makes (store/lookup.py), so that only the
        # audit's cost differs between the two.
        listed = await lookup.listed(self._entries, org_id, numbers, now, {ID: 1})
        new = [
            new_document(org_id, e, now, author.actor)
            for e in entries
            if e.phone_e164 not in listed
        ]
        if new:
            await self._entries.insert_many(new, ordered=False)
            await self._audit.insert_many([_record(d, author) for d in new], ordered=False)
        return {**listed, **{d[PHONE_E164]: d for d in new}}


def _record(document: Document, author: Author) -> Document:
    return {
        ORG_ID: document[ORG_ID],
        "action": "add",
        "entryId": document[ID],
        PHONE_E164: document[PHONE_E164],
        "actor": author.actor,
        "requestId": author.request_id,
        "at": document["createdAt"],
    }


async def compare(
    uri: str, database: str, singles: int, batch: int, rounds: int
) -> list[tuple[str, str]]:
    """Rows for the report: each measurement's rate for both writes, and the ratio."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
    try:
        db = client[database]
        for name in ("dnc_entries", "dnc_audit"):
            await db[name].drop()
        await ensure_indexes(db.dnc_entries, db.dnc_audit)
        log = AuditLog(db.dnc_audit)
        safe = EntryWrites(db.dnc_entries, log)
        sweep = AuditRecovery(db.dnc_entries, log, safe)
        targets: dict[str, Writes] = {
            "two-step": TwoStepWrites(db.dnc_entries, db.dnc_audit),
            "crash-safe": safe,
        }
        numbers = (f"+1917{n:07d}" for n in itertools.count())
        seconds: dict[tuple[str, str], float] = collections.defaultdict(float)
        for round_ in range(rounds):
            order = list(targets.items())
            for name, writes in order if round_ % 2 == 0 else order[::-1]:
                for kind, work in _workloads(writes, numbers, singles, batch).items():
                    seconds[kind, name] += await _timed(work)
                if writes is safe:
                    seconds[SWEEP, name] += await _timed(lambda: sweep.run(0.0))
    finally:
        await client.close()
    return _rows(seconds, singles, batch, rounds)


SWEEP = "the sweep clearing the markers"


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def _rows(
    seconds: dict[tuple[str, str], float], singles: int, batch: int, rounds: int
) -> list[tuple[str, str]]:
    counts = {"AddDnc, one at a time": singles, "AddDnc, 8 at once": singles,
              f"BatchAddDnc of {batch}": batch}  # fmt: skip
    rows = []
    for kind, count in counts.items():
        old, new = (count * rounds / seconds[kind, name] for name in ("two-step", "crash-safe"))
        rows.append(
            (f"{kind}, store work: crash-safe audit / two-step write (entries/s)",
             f"{new:,.0f} / {old:,.0f} = {new / old:.2f}x")
        )  # fmt: skip
    entries = (2 * singles + batch) * rounds
    old, new = (
        sum(seconds[kind, name] for kind in (*counts, SWEEP)) for name in ("two-step", "crash-safe")
    )
    rows.append(
        (f"all of the above, {SWEEP} charged to the crash-safe writes",
         f"{seconds[SWEEP, 'crash-safe'] * 1000 / entries:.2f} ms/entry of sweep; "
         f"{old / new:.2f}x the two-step throughput")
    )  # fmt: skip
    return rows


def _workloads(
    writes: Writes, numbers: Iterator[str], singles: int, batch: int
) -> dict[str, Callable[[], Awaitable[object]]]:
    org = str(ORG)

    async def one_at_a_time() -> None:
        for _ in range(singles):
            await writes.add(org, NewEntry(next(numbers)), AUTHOR)

    async def concurrent() -> None:
        async def worker(count: int) -> None:
            for _ in range(count):
                await writes.add(org, NewEntry(next(numbers)), AUTHOR)

        await asyncio.gather(*(worker(singles // CONCURRENCY) for _ in range(CONCURRENCY)),
                             worker(singles % CONCURRENCY))  # fmt: skip

    async def batched() -> None:
        await writes.add_many(org, [NewEntry(next(numbers)) for _ in range(batch)], AUTHOR)

    return {
        "AddDnc, one at a time": one_at_a_time,
        "AddDnc, 8 at once": concurrent,
        f"BatchAddDnc of {batch}": batched,
    }


def main() -> int:
    """`python -m bench.audit`: the comparison alone (make bench-management runs it too), on
    MONGODB_URI, else on a FerretDB of its own under DNC_BENCH_WORK."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=150)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with ExitStack() as stack:
        uri = database_uri(stack, "audit-db")
        rows = asyncio.run(compare(uri, "dnc_bench_audit", args.singles, args.batch, args.rounds))
    for measurement, result in rows:
        print(f"| {measurement} | {result} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
