"""Each stored field lands in its own DncEntry field, ids of any stored type included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from bson import ObjectId

from dnc_service.store.schema import to_entry

ORG = ObjectId("64e5f12345abcdef12345678")
ID = ObjectId("64e5f12345abcdef98765432")


def test_the_phone_number_is_read_from_phone_number() -> None:
    entry = to_entry({"_id": ID, "orgId": ORG, "phoneNumber": 12125551234})
    assert entry.phone_number == "12125551234"
    assert entry.HasField("phone_number")


@pytest.mark.parametrize(
    ("stored", "text"),
    [
        (ID, str(ID)),
        ("legacy-id-7", "legacy-id-7"),  # another system's string ids are kept as they are
        (42, "42"),
        (None, ""),
        (True, ""),
        ({"nested": 1}, ""),
    ],
)
def test_ids_of_any_stored_type(stored: object, text: str) -> None:
    document = {"orgId": ORG, "batchId": stored}
    if stored is not None:
        document["_id"] = stored
    entry = to_entry(document)
    assert entry.id == text
    assert entry.batch_id == text


def test_numbers_in_text_fields_are_written_as_text_and_booleans_are_left_out() -> None:
    entry = to_entry({"_id": ID, "orgId": ORG, "type": 7, "transcription": 2.5})
    assert (entry.type, entry.transcription) == ("7", "2.5")
    entry = to_entry({"_id": ID, "orgId": ORG, "type": True, "requestUUID": False})
    assert not entry.HasField("type")
    assert not entry.HasField("request_uuid")


@pytest.fixture
def new_york_local_time() -> Iterator[None]:
    """The process's local zone set to one that is not UTC, restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        try:
            yield
        finally:
            patch.undo()
            time.tzset()


@pytest.mark.usefixtures("new_york_local_time")
def test_a_date_without_an_offset_is_utc_whatever_the_local_zone() -> None:
    stored = datetime(2025, 5, 15, 10, 30)  # naive: what a careless writer stores
    for value in (stored, stored.isoformat()):
        entry = to_entry({"_id": ID, "orgId": ORG, "createdAt": value})
        assert entry.created_at.ToDatetime(tzinfo=UTC) == stored.replace(tzinfo=UTC)
