"""Never a false "not listed" (issue 18 finding 5): rows other systems wrote without phoneE164,
their number as digits, int64, double or punctuated text, are found by every lookup by number
(CheckDnc, AddDnc's and BatchAddDnc's "already listed"), before any `migrate`."""

from __future__ import annotations

import grpc
from bson import Int64
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from management_support import entries_of, rpc_error

ALREADY_LISTED = dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED
# The forms of issue 18 finding 5, one number each.
STORED = {
    "+12125559999": "12125559999",
    "+12125559998": Int64(12125559998),
    "+12125559997": "+1 (212) 555-9997",
    "+12125559996": 12125559996.0,
}


def legacy_org(new_org: OrgFactory) -> tuple[Org, dict[str, str]]:
    """An organization whose rows lack phoneE164; its entry id per E.164 number."""
    org = new_org(
        entries=[{"phoneNumber": value, "createdAt": BASE_TIME} for value in STORED.values()]
    )
    by_value = {repr(entry["phoneNumber"]): str(entry["_id"]) for entry in org.entries}
    return org, {number: by_value[repr(value)] for number, value in STORED.items()}


def check(stub: dnc_pb2_grpc.DncServiceStub, org: Org, *numbers: str) -> list[dnc_pb2.CheckResult]:
    request = dnc_pb2.CheckDncRequest(phone_numbers=list(numbers))
    return list(stub.CheckDnc(request, metadata=org.metadata, timeout=10).results)


def test_check_finds_every_stored_form_with_its_entry(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org, ids = legacy_org(new_org)
    results = check(stub, org, *STORED)
    assert [(r.phone_e164, r.listed, r.entry_id) for r in results] == [
        (number, True, ids[number]) for number in STORED
    ]
    assert all(r.created_at.ToDatetime().year == BASE_TIME.year for r in results)
    # Asked again (now from phoneE164), the answer is the same.
    assert [(r.listed, r.entry_id) for r in check(stub, org, *STORED)] == [
        (True, ids[number]) for number in STORED
    ]


def test_add_answers_already_exists_for_every_stored_form(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org, ids = legacy_org(new_org)
    for number in STORED:
        request = dnc_pb2.AddDncRequest(phone_number=number)
        error = rpc_error(stub.AddDnc, request, metadata=org.metadata)
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
        assert ids[number] in (error.details() or "")
    assert len(entries_of(mongo_db, org)) == len(STORED)  # nothing listed a second time


def test_batch_add_answers_already_listed_for_every_stored_form(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org, ids = legacy_org(new_org)
    request = dnc_pb2.BatchAddDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number=number) for number in STORED]
    )
    results = stub.BatchAddDnc(request, metadata=org.metadata, timeout=10).results
    assert [(r.status, r.entry_id) for r in results] == [
        (ALREADY_LISTED, ids[number]) for number in STORED
    ]
    assert len(entries_of(mongo_db, org)) == len(STORED)


def test_other_organizations_rows_are_left_as_they_are(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org, _ = legacy_org(new_org)
    other, _ = legacy_org(new_org)
    before = entries_of(mongo_db, other)
    assert all(r.listed for r in check(stub, org, *STORED))
    assert entries_of(mongo_db, other) == before
    assert all("phoneE164" not in row for row in before)
    assert [r.listed for r in check(stub, other, "+12125559999")] == [True]


def test_the_same_number_twice_lists_it_once_and_the_other_row_takes_over(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    # A double and a punctuated string of one number: the unique index admits one of them.
    org = new_org(
        entries=[
            {"phoneNumber": 12125559995.0, "createdAt": BASE_TIME},
            {"phoneNumber": "+1 (212) 555-9995", "createdAt": BASE_TIME},
        ]
    )
    ids = {str(entry["_id"]) for entry in org.entries}
    [first] = check(stub, org, "12125559995")
    assert first.listed
    assert first.entry_id in ids
    rows = {str(row["_id"]): row for row in entries_of(mongo_db, org)}
    [other_id] = ids - {first.entry_id}
    assert rows[first.entry_id]["phoneE164"] == "+12125559995"
    # The other row is marked with the number it could not take, so it is not read every time.
    assert "phoneE164" not in rows[other_id]
    assert rows[other_id]["phoneE164Conflict"] == "+12125559995"
    remove = dnc_pb2.RemoveDncRequest(id=first.entry_id)
    stub.RemoveDnc(remove, metadata=org.metadata, timeout=10)
    [after] = check(stub, org, "+1 212 555 9995")
    assert (after.listed, after.entry_id) == (True, other_id)


def test_an_unparseable_row_is_marked_and_answers_nothing(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org(
        entries=[
            {"phoneNumber": "not a number", "createdAt": BASE_TIME},
            {"phoneNumber": "12125559994", "createdAt": BASE_TIME},
        ]
    )
    assert [r.listed for r in check(stub, org, "12125559994", "12125559993")] == [True, False]
    marks = {row["phoneNumber"]: row.get("phoneE164Conflict") for row in entries_of(mongo_db, org)}
    assert marks == {"not a number": "unparseable", "12125559994": None}
