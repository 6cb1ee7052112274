"""What the management RPCs ask for, validated: numbers, ids, UUIDs, types and batch sizes.

Every refusal names the request field at fault (`field=`, e.g. `entries[3].phone_number`), so
a caller can fix the one item; nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from dnc.v1 import dnc_pb2

from . import phones
from .errors import InvalidArgument
from .phones import Phone

MAX_BATCH_ITEMS = 1000
MAX_TYPE_CHARS = 64
# Any UUID spelling uuid.UUID accepts ("urn:uuid:...", braces) fits in this.
_MAX_UUID_CHARS = 45
_HEX_ID = re.compile(r"[0-9a-fA-F]{24}", re.ASCII)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One number to list, validated: the stored forms of every field AddDnc takes."""

    phone: Phone
    batch_id: str | None = None
    request_uuid: str | None = None
    type: str | None = None


def parse_add(request: dnc_pb2.AddDncRequest, prefix: str = "") -> NewEntry:
    """Validate one AddDnc request (or batch item, its fields named under `prefix`)."""
    try:
        phone = phones.normalize(request.phone_number)
    except InvalidArgument as error:
        raise InvalidArgument(error.message, field=f"{prefix}phone_number") from None
    batch_id = None
    if request.HasField("batch_id"):
        batch_id = parse_id(request.batch_id, f"{prefix}batch_id")
    request_uuid = None
    if request.HasField("request_uuid"):
        request_uuid = _uuid(request.request_uuid, f"{prefix}request_uuid")
    entry_type = _type(request.type, f"{prefix}type") if request.HasField("type") else None
    return NewEntry(phone, batch_id, request_uuid, entry_type)


def parse_batch(request: dnc_pb2.BatchAddDncRequest) -> list[NewEntry | InvalidArgument]:
    """Each item validated on its own: its NewEntry, or the error that refuses it alone.

    A batch with no items or more than MAX_BATCH_ITEMS is refused as a whole.
    """
    _count(len(request.entries), "entries")
    results: list[NewEntry | InvalidArgument] = []
    for index, item in enumerate(request.entries):
        try:
            results.append(parse_add(item, prefix=f"entries[{index}]."))
        except InvalidArgument as error:
            results.append(error)
    return results


def parse_check(request: dnc_pb2.CheckDncRequest) -> list[Phone | InvalidArgument]:
    """Each number parsed on its own: its Phone, or why it can't be checked."""
    _count(len(request.phone_numbers), "phone_numbers")
    results: list[Phone | InvalidArgument] = []
    for index, raw in enumerate(request.phone_numbers):
        try:
            results.append(phones.normalize(raw))
        except InvalidArgument as error:
            results.append(InvalidArgument(error.message, field=f"phone_numbers[{index}]"))
    return results


def parse_id(raw: str, field: str = "id") -> str:
    """An entry or batch id: 24 hex characters, returned lowercase."""
    if not _HEX_ID.fullmatch(raw):
        raise InvalidArgument(f"{field} must be 24 hexadecimal characters", field=field)
    return raw.lower()


def _uuid(raw: str, field: str) -> str:
    """A UUID in any spelling uuid.UUID accepts, stored in its canonical lowercase form."""
    try:
        if len(raw) > _MAX_UUID_CHARS:
            raise ValueError(raw)
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidArgument(
            f"{field} must be a UUID, e.g. 550e8400-e29b-41d4-a716-446655440000", field=field
        ) from None


def _type(raw: str, field: str) -> str | None:
    """Free text, trimmed; empty means none; bounded and free of control characters."""
    text = raw.strip()
    if len(text) > MAX_TYPE_CHARS:
        raise InvalidArgument(f"{field} must be at most {MAX_TYPE_CHARS} characters", field=field)
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise InvalidArgument(f"{field} must not contain control characters", field=field)
    return text or None


def _count(items: int, field: str) -> None:
    if not 1 <= items <= MAX_BATCH_ITEMS:
        raise InvalidArgument(
            f"{field} must hold 1 to {MAX_BATCH_ITEMS} items, got {items}", field=field
        )


def first_occurrences(phones_in_order: Sequence[Phone | None]) -> dict[str, int]:
    """The index of each number's first appearance (later repeats are already listed by it)."""
    first: dict[str, int] = {}
    for index, phone in enumerate(phones_in_order):
        if phone is not None:
            first.setdefault(phone.e164, index)
    return first
