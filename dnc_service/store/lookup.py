"""Finding an organization's entries by number, whatever form another system stored it in.

Every lookup by number (CheckDnc's answer, the writes' "already listed") goes through `listed`,
so a listed number is never answered "not listed". Lookups are keyed on phoneE164, which the
service writes on every add; other systems write rows without it, with phoneNumber as digits,
punctuated text, int64 or double. Looking those forms up directly ({orgId, phoneNumber}) cannot
work: `+1 (212) 555-1234` has endless spellings, and no index finds a spelling from its number.

So phoneE164 is kept filled continuously: `heal` gives the organization's rows that lack it their
number (phones.normalize_stored) before a lookup answers. In steady state there are none, and the
lookup is one query (`first_filter`): the rows listing the numbers, or any row to heal. A row
`heal` cannot give a number is marked with PHONE_E164_CONFLICT, so it is not read again on every
call: UNPARSEABLE, or the number another row of the organization already holds (the unique index
refused a second). A conflicted row is read again only by lookups of its own number: once the
holder is gone (removed), it takes the number over; while the holder has expired but still holds
the number (the unique index keeps expired rows), the conflicted row answers for the number.

The heal query `{orgId, phoneE164: null, phoneE164Conflict: {$in: [null, *numbers]}}` is served
by HEAL_INDEX (store/indexes.py): equality on each of its three fields. The unique number index
cannot serve it: on MongoDB it is partial (phoneE164 $exists) and holds no row lacking the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure

from ..phones import normalize_stored
from .client import Document
from .filters import unexpired
from .schema import (
    ID,
    ORG_ID,
    PHONE_E164,
    PHONE_E164_CONFLICT,
    PHONE_NUMBER,
    UNPARSEABLE,
    phone_text,
)

# Rows healed per round trip: bounds the memory one call holds, whatever the backlog.
HEAL_BATCH_SIZE = 500
DUPLICATE_KEY = 11000
_FERRETDB_UNIQUE = "UNIQUE constraint failed"


async def listed(
    entries: AsyncCollection[Document],
    org_id: str,
    numbers: Sequence[str],
    now: datetime,
    projection: dict[str, Any],
    max_time_ms: int | None = None,
) -> dict[str, Document]:
    """The unexpired row listing each of the E.164 `numbers` that is listed, after `heal`.

    Call inside client.driver_errors(). One query in steady state (`first_filter`): the rows
    listing the numbers, or any row `heal` would handle. Only when one of the latter shows up
    are the rows healed and the numbers looked up again (`settled_filter`).
    """
    distinct = list(dict.fromkeys(numbers))
    if not distinct:
        return {}
    fields = projection | {PHONE_E164: 1}
    # At most one row per number lists it (the unique index): one more row means a heal row.
    rows = await entries.find(
        first_filter(org_id, distinct, now), fields,
        limit=len(distinct) + 1, max_time_ms=max_time_ms,
    ).to_list()  # fmt: skip
    if any(not isinstance(row.get(PHONE_E164), str) for row in rows):
        await heal(entries, org_id, distinct, max_time_ms)
        rows = await entries.find(
            settled_filter(org_id, distinct, now), fields | {PHONE_E164_CONFLICT: 1},
            max_time_ms=max_time_ms,
        ).to_list()  # fmt: skip
    return _by_number(rows)


def _by_number(rows: list[Document]) -> dict[str, Document]:
    """Each number's row: the one holding it, else a conflicted row standing for it (its holder
    expired but still holds the number in the unique index)."""
    found: dict[str, Document] = {}
    for row in rows:
        number = row.get(PHONE_E164)
        if isinstance(number, str):
            found[number] = row
    for row in rows:
        number = row.get(PHONE_E164_CONFLICT)
        if row.get(PHONE_E164) is None and isinstance(number, str) and number != UNPARSEABLE:
            found.setdefault(number, row)
    return found


def listed_filter(org_id: str, numbers: Sequence[str], now: datetime) -> dict[str, Any]:
    """The unexpired rows listing `numbers`: equality on orgId, then $in on phoneE164 (point
    lookups in the unique number index), expiry a residual condition."""
    return {ORG_ID: ObjectId(org_id), PHONE_E164: {"$in": list(numbers)}, **unexpired(now)}


def settled_filter(org_id: str, numbers: Sequence[str], now: datetime) -> dict[str, Any]:
    """After `heal`: `listed_filter`, or the unexpired rows conflicted over `numbers`. Such a row
    lists its number too; it answers for it when its holder no longer does (expired)."""
    conflicted = {
        ORG_ID: ObjectId(org_id),
        PHONE_E164: None,
        PHONE_E164_CONFLICT: {"$in": list(numbers)},
        **unexpired(now),
    }
    return {"$or": [listed_filter(org_id, numbers, now), conflicted]}


def first_filter(org_id: str, numbers: Sequence[str], now: datetime) -> dict[str, Any]:
    """`listed_filter` or `heal_filter`, in one query. Each `$or` branch is whole, orgId first,
    so MongoDB plans each on its own index (the unique number index, the heal index)."""
    return {"$or": [listed_filter(org_id, numbers, now), heal_filter(org_id, numbers)]}


def heal_filter(org_id: str, numbers: Sequence[str]) -> dict[str, Any]:
    """The organization's rows lacking phoneE164: never seen, or conflicted over `numbers`."""
    return {
        ORG_ID: ObjectId(org_id),
        PHONE_E164: None,
        PHONE_E164_CONFLICT: {"$in": [None, *numbers]},
    }


async def heal(
    entries: AsyncCollection[Document],
    org_id: str,
    numbers: Sequence[str],
    max_time_ms: int | None = None,
) -> None:
    """Give phoneE164 to the organization's rows that lack it (see the module docstring).

    Walks by `_id`, HEAL_BATCH_SIZE rows at a time, so each row is read at most once per call.
    """
    where = heal_filter(org_id, numbers)
    after: ObjectId | None = None
    while True:
        query = where if after is None else {**where, ID: {"$gt": after}}
        batch = await entries.find(
            query, {PHONE_NUMBER: 1, PHONE_E164_CONFLICT: 1}, sort=[(ID, 1)],
            limit=HEAL_BATCH_SIZE, max_time_ms=max_time_ms,
        ).to_list()  # fmt: skip
        if not batch:
            return
        after = batch[-1][ID]
        await _heal_batch(entries, batch)
        if len(batch) < HEAL_BATCH_SIZE:
            return


async def _heal_batch(entries: AsyncCollection[Document], batch: list[Document]) -> None:
    """Set each row's number; mark those the unique index refuses, and the unparseable."""
    numbered: list[tuple[Document, str]] = []
    marks: list[tuple[Document, str]] = []
    for document in batch:
        phone = normalize_stored(phone_text(document.get(PHONE_NUMBER)))
        if phone is None:
            marks.append((document, UNPARSEABLE))
        else:
            numbered.append((document, phone.e164))
    refused = await _set_numbers(entries, numbered)
    marks += [numbered[index] for index in sorted(refused)]
    changed = [(doc, mark) for doc, mark in marks if doc.get(PHONE_E164_CONFLICT) != mark]
    if changed:
        await entries.bulk_write(
            [_still_lacking(doc, {"$set": {PHONE_E164_CONFLICT: mark}}) for doc, mark in changed],
            ordered=False,
        )


async def _set_numbers(
    entries: AsyncCollection[Document], numbered: list[tuple[Document, str]]
) -> set[int]:
    """Write phoneE164 on each row; the indexes of those another row's number refused."""
    if not numbered:
        return set()
    operations = [
        _still_lacking(doc, {"$set": {PHONE_E164: number}, "$unset": {PHONE_E164_CONFLICT: ""}})
        for doc, number in numbered
    ]
    try:
        await entries.bulk_write(operations, ordered=False)
    except BulkWriteError as error:
        errors: list[dict[str, Any]] = error.details.get("writeErrors", [])
        if any(each.get("code") != DUPLICATE_KEY for each in errors):
            raise
        return {each["index"] for each in errors}
    except OperationFailure as error:
        # FerretDB fails a whole batch over one unique-index conflict: learn which, row by row.
        if not _unique_conflict(error):
            raise
        return await _set_one_by_one(entries, operations)
    return set()


async def _set_one_by_one(
    entries: AsyncCollection[Document], operations: list[UpdateOne]
) -> set[int]:
    refused: set[int] = set()
    for index, operation in enumerate(operations):
        try:
            await entries.bulk_write([operation])
        except BulkWriteError:
            refused.add(index)
        except OperationFailure as error:
            if not _unique_conflict(error):
                raise
            refused.add(index)
    return refused


def _unique_conflict(error: OperationFailure) -> bool:
    """A duplicate key: MongoDB's code 11000, or FerretDB v1.24's answer to an update breaking a
    unique index (InternalError, SQLite's "UNIQUE constraint failed")."""
    return error.code == DUPLICATE_KEY or _FERRETDB_UNIQUE in str(
        (error.details or {}).get("errmsg")
    )


def _still_lacking(document: Document, update: dict[str, Any]) -> UpdateOne:
    """`update` on the row only while it still lacks phoneE164 (a concurrent call may heal it)."""
    return UpdateOne({ID: document[ID], PHONE_E164: None}, update)
