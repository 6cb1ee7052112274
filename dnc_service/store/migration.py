"""`migrate`: backfill phoneE164 on rows written before the service normalized numbers.

Walks the rows lacking phoneE164 in `_id` order, a batch at a time (a keyset query per batch,
so rows it leaves alone are never read twice), and sets phoneE164 with one unordered
bulk_write per batch. It only ever adds that field: nothing is deleted or rewritten, and a
second run finds nothing left to do but the rows it could not handle.

Two rows of one organization with the same number would break the unique index: the row
already holding the number (or the first one met, by `_id`) gets it, the other is reported as
a collision and left without phoneE164, for a person to decide which one to remove.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure

from ..phones import normalize_stored
from .client import Document, driver_errors
from .schema import ID, ORG_ID, PHONE_E164, PHONE_E164_CONFLICT, PHONE_NUMBER, phone_text

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class Unparseable:
    """A row whose phoneNumber is no possible number (or missing): left as it is."""

    entry_id: str
    org_id: str
    value_type: str


@dataclass(frozen=True, slots=True)
class Collision:
    """A row whose number another row of its organization already has: left without it."""

    entry_id: str
    org_id: str
    phone_e164: str
    other_entry_id: str


@dataclass
class MigrationReport:
    """What one run did: rows updated per organization, rows it could not parse or place."""

    updated: Counter[str] = field(default_factory=Counter)
    unparseable: list[Unparseable] = field(default_factory=list)
    collisions: list[Collision] = field(default_factory=list)


async def backfill_phone_e164(
    entries: AsyncCollection[Document], batch_size: int = BATCH_SIZE
) -> MigrationReport:
    """Set phoneE164 on every row that lacks it and has a parseable, unique number."""
    report = MigrationReport()
    after: ObjectId | None = None
    with driver_errors():
        while True:
            where: dict[str, Any] = {PHONE_E164: {"$exists": False}}
            if after is not None:
                where[ID] = {"$gt": after}
            batch = await entries.find(
                where, {ORG_ID: 1, PHONE_NUMBER: 1}, sort=[(ID, 1)], limit=batch_size
            ).to_list()
            if not batch:
                return report
            after = batch[-1][ID]
            await _migrate_batch(entries, batch, report)


async def _migrate_batch(
    entries: AsyncCollection[Document], batch: list[Document], report: MigrationReport
) -> None:
    parsed: list[tuple[Document, str]] = []
    for document in batch:
        phone = normalize_stored(phone_text(document.get(PHONE_NUMBER)))
        if phone is None or ORG_ID not in document:
            kind = type(document.get(PHONE_NUMBER)).__name__ if phone is None else "no orgId"
            report.unparseable.append(
                Unparseable(str(document[ID]), str(document.get(ORG_ID)), kind)
            )
        else:
            parsed.append((document, phone.e164))
    holders = await _holders(entries, parsed)
    updates: list[tuple[Document, str]] = []
    for document, number in parsed:
        key = (document[ORG_ID], number)
        if key in holders:
            report.collisions.append(_collision(document, number, holders[key]))
        else:
            holders[key] = document[ID]
            updates.append((document, number))
    await _write(entries, updates, report)


async def _holders(
    entries: AsyncCollection[Document], parsed: list[tuple[Document, str]]
) -> dict[tuple[Any, str], Any]:
    """The rows that already hold each (organization, number) of the batch: one query."""
    numbers_by_org: dict[Any, set[str]] = {}
    for document, number in parsed:
        numbers_by_org.setdefault(document[ORG_ID], set()).add(number)
    if not numbers_by_org:
        return {}
    found = entries.find(
        {"$or": [
            {ORG_ID: org, PHONE_E164: {"$in": sorted(numbers)}}
            for org, numbers in numbers_by_org.items()
        ]},
        {ORG_ID: 1, PHONE_E164: 1},
    )  # fmt: skip
    return {(doc[ORG_ID], doc[PHONE_E164]): doc[ID] async for doc in found}


async def _write(
    entries: AsyncCollection[Document], updates: list[tuple[Document, str]], report: MigrationReport
) -> None:
    """One bulk write; a row a concurrent add made a duplicate meanwhile becomes a collision."""
    if not updates:
        return
    operations = [
        UpdateOne(
            {ID: document[ID], PHONE_E164: {"$exists": False}},
            # The lookup's conflict mark (store/lookup.py), if any, goes with its number.
            {"$set": {PHONE_E164: number}, "$unset": {PHONE_E164_CONFLICT: ""}},
        )
        for document, number in updates
    ]
    try:
        await entries.bulk_write(operations, ordered=False)
        failed: set[int] = set()
    except BulkWriteError as error:
        failed = {each["index"] for each in error.details.get("writeErrors", [])}
    except OperationFailure:
        # FerretDB answers a unique-index conflict in a batch with a failure of the whole
        # command: retry row by row to learn which ones collide.
        failed = await _write_one_by_one(entries, operations)
    for index, (document, number) in enumerate(updates):
        if index not in failed:
            report.updated[str(document[ORG_ID])] += 1
            continue
        holder = await entries.find_one({ORG_ID: document[ORG_ID], PHONE_E164: number}, {ID: 1})
        report.collisions.append(_collision(document, number, holder and holder[ID]))


async def _write_one_by_one(
    entries: AsyncCollection[Document], operations: list[UpdateOne]
) -> set[int]:
    failed: set[int] = set()
    for index, operation in enumerate(operations):
        try:
            await entries.bulk_write([operation])
        except (BulkWriteError, OperationFailure):
            failed.add(index)
    return failed


def _collision(document: Document, number: str, other: object) -> Collision:
    return Collision(str(document[ID]), str(document[ORG_ID]), number, str(other or "unknown"))
