"""Stored documents, messy ones included, become DncEntry messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import bson
import bson.errors
import pytest
from bson import Decimal128, Int64, ObjectId

from dnc_service.settings import Settings
from dnc_service.store.client import connect
from dnc_service.store.schema import NewEntry, new_document, phone_text, to_entry

ORG = ObjectId("64e5f12345abcdef12345678")
ID = ObjectId("64e5f12345abcdef98765432")
UUID = "550e8400-e29b-41d4-a716-446655440000"


@pytest.mark.parametrize(
    ("stored", "rendered"),
    [
        ("12125551234", "12125551234"),
        (12125551234, "12125551234"),
        (Int64(447700900123), "447700900123"),
        (12125551234.0, "12125551234"),
        (Decimal128("12125551234"), "12125551234"),
        (1.5, None),
        (float("nan"), None),
        (True, None),
        (None, None),
        ({"a": 1}, None),
    ],
)
def test_phone_text(stored: object, rendered: str | None) -> None:
    assert phone_text(stored) == rendered


def test_a_complete_document() -> None:
    batch = ObjectId()
    entry = to_entry(
        {
            "_id": ID, "orgId": ORG, "phoneNumber": "12125551234", "type": "customer_request",
            "batchId": batch, "requestUUID": "550e8400-e29b-41d4-a716-446655440000",
            "callRecording": "https://example.com/recording.mp3", "transcription": "text",
            "createdAt": datetime(2025, 5, 15, 10, 30, tzinfo=UTC),
        }
    )  # fmt: skip
    assert (entry.id, entry.org_id, entry.batch_id) == (str(ID), str(ORG), str(batch))
    assert entry.created_at.ToJsonString() == "2025-05-15T10:30:00Z"
    assert entry.request_uuid == "550e8400-e29b-41d4-a716-446655440000"


def test_absent_fields_stay_unset() -> None:
    entry = to_entry({"_id": ID, "orgId": ORG})
    for field in (
        "phone_number",
        "type",
        "batch_id",
        "request_uuid",
        "call_recording",
        "transcription",
        "created_at",
    ):
        assert not entry.HasField(field), field


@pytest.mark.parametrize(
    ("stored", "json"),
    [
        (datetime(2025, 5, 15, 10, 30, 0, 123000), "2025-05-15T10:30:00.123Z"),
        (
            datetime(2025, 5, 15, 12, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-05-15T10:30:00Z",
        ),
        ("2025-05-15T10:30:00.000Z", "2025-05-15T10:30:00Z"),
    ],
)
def test_created_at_is_utc(stored: object, json: str) -> None:
    assert (
        to_entry({"_id": ID, "orgId": ORG, "createdAt": stored}).created_at.ToJsonString() == json
    )


def test_an_unparseable_created_at_is_left_out() -> None:
    assert not to_entry({"_id": ID, "orgId": ORG, "createdAt": "yesterday"}).HasField("created_at")


def test_the_client_decodes_strings_that_are_not_utf8() -> None:
    """The service's client reads a row holding bytes that are not UTF-8 (as MongoDB stores
    them when another system writes them) with U+FFFD, instead of raising InvalidBSON."""
    raw = bytearray(bson.encode({"_id": ObjectId(), "type": "PLACEHOLDER", "phoneNumber": "1"}))
    at = raw.index(b"PLACEHOLDER")
    raw[at : at + len("PLACEHOLDER")] = b"bad \xff\xfe type"
    with pytest.raises(bson.errors.InvalidBSON):
        bson.decode(bytes(raw))
    client = connect(Settings.from_env({"DNC_JWT_SECRET": "s" * 32}))
    try:
        document = bson.decode(bytes(raw), codec_options=client.codec_options)
    finally:
        asyncio.run(client.close())
    assert document["type"] == "bad \ufffd\ufffd type"
    assert to_entry({**document, "orgId": ObjectId()}).type == "bad \ufffd\ufffd type"


def test_a_new_entry_is_stored_in_the_original_forms_plus_e164() -> None:
    at = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)
    batch = "64e5f12345abcdef87650001"
    full = new_document(str(ORG), NewEntry("+12125551234", batch, UUID, "call"), at, "u" * 24)
    assert isinstance(full.pop("_id"), ObjectId)
    assert full == {
        "phoneNumber": "12125551234", "phoneE164": "+12125551234", "orgId": ORG,
        "type": "call", "batchId": ObjectId(batch), "requestUUID": UUID, "createdAt": at,
        "requestedAt": at, "addedBy": "u" * 24,
    }  # fmt: skip
    bare = new_document(str(ORG), NewEntry("+442079460000"), at, "u" * 24)
    assert set(bare) == {
        "_id", "phoneNumber", "phoneE164", "orgId", "createdAt", "requestedAt", "addedBy",
    }  # fmt: skip
    assert to_entry(bare).phone_number == "442079460000"


def test_the_compliance_record_is_stored_and_rendered_when_present() -> None:
    at = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)
    asked, ends = at - timedelta(days=2), at + timedelta(days=30)
    entry = NewEntry(
        "+12125551234", source="sms_stop", reason="STOP", requested_at=asked, expires_at=ends
    )
    document = new_document(str(ORG), entry, at, "a" * 24)
    assert {key: document[key] for key in ("source", "reason", "requestedAt", "expiresAt")} == {
        "source": "sms_stop", "reason": "STOP", "requestedAt": asked, "expiresAt": ends,
    }  # fmt: skip
    assert document["addedBy"] == "a" * 24
    rendered = to_entry(document)
    assert (rendered.source, rendered.reason, rendered.added_by) == ("sms_stop", "STOP", "a" * 24)
    assert rendered.requested_at.ToDatetime(UTC) == asked
    assert rendered.expires_at.ToDatetime(UTC) == ends


def test_a_row_without_the_compliance_record_renders_without_it() -> None:
    rendered = to_entry({"_id": ObjectId(), "orgId": ORG, "phoneNumber": "12125551234"})
    for field in ("source", "reason", "requested_at", "expires_at", "added_by"):
        assert not rendered.HasField(field)
