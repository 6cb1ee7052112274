"""The stored layout of audit records, pinned by hand: the deterministic `_id` from its documented
recipe and known values (replicas of two versions must compute the same id, or a record would be
written twice), the marker, and every field of the add and end records."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from bson import ObjectId

from dnc_service.store import audit_records as audit
from dnc_service.store.audit_records import Action, add_record, end_record, marker, record_id


def entry_id() -> ObjectId:
    return ObjectId("64e5f12345abcdef12345678")


def test_the_record_id_is_the_entrys_time_and_a_hash_of_the_entry_and_kind() -> None:
    entry = entry_id()
    kinds: list[tuple[Action, bytes]] = [("add", b"add"), ("remove", b"end"), ("expire", b"end")]
    for action, kind in kinds:
        digest = hashlib.sha256(entry.binary + b"/" + kind).digest()
        assert record_id(entry, action) == ObjectId(entry.binary[:4] + digest[:8])


def test_the_record_ids_of_a_known_entry() -> None:
    assert record_id(entry_id(), "add") == ObjectId("64e5f123ba9eb22ba40d313d")
    assert record_id(entry_id(), "remove") == ObjectId("64e5f1233499c42fa66e8cbe")
    assert record_id(entry_id(), "expire") == ObjectId("64e5f1233499c42fa66e8cbe")


def test_the_stored_names_are_pinned() -> None:
    assert (audit.ENTRY_MARKER, audit.MARKER_AT, audit.PENDING) == (
        "auditPending",
        "auditPending.at",
        "pending",
    )
    assert (audit.ACTION, audit.ENTRY_ID, audit.ACTOR, audit.REQUEST_ID, audit.AT) == (
        "action",
        "entryId",
        "actor",
        "requestId",
        "at",
    )
    assert audit.SYSTEM_ACTOR == "system"


def test_a_marker_holds_the_time_the_request_and_the_actor() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    assert marker(at, "user-a", "r-1") == {"at": at, "requestId": "r-1", "actor": "user-a"}
    assert marker(at, "user-a", None) == {"at": at, "requestId": None, "actor": "user-a"}


def test_an_add_record_from_a_bare_entry_has_every_key_and_no_actor() -> None:
    entry = entry_id()
    org = ObjectId("64e5f12345abcdef00000001")
    assert add_record({"_id": entry, "orgId": org}) == {
        "_id": ObjectId("64e5f123ba9eb22ba40d313d"),
        "orgId": org,
        "action": "add",
        "entryId": entry,
        "phoneE164": None,
        "actor": "",
        "requestId": None,
        "at": None,
    }


def test_a_marker_without_an_actor_falls_back_to_added_by() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    entry = {
        "_id": entry_id(),
        "orgId": 1,
        "addedBy": "user-a",
        "auditPending": marker(at, "", "r"),
    }
    record = add_record(entry)
    assert (record["actor"], record["requestId"], record["at"]) == ("user-a", "r", None)


def test_a_null_marker_is_no_marker_and_an_actor_is_stored_as_text() -> None:
    entry = {"_id": entry_id(), "orgId": 1, "addedBy": 42, "auditPending": None}
    assert add_record(entry)["actor"] == "42"


def test_empty_source_and_reason_are_kept_and_null_ones_left_out() -> None:
    base = {"_id": entry_id(), "orgId": 1}
    kept = add_record({**base, "source": "", "reason": ""})
    assert (kept["source"], kept["reason"]) == ("", "")
    left_out = add_record({**base, "source": None, "reason": None})
    assert "source" not in left_out
    assert "reason" not in left_out


def test_an_end_record_has_every_key_and_is_pending() -> None:
    entry = entry_id()
    at = datetime(2026, 3, 4, tzinfo=UTC)
    stored = {"_id": entry, "orgId": "org", "phoneE164": "+12125551234", "createdAt": 0}
    assert end_record(stored, "remove", "user-a", "r-9", at) == {
        "_id": ObjectId("64e5f1233499c42fa66e8cbe"),
        "orgId": "org",
        "action": "remove",
        "entryId": entry,
        "phoneE164": "+12125551234",
        "actor": "user-a",
        "requestId": "r-9",
        "at": at,
        "pending": True,
    }


def test_records_refused_as_duplicate_ids_were_already_there() -> None:
    records = [{"_id": index} for index in range(4)]
    duplicates = [{"index": 1, "code": 11000}, {"index": 3, "code": 11000}]
    assert audit.newly_written(records, duplicates) == [{"_id": 0}, {"_id": 2}]
    assert audit.newly_written(records, []) == records


def test_any_other_write_error_is_a_failure() -> None:
    records = [{"_id": 0}, {"_id": 1}]
    assert (
        audit.newly_written(records, [{"index": 0, "code": 11000}, {"index": 1, "code": 121}])
        is None
    )
    assert audit.newly_written(records, [{"index": 0}]) is None  # no code: not a duplicate
