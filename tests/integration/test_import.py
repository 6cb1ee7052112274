"""ImportDnc through the real service: rows as BatchAddDnc items over any number of messages,
answered with counts; idempotent, dry run, bounded error report, audit for every add."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from management_support import add, audit_of, entries_of, import_requests, import_rows


def rows(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n:04d}" for n in range(count)]


def test_rows_over_many_messages_are_counted_and_listed(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    earlier = add(stub, org, "13125550000")
    first = rows("1312555", 1000)  # 13125550000 listed before: already listed
    second = [*rows("1312556", 998), "911", "+1 312 555 0001"]  # a bad row, a repeat of row 1
    third = ["1312557000x", "13125560005", "13125570001"]  # bad, repeat of the second, new
    response = import_rows(stub, org.metadata, [first, second, third])
    assert (response.added, response.already_listed, response.invalid) == (1998, 3, 2)
    assert [(error.row, "not a possible" in error.error) for error in response.errors] == [
        (1998, True),
        (2000, False),
    ]
    stored = {doc["phoneE164"]: doc for doc in entries_of(mongo_db, org)}
    assert len(stored) == 1 + 1998
    assert str(stored["+13125550000"]["_id"]) == earlier.id
    audited = audit_of(mongo_db, org)
    assert len(audited) == 1 + 1998
    assert {str(record["entryId"]) for record in audited} == {
        str(doc["_id"]) for doc in stored.values()
    }
    assert {record["action"] for record in audited} == {"add"}


def test_a_repeated_import_adds_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    chunks = [rows("1415555", 500), rows("1415556", 500)]
    assert import_rows(stub, org.metadata, chunks).added == 1000
    before = entries_of(mongo_db, org)
    again = import_rows(stub, org.metadata, chunks)
    assert (again.added, again.already_listed, again.invalid) == (0, 1000, 0)
    assert entries_of(mongo_db, org) == before
    assert len(audit_of(mongo_db, org)) == 1000


def test_a_dry_run_counts_and_writes_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    add(stub, org, "15105550000")
    chunks = [[*rows("1510555", 10), "911"], ["15105550003", "15105550100", "15105550100"]]
    before = (entries_of(mongo_db, org), audit_of(mongo_db, org))
    dry = import_rows(stub, org.metadata, chunks, dry_run=True)
    assert (dry.added, dry.already_listed, dry.invalid) == (10, 3, 1)
    assert [error.row for error in dry.errors] == [10]
    assert (entries_of(mongo_db, org), audit_of(mongo_db, org)) == before
    real = import_rows(stub, org.metadata, chunks)
    assert (real.added, real.already_listed, real.invalid) == (10, 3, 1)


def test_other_organizations_are_never_seen_or_touched(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    other = new_org(
        entries=[
            {"phoneNumber": "16175550000", "phoneE164": "+16175550000", "createdAt": BASE_TIME}
        ]
    )
    org = new_org()
    other_before = (entries_of(mongo_db, other), audit_of(mongo_db, other))
    response = import_rows(stub, org.metadata, [["16175550000", "16175550001"]])
    assert (response.added, response.already_listed) == (2, 0)
    assert (entries_of(mongo_db, other), audit_of(mongo_db, other)) == other_before
    assert {doc["phoneE164"] for doc in entries_of(mongo_db, org)} == {
        "+16175550000",
        "+16175550001",
    }


def test_a_region_reads_national_rows_and_a_row_may_name_its_own(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    london = dnc_pb2.AddDncRequest(phone_number="020 7946 0800", region="GB")
    response = import_rows(stub, org.metadata, [["(212) 555-0800", london]], region="US")
    assert (response.added, response.invalid) == (2, 0)
    assert {doc["phoneE164"] for doc in entries_of(mongo_db, org)} == {
        "+12125550800",
        "+442079460800",
    }
    bad_row = dnc_pb2.AddDncRequest(phone_number="2125550801", region="ZZ")
    refused = import_rows(stub, org.metadata, [[bad_row]])
    assert refused.invalid == 1
    assert "region" in refused.errors[0].error


@pytest.mark.timeout(600)  # a million rows through the service, on a shared 2-core machine
def test_a_million_invalid_rows_give_a_bounded_report(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    # Refused by the phone check (letters), the cheapest refusal: the test is about the report.
    message = dnc_pb2.ImportDncRequest(entries=[dnc_pb2.AddDncRequest(phone_number="x")] * 1000)

    def messages() -> Iterator[dnc_pb2.ImportDncRequest]:
        yield dnc_pb2.ImportDncRequest(entries=[dnc_pb2.AddDncRequest(phone_number="19175550000")])
        for _ in range(1000):
            yield message

    response = stub.ImportDnc(messages(), metadata=org.metadata, timeout=300)
    assert (response.added, response.already_listed, response.invalid) == (1, 0, 1_000_000)
    assert [error.row for error in response.errors] == list(range(1, 1001))
    assert len(entries_of(mongo_db, org)) == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (dnc_pb2.ImportDncRequest(), "entries"),
        (
            dnc_pb2.ImportDncRequest(entries=[dnc_pb2.AddDncRequest(phone_number="1")] * 1001),
            "entries",
        ),
        (
            dnc_pb2.ImportDncRequest(
                entries=[dnc_pb2.AddDncRequest(phone_number="19175550001")], region="ZZ"
            ),
            "region",
        ),
        (
            dnc_pb2.ImportDncRequest(
                entries=[dnc_pb2.AddDncRequest(phone_number="19175550001")], dry_run=True
            ),
            "dry_run",
        ),
    ],
)
def test_a_bad_message_fails_the_import(
    stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    bad: dnc_pb2.ImportDncRequest,
    field: str,
) -> None:
    org = new_org()
    good = dnc_pb2.ImportDncRequest(entries=[dnc_pb2.AddDncRequest(phone_number="19175550002")])
    with pytest.raises(grpc.RpcError) as raised:
        stub.ImportDnc(iter([good, bad]), metadata=org.metadata, timeout=10)
    error: grpc.Call = raised.value  # type: ignore[assignment]  # the raised error is the call
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (error.details() or "")
    # The message before the bad one was written whole (an import is safe to run again).
    assert [doc["phoneE164"] for doc in entries_of(mongo_db, org)] == ["+19175550002"]
    assert len(audit_of(mongo_db, org)) == 1


def test_an_import_without_messages_is_invalid(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ImportDnc(import_requests([]), metadata=new_org().metadata, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
