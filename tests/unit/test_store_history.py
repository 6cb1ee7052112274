"""Audit records become DncEvents (old ones and odd ones included), and the history query has
the index's shape: orgId, then the number, then the keyset clause, sorted along the index."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from google.protobuf.timestamp_pb2 import Timestamp

from dnc.v1 import dnc_pb2
from dnc_service.store import SortKey
from dnc_service.store.history import (
    HISTORY_INDEX,
    HISTORY_ORDER,
    PROJECTION,
    history_filter,
    to_event,
)
from dnc_service.store.indexes import NUMBER_INDEX
from dnc_service.store.order import LISTING_INDEX

ORG = ObjectId("64e5f12345abcdef12345678")
ENTRY = ObjectId("64e5f12345abcdef98765432")
AT = datetime(2025, 5, 15, 10, 30, 0, 123000, tzinfo=UTC)
NUMBER = "+12125551234"


def record(**fields: object) -> dict[str, object]:
    """An audit record as today's AuditLog.record writes it (random _id, no source/reason)."""
    return {
        "_id": ObjectId(),
        "orgId": ORG,
        "action": "add",
        "entryId": ENTRY,
        "phoneE164": NUMBER,
        "actor": "64e5f12345abcdef00000001",
        "requestId": "req-1",
        "at": AT,
        **fields,
    }


def test_a_record_of_todays_writer_renders_every_field_it_has() -> None:
    assert to_event(record()) == dnc_pb2.DncEvent(
        action="add", entry_id=str(ENTRY), phone_e164=NUMBER,
        actor="64e5f12345abcdef00000001", request_id="req-1",
        at=Timestamp(seconds=int(AT.timestamp()), nanos=123_000_000),
    )  # fmt: skip
    event = to_event(record())
    assert not event.HasField("source")
    assert not event.HasField("reason")


def test_source_and_reason_are_shown_when_the_change_carried_them() -> None:
    event = to_event(record(action="remove", source="sms_stop", reason="STOP"))
    assert (event.action, event.source, event.reason) == ("remove", "sms_stop", "STOP")


def test_pending_is_neither_read_nor_shown() -> None:
    assert "pending" not in PROJECTION
    assert to_event(record(pending=True)) == to_event(record())


def test_missing_and_odd_fields_are_left_unset_never_a_crash() -> None:
    event = to_event(
        {"_id": ObjectId(), "action": "expire", "entryId": 42, "requestId": None, "at": "x"}
    )
    assert event == dnc_pb2.DncEvent(action="expire")
    assert not event.HasField("at")
    # A naive datetime (a careless writer) is taken as UTC.
    naive = to_event(record(at=AT.replace(tzinfo=None)))
    assert naive.at == to_event(record()).at


def test_the_filter_is_org_first_then_the_number() -> None:
    where = history_filter(str(ORG), NUMBER)
    assert where == {"orgId": ORG, "phoneE164": NUMBER}
    assert list(where) == [key for key, _ in HISTORY_INDEX[:2]]


def test_a_later_page_adds_only_the_keyset_clause() -> None:
    last = ObjectId()
    where = history_filter(str(ORG), NUMBER, SortKey(str(last), AT))
    assert list(where) == ["orgId", "phoneE164", "$or"]
    assert where["$or"] == [
        {"at": {"$lt": AT}},
        {"at": AT, "_id": {"$lt": last}},
        {"at": {"$not": {"$type": "date"}}},
    ]


def test_the_index_serves_the_sort_and_is_its_own() -> None:
    assert HISTORY_INDEX == [("orgId", 1), ("phoneE164", 1), ("at", -1), ("_id", -1)]
    assert list(HISTORY_ORDER) == HISTORY_INDEX[2:]
    assert HISTORY_INDEX not in (LISTING_INDEX, NUMBER_INDEX)
