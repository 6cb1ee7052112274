"""BatchAddDnc: each item answered on its own, idempotent, all or nothing only on the batch size."""

from __future__ import annotations

from typing import Any

import grpc
from bson import ObjectId
from pymongo.database import Database

from data_support import Document, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from management_support import add, audit_of, entries_of, rpc_error

ADDED = dnc_pb2.BATCH_ADD_STATUS_ADDED
ALREADY_LISTED = dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED
INVALID = dnc_pb2.BATCH_ADD_STATUS_INVALID


def batch(*phones: str, **fields: Any) -> dnc_pb2.BatchAddDncRequest:
    return dnc_pb2.BatchAddDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number=phone, **fields) for phone in phones]
    )


def test_each_item_is_answered_in_order(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    earlier = add(stub, org, "12125550200")
    request = batch("+1 212 555 0201", "911", "1.212.555.0201", "12125550202", "+12125550200")
    request.entries[3].batch_id = "nope"
    request.entries.append(dnc_pb2.AddDncRequest(phone_number="12125550203", type="complaint"))
    response = stub.BatchAddDnc(request, metadata=org.metadata, timeout=10)
    results = list(response.results)
    assert [r.index for r in results] == list(range(6))
    assert [r.status for r in results] == [
        ADDED, INVALID, ALREADY_LISTED, INVALID, ALREADY_LISTED, ADDED,
    ]  # fmt: skip
    assert [r.phone_e164 for r in results] == [
        "+12125550201", "", "+12125550201", "", "+12125550200", "+12125550203",
    ]  # fmt: skip
    assert results[2].entry_id == results[0].entry_id  # a repeat within the batch
    assert results[4].entry_id == earlier.id  # listed before
    assert results[1].error
    assert results[3].error
    assert not results[0].error
    assert "batch_id" in results[3].error
    assert (results[1].entry_id, results[3].entry_id) == ("", "")
    stored = {doc["phoneE164"]: doc for doc in entries_of(mongo_db, org)}
    assert set(stored) == {"+12125550200", "+12125550201", "+12125550203"}
    assert stored["+12125550203"]["type"] == "complaint"
    assert str(stored["+12125550201"]["_id"]) == results[0].entry_id
    audited = [(r["action"], r["phoneE164"]) for r in audit_of(mongo_db, org)]
    assert audited == [("add", "+12125550200"), ("add", "+12125550201"), ("add", "+12125550203")]


def test_a_repeated_batch_adds_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    request = batch(*(f"1212555{n:04d}" for n in range(300, 350)))
    first = stub.BatchAddDnc(request, metadata=org.metadata, timeout=10)
    assert {r.status for r in first.results} == {ADDED}
    second = stub.BatchAddDnc(request, metadata=org.metadata, timeout=10)
    assert {r.status for r in second.results} == {ALREADY_LISTED}
    assert [r.entry_id for r in second.results] == [r.entry_id for r in first.results]
    assert len(entries_of(mongo_db, org)) == 50
    assert len(audit_of(mongo_db, org)) == 50


def test_a_full_batch_of_a_thousand(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    response = stub.BatchAddDnc(
        batch(*(f"1646555{n:04d}" for n in range(1000))), metadata=org.metadata, timeout=30
    )
    assert [r.status for r in response.results] == [ADDED] * 1000
    assert len({r.entry_id for r in response.results}) == 1000
    assert len(entries_of(mongo_db, org)) == 1000


def test_too_many_or_no_items_is_invalid_argument_and_writes_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    for request in (batch(*(f"1718555{n:04d}" for n in range(1001))), batch()):
        error = rpc_error(stub.BatchAddDnc, request, metadata=org.metadata)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "entries" in (error.details() or "")
    assert len(entries_of(mongo_db, org)) == 1
    assert audit_of(mongo_db, org) == []


def test_a_batch_of_only_bad_items_writes_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    response = stub.BatchAddDnc(batch("911", "", "letters"), metadata=org.metadata, timeout=10)
    assert [r.status for r in response.results] == [INVALID] * 3
    assert all("phone" in r.error or "number" in r.error for r in response.results)
    assert entries_of(mongo_db, org) == []


def test_batches_of_two_organizations_stay_apart(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    first, second = new_org(), new_org()
    request = batch("12125550400", "12125550401")
    ids = [
        [r.entry_id for r in stub.BatchAddDnc(request, metadata=org.metadata, timeout=10).results]
        for org in (first, second)
    ]
    assert not set(ids[0]) & set(ids[1])
    for org, org_ids in zip((first, second), ids, strict=True):
        assert {str(doc["_id"]) for doc in entries_of(mongo_db, org)} == set(org_ids)
        assert all(doc["orgId"] == org.org_id for doc in entries_of(mongo_db, org))
    first_ids = [ObjectId(entry_id) for entry_id in ids[0]]
    assert mongo_db.dnc_entries.count_documents({"_id": {"$in": first_ids}}) == 2


def test_concurrent_overlapping_batches_add_each_number_once(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    request = batch(*(f"1305555{n:04d}" for n in range(100)))
    calls = [stub.BatchAddDnc.future(request, metadata=org.metadata, timeout=30) for _ in range(8)]
    responses = [call.result() for call in calls]
    for index in range(100):
        statuses = [response.results[index].status for response in responses]
        assert statuses.count(ADDED) == 1, statuses
        assert statuses.count(ALREADY_LISTED) == 7
        assert len({response.results[index].entry_id for response in responses}) == 1
    assert len(entries_of(mongo_db, org)) == 100
    assert len(audit_of(mongo_db, org)) == 100
