"""The audit records' layout: deterministic ids, the add and end records, the entry's marker.

Pure functions of the entry (no database), so recovery can rebuild any record from the entry
alone and a record written twice is the same document; store/audit.py says how they are used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId

from .client import Document
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
DUPLICATE_KEY = 11000


def record_id(entry_id: ObjectId, action: Action) -> ObjectId:
    """The one `_id` the record of this change can have: the entry id's 4 time bytes, then 8
    bytes of a hash of the entry id and the kind of change ("add", or "end" for a remove and an
    expiry alike: an entry ends once)."""
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


def newly_written(
    records: Sequence[Document], write_errors: Sequence[dict[str, Any]]
) -> list[Document] | None:
    """The records an unordered insert wrote, given its write errors: one refused as a
    duplicate `_id` was already there (the same record). None when an error is anything else."""
    if any(error.get("code") != DUPLICATE_KEY for error in write_errors):
        return None
    there = {error["index"] for error in write_errors}
    return [record for index, record in enumerate(records) if index not in there]
