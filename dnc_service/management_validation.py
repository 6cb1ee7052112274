"""What the management RPCs ask for, validated: the proto's rules, then the stored forms.

The bounds (phone length, id and UUID shapes, type length, batch sizes) are the proto's
buf.validate rules, checked by request_rules; this module adds what no rule states: phone
parsing, lowercase ids, canonical UUIDs, trimmed types, and batch items answered one by one.
Every refusal names the request field at fault (`field=`, e.g. `entries[3].phone_number`), so
a caller can fix the one item; nothing here touches the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from dnc.v1 import dnc_pb2

from . import phones, request_rules
from .errors import InvalidArgument
from .phones import Phone

MAX_BATCH_ITEMS = request_rules.field_rules(
    dnc_pb2.BatchAddDncRequest.DESCRIPTOR, "entries"
).repeated.max_items


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One number to list, validated: the stored forms of every field AddDnc takes."""

    phone: Phone
    batch_id: str | None = None
    request_uuid: str | None = None
    type: str | None = None


def parse_add(request: dnc_pb2.AddDncRequest, prefix: str = "") -> NewEntry:
    """Validate one AddDnc request (or batch item, its fields named under `prefix`)."""
    request_rules.check(request, prefix)
    try:
        phone = phones.normalize(request.phone_number)
    except InvalidArgument as error:
        raise InvalidArgument(error.message, field=f"{prefix}phone_number") from None
    batch_id = request.batch_id.lower() if request.HasField("batch_id") else None
    # The rule admits the 8-4-4-4-12 form in either case; it is stored lowercase.
    request_uuid = (
        str(uuid.UUID(request.request_uuid)) if request.HasField("request_uuid") else None
    )
    # The rules refuse control characters; surrounding blanks are trimmed, blank means none.
    entry_type = request.type.strip() or None
    return NewEntry(phone, batch_id, request_uuid, entry_type)


def parse_batch(request: dnc_pb2.BatchAddDncRequest) -> list[NewEntry | InvalidArgument]:
    """Each item validated on its own: its NewEntry, or the error that refuses it alone.

    Only the item count (the proto's rule on `entries`) refuses the batch as a whole.
    """
    request_rules.check(request)
    results: list[NewEntry | InvalidArgument] = []
    for index, item in enumerate(request.entries):
        try:
            results.append(parse_add(item, prefix=f"entries[{index}]."))
        except InvalidArgument as error:
            results.append(error)
    return results


def parse_check(request: dnc_pb2.CheckDncRequest) -> list[Phone | InvalidArgument]:
    """Each number parsed on its own: its Phone, or why it can't be checked."""
    request_rules.check(request)
    results: list[Phone | InvalidArgument] = []
    for index, raw in enumerate(request.phone_numbers):
        try:
            results.append(phones.normalize(raw))
        except InvalidArgument as error:
            results.append(InvalidArgument(error.message, field=f"phone_numbers[{index}]"))
    return results


def parse_remove(request: dnc_pb2.RemoveDncRequest) -> str:
    """The entry id to remove (the proto's rule: 24 hex characters), lowercase."""
    request_rules.check(request)
    return request.id.lower()


def parse_export(request: dnc_pb2.ExportDncRequest) -> str:
    """The export's search (the proto's rules, as ListDnc's), trimmed as ListDnc trims it."""
    request_rules.check(request)
    return request.search.strip()


def first_occurrences(phones_in_order: Sequence[Phone | None]) -> dict[str, int]:
    """The index of each number's first appearance (later repeats are already listed by it)."""
    first: dict[str, int] = {}
    for index, phone in enumerate(phones_in_order):
        if phone is not None:
            first.setdefault(phone.e164, index)
    return first
