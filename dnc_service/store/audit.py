"""The audit trail: exactly one document per change, whatever stops the service half-way.

There are no multi-document transactions (FerretDB has none), so each step is made idempotent
and the unique `_id` index is the arbiter. An audit document's `_id` is DETERMINISTIC: an
ObjectId whose 4 time bytes are the entry id's and whose 8 other bytes are a hash of the entry
id and the kind of change, "add" or "end" (a remove and an expiry both end an entry, and an
entry ends once, so they share one id: a remove racing the expiry sweep cannot record both).
Writing a record twice is then a duplicate-key error, i.e. a no-op, with no new index and no
rewrite of old data (records written before keep their random ObjectIds).

- An add inserts the entry carrying `auditPending` (ENTRY_MARKER) in the same document, then
  its record. A marked entry is an add whose record may be missing: the audit sweep
  (store/audit_recovery.py) writes the record from the entry itself (a no-op when it exists)
  and unsets the markers in bulk.
- A remove or an expiry inserts its record first with `pending: true`: that insert decides
  which of concurrent removers wins; then the entry is deleted. A pending record is a removal
  the sweep rolls forward (the delete, a no-op when done), then unsets `pending` in bulk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .client import Document, driver_errors
from .schema import ADDED_BY, CREATED_AT, ID, ORG_ID, PHONE_E164, REASON, SOURCE

Action = Literal["add", "remove", "expire"]
# The marker an added entry carries until its record is written: {at, requestId, actor}.
ENTRY_MARKER = "auditPending"
MARKER_AT = f"{ENTRY_MARKER}.at"
# The flag of a remove or expiry record whose entry may not be deleted yet.
PENDING = "pending"
ACTION, ENTRY_ID, ACTOR, REQUEST_ID, AT = "action", "entryId", "actor", "requestId", "at"
# The actor of changes nobody asked for (expiry).
SYSTEM_ACTOR = "system"
_DUPLICATE_KEY = 11000


def record_id(entry_id: ObjectId, action: Action) -> ObjectId:
    """The one `_id` the record of this change can have (see the module docstring)."""
    kind = b"add" if action == "add" else b"end"
    digest = hashlib.sha256(entry_id.binary + b"/" + kind).digest()
    return ObjectId(entry_id.binary[:4] + digest[:8])


def marker(at: datetime, actor: str, request_id: str | None) -> Document:
    """What an entry carries until its add record is written."""
    return {AT: at, REQUEST_ID: request_id, ACTOR: actor}


def add_record(entry: Document) -> Document:
    """The add record of a stored entry, from the entry alone (so recovery can write it)."""
    pending = entry.get(ENTRY_MARKER) or {}
    actor = pending.get(ACTOR) or entry.get(ADDED_BY) or ""
    record = _record(entry, "add", str(actor), pending.get(REQUEST_ID), entry.get(CREATED_AT))
    for key in (SOURCE, REASON):
        if entry.get(key) is not None:
            record[key] = entry[key]
    return record


def end_record(
    entry: Document, action: Action, actor: str, request_id: str | None, at: datetime
) -> Document:
    """The pending record of an entry's removal or expiry."""
    return {**_record(entry, action, actor, request_id, at), PENDING: True}


def _record(
    entry: Document, action: Action, actor: str, request_id: str | None, at: object
) -> Document:
    return {
        ID: record_id(entry[ID], action),
        ORG_ID: entry[ORG_ID],
        ACTION: action,
        ENTRY_ID: entry[ID],
        PHONE_E164: entry.get(PHONE_E164),
        ACTOR: actor,
        REQUEST_ID: request_id,
        AT: at,
    }


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
                errors: list[dict[str, Any]] = error.details.get("writeErrors", [])
                if any(each.get("code") != _DUPLICATE_KEY for each in errors):
                    raise
                there = {each["index"] for each in errors}
                return [record for index, record in enumerate(records) if index not in there]
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
