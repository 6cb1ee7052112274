"""AddDnc and RemoveDnc through the real service: normalization, duplicates under concurrency,
organizations kept apart, bad input changing nothing, and the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from bson import Int64, ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.store.indexes import HEAL_INDEX, HEAL_INDEX_NAME, NUMBER_INDEX, NUMBER_INDEX_NAME
from management_support import add, audit_of, entries_of, rpc_error, with_request_id


def test_add_stores_the_number_normalized_and_returns_the_listed_entry(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    batch_id = "64E5F12345ABCDEF87650001"
    before = datetime.now(UTC).replace(microsecond=0)
    entry = add(
        stub, org, " +1 (212) 555-0142 ", type="customer_request", batch_id=batch_id,
        request_uuid="550E8400-E29B-41D4-A716-446655440000",
    )  # fmt: skip
    assert entry.phone_number == "12125550142"
    assert (entry.org_id, entry.type) == (str(org.org_id), "customer_request")
    assert entry.batch_id == batch_id.lower()
    assert entry.request_uuid == "550e8400-e29b-41d4-a716-446655440000"
    assert entry.created_at.ToDatetime(UTC) >= before
    [stored] = entries_of(mongo_db, org)
    assert stored["_id"] == ObjectId(entry.id)
    assert (stored["phoneNumber"], stored["phoneE164"]) == ("12125550142", "+12125550142")
    assert stored["batchId"] == ObjectId(batch_id)
    listed = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    assert list(listed.dnc_list) == [entry]  # rendered exactly as the listing renders it


def test_optional_fields_stay_absent(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    entry = add(stub, org, "442079460000", type="  ")
    assert entry.phone_number == "442079460000"
    for field in ("type", "batch_id", "request_uuid", "call_recording", "transcription",
                  "source", "reason", "expires_at"):  # fmt: skip
        assert not entry.HasField(field)
    # The compliance record's defaults: requested when added, by the caller.
    assert entry.requested_at == entry.created_at
    assert entry.added_by == str(org.user_id)
    [stored] = entries_of(mongo_db, org)
    # auditPending: the audit's marker, until the audit sweep clears it (store/audit.py).
    assert set(stored) - {"auditPending"} == {
        "_id", "orgId", "phoneNumber", "phoneE164", "createdAt", "requestedAt", "addedBy",
    }  # fmt: skip
    assert (stored["requestedAt"], stored["addedBy"]) == (stored["createdAt"], str(org.user_id))


def test_a_listed_number_in_any_format_is_already_exists_and_changes_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    first = add(stub, org, "12125550143", type="complaint")
    before = entries_of(mongo_db, org)
    for again in ("+1.212.555.0143", "+1 (212) 555-0143", "12125550143"):
        error = rpc_error(
            stub.AddDnc, dnc_pb2.AddDncRequest(phone_number=again, type="x"), metadata=org.metadata
        )
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
        assert first.id in (error.details() or "")
    assert entries_of(mongo_db, org) == before
    assert len(audit_of(mongo_db, org)) == 1


def test_the_same_number_in_two_organizations_is_two_entries(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    first, second = new_org(), new_org()
    assert add(stub, first, "12125550144").id != add(stub, second, "12125550144").id


@pytest.mark.parametrize(
    "request_fields",
    [
        {"phone_number": "911"},
        {"phone_number": "call me"},
        {"phone_number": ""},
        {"phone_number": "1" * 40},
        {"phone_number": "12125550145", "batch_id": "not-an-id"},
        {"phone_number": "12125550145", "batch_id": ""},
        {"phone_number": "12125550145", "request_uuid": "550e8400"},
        {"phone_number": "12125550145", "request_uuid": "x" * 1000},
        {"phone_number": "12125550145", "type": "t" * 65},
        {"phone_number": "12125550145", "type": "bad\x00type"},
    ],
)
def test_bad_input_is_invalid_argument_and_writes_nothing(
    stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    request_fields: dict[str, Any],
) -> None:
    org = new_org(entries=2)
    before = entries_of(mongo_db, org)
    error = rpc_error(stub.AddDnc, dnc_pb2.AddDncRequest(**request_fields), metadata=org.metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details()
    assert entries_of(mongo_db, org) == before
    assert audit_of(mongo_db, org) == []


def test_concurrent_adds_of_one_number_list_it_once(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    spellings = ["12125550146", "+1 212 555 0146", "+1 (212) 555-0146", "+1.212.555.0146"]
    calls = [
        stub.AddDnc.future(
            dnc_pb2.AddDncRequest(phone_number=spellings[n % 4]), metadata=org.metadata, timeout=30
        )
        for n in range(20)
    ]
    codes = []
    for call in calls:
        try:
            call.result()
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())
    assert codes.count(grpc.StatusCode.OK) == 1, [str(c) for c in codes]
    assert codes.count(grpc.StatusCode.ALREADY_EXISTS) == 19, [str(c) for c in codes]
    assert len(entries_of(mongo_db, org)) == 1
    assert len(audit_of(mongo_db, org)) == 1


def test_remove_deletes_the_entry_and_audits_it(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=2)
    entry = add(stub, org, "12125550147")
    request_id = str(uuid.uuid4())
    stub.RemoveDnc(
        dnc_pb2.RemoveDncRequest(id=entry.id.upper()),
        metadata=with_request_id(org, request_id),
        timeout=10,
    )
    assert [doc["_id"] for doc in entries_of(mongo_db, org)] == sorted(
        e["_id"] for e in org.entries
    )
    added, removed = audit_of(mongo_db, org)
    assert (added["action"], removed["action"]) == ("add", "remove")
    assert removed["entryId"] == ObjectId(entry.id)
    assert (removed["phoneE164"], removed["requestId"]) == ("+12125550147", request_id)
    assert removed["actor"] == str(org.user_id)
    assert isinstance(removed["at"], datetime)
    again = rpc_error(stub.RemoveDnc, dnc_pb2.RemoveDncRequest(id=entry.id), metadata=org.metadata)
    assert again.code() == grpc.StatusCode.NOT_FOUND


def test_a_legacy_row_can_be_removed(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=[{"phoneNumber": Int64(12125550148), "createdAt": BASE_TIME}])
    stub.RemoveDnc(
        dnc_pb2.RemoveDncRequest(id=str(org.entries[0]["_id"])), metadata=org.metadata, timeout=10
    )
    assert entries_of(mongo_db, org) == []
    [removed] = audit_of(mongo_db, org)
    assert removed["phoneE164"] == "+12125550148"  # normalized from the legacy number


def test_another_organizations_entry_is_not_found_and_untouched(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    owner, intruder = new_org(entries=1), new_org(entries=1)
    target = str(owner.entries[0]["_id"])
    unknown = str(ObjectId())
    for entry_id in (target, unknown):
        error = rpc_error(
            stub.RemoveDnc, dnc_pb2.RemoveDncRequest(id=entry_id), metadata=intruder.metadata
        )
        assert error.code() == grpc.StatusCode.NOT_FOUND
    # The same answer for both: an id tells nothing about other organizations.
    assert mongo_db.dnc_entries.count_documents({"_id": ObjectId(target)}) == 1
    assert len(entries_of(mongo_db, intruder)) == 1
    assert audit_of(mongo_db, owner) == audit_of(mongo_db, intruder) == []


@pytest.mark.parametrize("bad_id", ["", "123", "z" * 24, "64e5f12345abcdef123456789", " " * 24])
def test_remove_of_a_malformed_id_is_invalid_argument(
    stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    bad_id: str,
) -> None:
    org = new_org(entries=1)
    error = rpc_error(stub.RemoveDnc, dnc_pb2.RemoveDncRequest(id=bad_id), metadata=org.metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(entries_of(mongo_db, org)) == 1


def test_add_audits_the_actor_and_the_request_id(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    response = stub.AddDnc(
        dnc_pb2.AddDncRequest(phone_number="12125550149"),
        metadata=with_request_id(org, "req-149"),
        timeout=10,
    )
    [record] = audit_of(mongo_db, org)
    assert {key: value for key, value in record.items() if key not in ("_id", "at")} == {
        "orgId": org.org_id,
        "action": "add",
        "entryId": ObjectId(response.entry.id),
        "phoneE164": "+12125550149",
        "actor": str(org.user_id),
        "requestId": "req-149",
    }
    assert abs((datetime.now(UTC) - record["at"]).total_seconds()) < 60


def test_writes_need_a_token(stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory) -> None:
    for call, request in (
        (stub.AddDnc, dnc_pb2.AddDncRequest(phone_number="12125550150")),
        (stub.RemoveDnc, dnc_pb2.RemoveDncRequest(id=str(ObjectId()))),
        (stub.BatchAddDnc, dnc_pb2.BatchAddDncRequest(entries=[request_for("12125550150")])),
    ):
        assert rpc_error(call, request).code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_unique_index_exists_and_legacy_rows_without_the_field_coexist(
    mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    indexes = mongo_db.dnc_entries.index_information()
    index = indexes[NUMBER_INDEX_NAME]
    assert (index["key"], index["unique"]) == (NUMBER_INDEX, True)
    # The number lookup's heal query (store/lookup.py) has its own, non-unique index.
    assert indexes[HEAL_INDEX_NAME]["key"] == HEAL_INDEX
    assert not indexes[HEAL_INDEX_NAME].get("unique")
    # Two rows of one organization lacking phoneE164 (before migrate): both accepted.
    org = new_org(
        entries=[
            {"phoneNumber": "12125550151", "createdAt": BASE_TIME},
            {"phoneNumber": "12125550152", "createdAt": BASE_TIME},
        ]
    )
    assert len(entries_of(mongo_db, org)) == 2


def request_for(phone: str) -> dnc_pb2.AddDncRequest:
    return dnc_pb2.AddDncRequest(phone_number=phone)
