"""The audit's decisions without a database: the deterministic record id, the records built from
a stored entry (what recovery writes), when a row has expired, and recover's summary line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from dnc_service.recovery import summary
from dnc_service.store import RecoveryReport
from dnc_service.store.audit_records import add_record, end_record, marker, record_id
from dnc_service.store.writes import expired

ENTRY = ObjectId("64e5f12345abcdef12345678")
ORG = ObjectId("64e5f12345abcdef00000001")
AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def row(**fields: object) -> dict[str, object]:
    return {"_id": ENTRY, "orgId": ORG, "phoneE164": "+12125551234", "createdAt": AT, **fields}


def test_a_record_id_is_the_same_for_the_same_entry_and_kind() -> None:
    assert record_id(ENTRY, "add") == record_id(ObjectId(str(ENTRY)), "add")
    assert record_id(ENTRY, "add") != record_id(ENTRY, "remove")
    assert record_id(ENTRY, "add") != record_id(ObjectId(), "add")


def test_a_remove_and_an_expiry_share_one_id_an_entry_ends_once() -> None:
    assert record_id(ENTRY, "remove") == record_id(ENTRY, "expire")


def test_a_record_id_keeps_the_entrys_time() -> None:
    for action in ("add", "remove"):
        made = record_id(ENTRY, action)
        assert made.binary[:4] == ENTRY.binary[:4]
        assert made.generation_time == ENTRY.generation_time


def test_the_add_record_comes_from_the_entry_and_its_marker() -> None:
    entry = row(
        addedBy="user-a", source="call", reason="asked", auditPending=marker(AT, "user-b", "r-1")
    )
    assert add_record(entry) == {
        "_id": record_id(ENTRY, "add"),
        "orgId": ORG,
        "action": "add",
        "entryId": ENTRY,
        "phoneE164": "+12125551234",
        "actor": "user-b",
        "requestId": "r-1",
        "at": AT,
        "source": "call",
        "reason": "asked",
    }


def test_without_a_marker_the_actor_is_added_by_and_absent_fields_stay_absent() -> None:
    record = add_record(row(addedBy="user-a", reason=None))
    assert (record["actor"], record["requestId"]) == ("user-a", None)
    assert "source" not in record
    assert "reason" not in record


def test_an_end_record_is_pending_until_its_entry_is_deleted() -> None:
    record = end_record(row(), "expire", "system", None, AT - timedelta(days=1))
    assert record["_id"] == record_id(ENTRY, "remove")
    assert (record["action"], record["actor"], record["pending"]) == ("expire", "system", True)
    assert record["at"] == AT - timedelta(days=1)


def test_a_row_expires_at_its_expires_at_and_not_before() -> None:
    assert expired(row(expiresAt=AT), AT)
    assert not expired(row(expiresAt=AT), AT - timedelta(milliseconds=1))
    assert not expired(row(), AT)
    assert not expired(row(expiresAt="2020-01-01"), AT)  # not a Date: never expires by itself


def test_the_summary_names_every_count() -> None:
    report = RecoveryReport(add_records=1, markers=2, settled=3, deleted=4, expired=5)
    assert summary(report) == (
        "recover: 1 missing add record(s) written, 4 removal(s) completed, 5 entr(ies) expired "
        "(2 marker(s) and 3 pending record(s) cleared)"
    )
    assert report.completed == 10  # the clears are bookkeeping, not changes
