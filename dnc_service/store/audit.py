"""The audit trail: exactly one document per change, whatever stops the service half-way.

There are no multi-document transactions (FerretDB has none), so each step is made idempotent
and the unique `_id` index is the arbiter. An audit document's `_id` is DETERMINISTIC: an
ObjectId whose 4 time bytes are the entry id's and whose 8 other bytes are a hash of the entry
id and the kind of change, "add" or "end" (a remove and an expiry both end an entry, and an
entry ends once, so they share one id: a remove racing the expiry sweep cannot record both).
Writing a record twice is then a duplicate-key error, i.e. a no-op, with no new index and no
rewrite of old data (records written before keep their random ObjectIds). The records'
layout is store/audit_records.py.

- An add inserts the entry carrying `auditPending` (ENTRY_MARKER) in the same document, then
  its record. A marked entry is an add whose record may be missing: the audit sweep
  (store/audit_recovery.py) writes the record from the entry itself (a no-op when it exists)
  and unsets the markers in bulk.
- A remove or an expiry inserts its record first with `pending: true`: that insert decides
  which of concurrent removers wins; then the entry is deleted. A pending record is a removal
  the sweep rolls forward (the delete, a no-op when done), then unsets `pending` in bulk.
"""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .audit_records import PENDING, newly_written
from .client import Document, driver_errors
from .schema import ID


class AuditLog:
    """Writes records idempotently (read back by recovery here, and by ListDncHistory in
    store/history.py)."""

    def __init__(self, audit: AsyncCollection[Document]) -> None:
        self.collection = audit

    async def write(self, records: Sequence[Document]) -> list[Document]:
        """Insert records; one already there (same `_id`) is the same record: left as is.
        The records that were new."""
        if not records:
            return []
        with driver_errors():
            try:
                await self.collection.insert_many(records, ordered=False)
            except BulkWriteError as error:
                written = newly_written(records, error.details.get("writeErrors", []))
                if written is None:
                    raise
                return written
        return list(records)

    async def settle(self, record_id: ObjectId) -> None:
        """The end record's change is done: it is no longer pending."""
        with driver_errors():
            await self.collection.update_one({ID: record_id}, {"$unset": {PENDING: ""}})

    async def claim(self, record: Document) -> bool:
        """Insert a pending end record; False when the entry's end is already recorded."""
        with driver_errors():
            try:
                await self.collection.insert_one(record)
            except DuplicateKeyError:
                return False
        return True
