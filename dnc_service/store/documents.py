"""Stored documents to DncEntry messages, tolerant of the messy rows other systems write."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId

from dnc.v1 import dnc_pb2

# Only what the contract shows is read from the database.
PROJECTION = {
    "phoneNumber": 1,
    "type": 1,
    "orgId": 1,
    "batchId": 1,
    "requestUUID": 1,
    "callRecording": 1,
    "transcription": 1,
    "createdAt": 1,
}
_OPTIONAL_TEXT = {
    "type": "type",
    "requestUUID": "request_uuid",
    "callRecording": "call_recording",
    "transcription": "transcription",
}


def to_entry(document: dict[str, Any]) -> dnc_pb2.DncEntry:
    """Render one document; a field that is absent or unusable is left unset."""
    entry = dnc_pb2.DncEntry(id=_id_text(document.get("_id")), org_id=_id_text(document["orgId"]))
    phone = phone_text(document.get("phoneNumber"))
    if phone is not None:
        entry.phone_number = phone
    batch_id = document.get("batchId")
    if batch_id is not None:
        entry.batch_id = _id_text(batch_id)
    for key, field in _OPTIONAL_TEXT.items():
        text = _scalar_text(document.get(key))
        if text is not None:
            setattr(entry, field, text)
    created_at = _utc(document.get("createdAt"))
    if created_at is not None:
        entry.created_at.FromDatetime(created_at)
    return entry


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
    return str(value) if isinstance(value, ObjectId) else _scalar_text(value) or ""


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | ObjectId) and not isinstance(value, bool):
        return str(value)
    return None


def _utc(value: object) -> datetime | None:
    """A stored Date (aware, from the tz_aware client), or an ISO string from a careless writer."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
