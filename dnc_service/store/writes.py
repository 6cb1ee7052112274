"""Changes to an organization's list, each with exactly one audit record: add one, add many,
remove one, expire; each scoped to the org.

"At most one unexpired entry per organization and number" is the unique index's job
(store/indexes.py): an insert that would repeat a number fails with a duplicate-key error
whoever raced it, so there is no read-then-write window. When the row in the way has expired,
it is expired (recorded and deleted) and the insert tried once more, so the number can be
added again as a new entry. A batch is two round trips whatever its size: one find of the
numbers already listed, one unordered insert_many of the rest, whose duplicate-key errors (a
concurrent writer won) are looked up once more; then one insert_many of the add records.

How each change and its record survive a crash between them is store/audit.py's docstring.
The markers it leaves (an entry's `auditPending`, a record's `pending`) are cleared by the
audit sweep in bulk, not here: the hot path stays the change and its record, two round trips,
as before (an update per write would be a third; on FerretDB, a full scan each).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from dnc.v1 import dnc_pb2

from ..clock import Clock, system_clock
from ..errors import AlreadyExists
from ..phones import normalize_stored
from . import lookup
from .audit import AuditLog
from .audit_records import (
    ENTRY_MARKER,
    SYSTEM_ACTOR,
    Action,
    add_record,
    end_record,
    marker,
)
from .client import Document, driver_errors
from .schema import (
    ADDED_BY,
    CREATED_AT,
    EXPIRES_AT,
    ID,
    ORG_ID,
    PHONE_E164,
    PHONE_NUMBER,
    REASON,
    SOURCE,
    NewEntry,
    new_document,
    phone_text,
    to_entry,
)

_DUPLICATE_KEY = 11000
# What a change's record is built from: enough of the row, never the whole of it.
RECORD_FIELDS = dict.fromkeys(
    (ORG_ID, PHONE_E164, PHONE_NUMBER, CREATED_AT, ADDED_BY, SOURCE, REASON, EXPIRES_AT,
     ENTRY_MARKER),
    1,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Listed:
    """Where a number of a batch stands: its entry, and whether this call added it."""

    entry_id: str
    added: bool


@dataclass(frozen=True, slots=True)
class Removed:
    """The entry a remove deleted, and its number (None for an unparseable legacy row)."""

    entry_id: str
    phone_e164: str | None


@dataclass(frozen=True, slots=True)
class Author:
    """Who makes a change: the token's subject and the call's request id."""

    actor: str
    request_id: str | None


def expired(document: Document, now: datetime) -> bool:
    """Whether a stored row's `expiresAt` has passed (a row without one never expires)."""
    expires_at = document.get(EXPIRES_AT)
    return isinstance(expires_at, datetime) and expires_at <= now


class EntryWrites:
    """Inserts and deletes on the entries collection, always within one organization, each
    with its audit record."""

    def __init__(
        self,
        entries: AsyncCollection[Document],
        audit: AuditLog,
        clock: Clock = system_clock,
    ) -> None:
        self._entries = entries
        self._audit = audit
        self._clock = clock

    async def add(self, org_id: str, entry: NewEntry, author: Author) -> dnc_pb2.DncEntry:
        """Insert one entry and return it as the listing shows it; AlreadyExists if listed.

        Rows of other systems lacking phoneE164 get it first (lookup.heal), so that the unique
        index sees them."""
        document = self._new_document(org_id, entry, author, self._clock())
        with driver_errors():
            await lookup.heal(self._entries, org_id, [entry.phone_e164])
            if not await self._insert_one(document):
                raise await self._already_listed(org_id, entry.phone_e164)
            await self._audit.write([add_record(document)])
        return to_entry(document)

    async def add_many(
        self, org_id: str, entries: Sequence[NewEntry], author: Author
    ) -> dict[str, Listed]:
        """List distinct numbers; for each E.164 number, its entry and whether it is new."""
        numbers = [entry.phone_e164 for entry in entries]
        with driver_errors():
            now = self._clock()
            # Expired rows are not listed here; their numbers' inserts meet them in the unique
            # index, and _insert_racing expires them and inserts once more.
            listed = await lookup.listed(self._entries, org_id, numbers, now, {ID: 1})
            documents = [
                self._new_document(org_id, entry, author, now)
                for entry in entries
                if entry.phone_e164 not in listed
            ]
            added = await self._insert_racing(org_id, documents, listed)
            await self._audit.write([add_record(each) for each in added])
        result = {number: Listed(str(row[ID]), added=False) for number, row in listed.items()}
        result.update({each[PHONE_E164]: Listed(str(each[ID]), added=True) for each in added})
        return result

    async def listed(self, org_id: str, numbers: Sequence[str]) -> dict[str, str]:
        """The entry id listing each of `numbers` that is listed, as add_many would find them,
        writing nothing (an import's dry run)."""
        if not numbers:
            return {}
        with driver_errors():
            rows = await lookup.listed(self._entries, org_id, numbers, self._clock(), {ID: 1})
        return {number: str(row[ID]) for number, row in rows.items()}

    async def _insert_racing(
        self, org_id: str, documents: list[Document], listed: dict[str, Document]
    ) -> list[Document]:
        """Insert `documents`; the ones inserted. A number a concurrent writer listed first goes
        into `listed`, unless its row has expired since: then it is inserted once more."""
        raced = set(await self._insert_new(documents))
        if not raced:
            return documents
        listed.update(await self._unexpired(org_id, raced))
        freed = raced - listed.keys()
        lost = set(await self._insert_new([e for e in documents if e[PHONE_E164] in freed]))
        listed.update(await self._find_listed(org_id, lost))
        inserted = {e[PHONE_E164] for e in documents} - raced | (freed - lost)
        return [each for each in documents if each[PHONE_E164] in inserted]

    async def remove(self, org_id: str, entry_id: str, author: Author) -> Removed | None:
        """Delete entry `entry_id` if the organization owns it; None when it does not (or when
        a concurrent remove or the expiry got there first)."""
        with driver_errors():
            document = await self._entries.find_one(
                {ID: ObjectId(entry_id), ORG_ID: ObjectId(org_id)}, RECORD_FIELDS
            )
        if document is None:
            return None
        number = _e164(document)
        document[PHONE_E164] = number
        won = await self.end(document, "remove", author, self._clock())
        return Removed(entry_id, number) if won else None

    async def expire(self, documents: Iterable[Document]) -> int:
        """Expire rows whose `expiresAt` has passed, at that instant; how many this call did."""
        done = 0
        for document in documents:
            document[PHONE_E164] = _e164(document)
            done += await self.end(document, "expire", Author(SYSTEM_ACTOR, None),
                                   document[EXPIRES_AT])  # fmt: skip
        return done

    async def expire_due(self, limit: int) -> int:
        """Expire up to `limit` rows of any organization whose time has come (the sweep)."""
        with driver_errors():
            due = self._entries.find({EXPIRES_AT: {"$lte": self._clock()}}, RECORD_FIELDS)
            documents = [document async for document in due.limit(limit)]
        return await self.expire(documents)

    async def end(self, document: Document, action: Action, author: Author, at: datetime) -> bool:
        """Record, then delete: the pending record's insert decides who ends the entry (False:
        another remove or the expiry did; its delete is finished here all the same)."""
        record = end_record(document, action, author.actor, author.request_id, at)
        with driver_errors():
            if document.get(ENTRY_MARKER):  # its add record may be missing: write it first
                await self._audit.write([add_record(document)])
            won = await self._audit.claim(record)
            # By `_id` alone: the row's organization was checked when it was read, and FerretDB
            # finds `_id` through its primary key but scans the collection for anything more.
            await self._entries.delete_one({ID: document[ID]})
            if won:  # settled at once: recovery is left only what a crash or a cut interrupts
                await self._audit.settle(record[ID])
        return won

    def _new_document(
        self, org_id: str, entry: NewEntry, author: Author, now: datetime
    ) -> Document:
        document = new_document(org_id, entry, now, author.actor)
        document[ENTRY_MARKER] = marker(now, author.actor, author.request_id)
        return document

    async def _insert_one(self, document: Document) -> bool:
        """Insert; when an expired row holds the number, expire it and insert once more.
        False when the number is listed (by an unexpired row)."""
        for _ in range(2):
            try:
                await self._entries.insert_one(document)
            except DuplicateKeyError:
                in_the_way = await self._find_listed(document[ORG_ID], [document[PHONE_E164]])
                now = self._clock()
                if any(not expired(row, now) for row in in_the_way.values()):
                    return False
                # Expired (by this call or a concurrent one), or gone meanwhile: once more.
                await self.expire(in_the_way.values())
            else:
                return True
        return False

    async def _already_listed(self, org_id: str, number: str) -> AlreadyExists:
        existing = await self._find_listed(org_id, [number])
        suffix = f" (entry {existing[number][ID]})" if number in existing else ""
        return AlreadyExists(f"{number} is already on the list{suffix}")

    async def _unexpired(self, org_id: str, numbers: Iterable[str]) -> dict[str, Document]:
        """The rows listing `numbers`, after expiring those whose time has passed."""
        rows = await self._find_listed(org_id, numbers)
        now = self._clock()
        ended = [row for row in rows.values() if expired(row, now)]
        await self.expire(ended)
        return {number: row for number, row in rows.items() if not expired(row, now)}

    async def _find_listed(
        self, org_id: str | ObjectId, numbers: Iterable[str]
    ) -> dict[str, Document]:
        """The row listing each of `numbers` that is listed (one indexed query)."""
        wanted = list(dict.fromkeys(numbers))
        if not wanted:
            return {}
        found = self._entries.find(
            {ORG_ID: ObjectId(org_id), PHONE_E164: {"$in": wanted}}, RECORD_FIELDS
        )
        return {document[PHONE_E164]: document async for document in found}

    async def _insert_new(self, documents: list[Document]) -> list[str]:
        """Insert all; return the numbers a concurrent writer listed first (duplicate keys)."""
        if not documents:
            return []
        try:
            await self._entries.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            errors: list[dict[str, Any]] = error.details.get("writeErrors", [])
            if any(each.get("code") != _DUPLICATE_KEY for each in errors):
                raise
            return [documents[each["index"]][PHONE_E164] for each in errors]
        return []


def _e164(document: Document) -> str | None:
    """The row's E.164 number, normalized from a legacy phoneNumber when it has none."""
    number = document.get(PHONE_E164)
    if isinstance(number, str):
        return number
    parsed = normalize_stored(phone_text(document.get(PHONE_NUMBER)))
    return parsed.e164 if parsed else None
