"""The stored schema of an entry, defined once: field names, the projection, a new entry's
document, and a stored document as a DncEntry message (tolerant of the messy rows other
systems write). Every other store module names fields through the constants here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId
from google.protobuf.timestamp_pb2 import Timestamp

from dnc.v1 import dnc_pb2

from .client import Document

ID = "_id"
ORG_ID = "orgId"
PHONE_NUMBER = "phoneNumber"
# The normalized number: written on every add, backfilled on old rows by `migrate`.
PHONE_E164 = "phoneE164"
TYPE = "type"
BATCH_ID = "batchId"
REQUEST_UUID = "requestUUID"
CALL_RECORDING = "callRecording"
TRANSCRIPTION = "transcription"
CREATED_AT = "createdAt"
# The compliance record (written by the service on new entries, absent on other systems' rows).
SOURCE = "source"
REASON = "reason"
REQUESTED_AT = "requestedAt"
EXPIRES_AT = "expiresAt"
ADDED_BY = "addedBy"
# Set by the number lookup (store/lookup.py) on a row lacking phoneE164 that it cannot give one:
# the E.164 number another row of its organization already holds, or UNPARSEABLE.
PHONE_E164_CONFLICT = "phoneE164Conflict"
UNPARSEABLE = "unparseable"

# Only what the contract shows is read from the database.
PROJECTION = dict.fromkeys(
    (
        PHONE_NUMBER, TYPE, ORG_ID, BATCH_ID, REQUEST_UUID, CALL_RECORDING, TRANSCRIPTION,
        CREATED_AT, SOURCE, REASON, REQUESTED_AT, EXPIRES_AT, ADDED_BY,
    ),
    1,
)  # fmt: skip
# Stored text field -> DncEntry field.
_OPTIONAL_TEXT = {
    TYPE: "type",
    REQUEST_UUID: "request_uuid",
    CALL_RECORDING: "call_recording",
    TRANSCRIPTION: "transcription",
    SOURCE: "source",
    REASON: "reason",
    ADDED_BY: "added_by",
}
# Stored Date field -> DncEntry Timestamp field.
_OPTIONAL_TIMES = {CREATED_AT: "created_at", REQUESTED_AT: "requested_at", EXPIRES_AT: "expires_at"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """The fields of an entry to insert, already in their stored forms (E.164, lowercase ids)."""

    phone_e164: str
    batch_id: str | None = None
    request_uuid: str | None = None
    type: str | None = None
    source: str | None = None
    reason: str | None = None
    requested_at: datetime | None = None
    expires_at: datetime | None = None


def new_document(org_id: str, entry: NewEntry, created_at: datetime, added_by: str) -> Document:
    """The stored form of a new entry: the original API's fields, phoneE164 and the compliance
    record (requestedAt defaults to createdAt: the consumer asked no later than the add)."""
    document: Document = {
        ID: ObjectId(),
        PHONE_NUMBER: entry.phone_e164[1:],  # the original API's digits, without the "+"
        PHONE_E164: entry.phone_e164,
        ORG_ID: ObjectId(org_id),
    }
    if entry.type is not None:
        document[TYPE] = entry.type
    if entry.batch_id is not None:
        document[BATCH_ID] = ObjectId(entry.batch_id)
    if entry.request_uuid is not None:
        document[REQUEST_UUID] = entry.request_uuid
    document[CREATED_AT] = created_at
    for key, value in (
        (SOURCE, entry.source),
        (REASON, entry.reason),
        (REQUESTED_AT, entry.requested_at or created_at),
        (EXPIRES_AT, entry.expires_at),
        (ADDED_BY, added_by),
    ):
        if value is not None:
            document[key] = value
    return document


def to_entry(document: Document) -> dnc_pb2.DncEntry:
    """Render one document; a field that is absent or unusable is left unset.

    The fields are gathered first and set by one constructor call: a page renders many rows.
    """
    fields: dict[str, Any] = {
        "id": _id_text(document.get(ID)),
        "org_id": _id_text(document[ORG_ID]),
    }
    phone = phone_text(document.get(PHONE_NUMBER))
    if phone is not None:
        fields["phone_number"] = phone
    batch_id = document.get(BATCH_ID)
    if batch_id is not None:
        fields["batch_id"] = _id_text(batch_id)
    for key, field in _OPTIONAL_TEXT.items():
        text = _scalar_text(document.get(key))
        if text is not None:
            fields[field] = text
    for key, field in _OPTIONAL_TIMES.items():
        moment = _aware(document.get(key))
        if moment is not None:
            fields[field] = _timestamp(moment)
    return dnc_pb2.DncEntry(**fields)


def phone_text(value: object) -> str | None:
    """Digits as a string, whether stored as a string, an int64, a double or a decimal."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return None


def _id_text(value: object) -> str:
    return _scalar_text(value) or ""


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | ObjectId) and not isinstance(value, bool):
        return str(value)
    return None


def _aware(value: object) -> datetime | None:
    """A stored Date (aware, from the tz_aware client), or an ISO string from a careless writer;
    a naive one is taken as UTC. (The instant is what counts: _timestamp needs no conversion.)"""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _timestamp(moment: datetime) -> Timestamp:
    """Timestamp.FromDatetime's result, computed directly (a third of its cost)."""
    delta = moment - _EPOCH
    return Timestamp(seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000)


def stored_timestamp(value: object) -> Timestamp | None:
    """A stored time (as `to_entry` reads createdAt) as a Timestamp, or None when unusable;
    for the other collections' documents (store/history.py)."""
    moment = _aware(value)
    return None if moment is None else _timestamp(moment)
