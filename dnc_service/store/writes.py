"""Changes to an organization's list: add one, add many, remove one; each scoped to the org.

"At most one entry per organization and number" is the unique index's job (store/indexes.py):
an insert that would repeat a number fails with a duplicate-key error whoever raced it, so
there is no read-then-write window. A batch is two round trips whatever its size: one find of
the numbers already listed, one unordered insert_many of the rest, whose duplicate-key errors
(a concurrent writer won) are looked up once more. Upserts were the alternative; they would
cost one write per item and report less (MongoDB may retry or fail a racing upsert).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from dnc.v1 import dnc_pb2

from ..clock import Clock, system_clock
from ..errors import AlreadyExists
from ..phones import normalize_stored
from .client import Document, driver_errors
from .schema import (
    ID,
    ORG_ID,
    PHONE_E164,
    PHONE_NUMBER,
    NewEntry,
    new_document,
    phone_text,
    to_entry,
)

_DUPLICATE_KEY = 11000


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


class EntryWrites:
    """Inserts and deletes on the entries collection, always within one organization."""

    def __init__(self, entries: AsyncCollection[Document], clock: Clock = system_clock) -> None:
        self._entries = entries
        self._clock = clock

    async def add(self, org_id: str, entry: NewEntry) -> dnc_pb2.DncEntry:
        """Insert one entry and return it as the listing shows it; AlreadyExists if listed."""
        document = new_document(org_id, entry, self._clock())
        with driver_errors():
            try:
                await self._entries.insert_one(document)
            except DuplicateKeyError:
                number = entry.phone_e164
                existing = await self._find_listed(org_id, [number])
                raise AlreadyExists(
                    f"{number} is already on the list"
                    + (f" (entry {existing[number]})" if existing else "")
                ) from None
        return to_entry(document)

    async def add_many(self, org_id: str, entries: Sequence[NewEntry]) -> dict[str, Listed]:
        """List distinct numbers; for each E.164 number, its entry and whether it is new."""
        numbers = [entry.phone_e164 for entry in entries]
        with driver_errors():
            listed = {
                number: Listed(entry_id, added=False)
                for number, entry_id in (await self._find_listed(org_id, numbers)).items()
            }
            now = self._clock()
            documents = [
                new_document(org_id, entry, now)
                for entry in entries
                if entry.phone_e164 not in listed
            ]
            raced = await self._insert_new(documents)
            for document in documents:
                if document[PHONE_E164] not in raced:
                    listed[document[PHONE_E164]] = Listed(str(document[ID]), added=True)
            if raced:
                for number, entry_id in (await self._find_listed(org_id, raced)).items():
                    listed[number] = Listed(entry_id, added=False)
        return listed

    async def remove(self, org_id: str, entry_id: str) -> Removed | None:
        """Delete entry `entry_id` if the organization owns it; None when it does not."""
        with driver_errors():
            # FerretDB's findAndModify takes no projection: the whole (small) row comes back.
            document = await self._entries.find_one_and_delete(
                {ID: ObjectId(entry_id), ORG_ID: ObjectId(org_id)}
            )
        if document is None:
            return None
        number = document.get(PHONE_E164)
        if not isinstance(number, str):
            parsed = normalize_stored(phone_text(document.get(PHONE_NUMBER)))
            number = parsed.e164 if parsed else None
        return Removed(entry_id, number)

    async def _find_listed(self, org_id: str, numbers: Sequence[str]) -> dict[str, str]:
        """The entry id listing each of `numbers` that is listed (one indexed query)."""
        found = self._entries.find(
            {ORG_ID: ObjectId(org_id), PHONE_E164: {"$in": list(dict.fromkeys(numbers))}},
            {PHONE_E164: 1},
        )
        return {document[PHONE_E164]: str(document[ID]) async for document in found}

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

    async def listed(self, org_id: str, numbers: Sequence[str]) -> dict[str, str]:
        """What add_many would find listed, writing nothing (an import's dry run)."""
        return await self._find_listed(org_id, numbers) if numbers else {}
