"""CheckDnc: before dialing, whether each number is on the caller's list, in request order."""

from __future__ import annotations

import grpc
from bson import Int64

from data_support import BASE_TIME, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from management_support import add, rpc_error


def check(
    stub: dnc_pb2_grpc.DncServiceStub, metadata: tuple[tuple[str, str], ...], *numbers: str
) -> list[dnc_pb2.CheckResult]:
    request = dnc_pb2.CheckDncRequest(phone_numbers=list(numbers))
    return list(stub.CheckDnc(request, metadata=metadata, timeout=10).results)


def test_each_number_is_answered_in_request_order(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    listed = add(stub, org, "12125550500", type="complaint")
    untyped = add(stub, org, "442079460500")
    asked = ["+1 (212) 555-0500", "12125550599", "911", "+44 20 7946 0500", "", "1.212.555.0500"]
    results = check(stub, org.metadata, *asked)
    assert [r.input for r in results] == asked
    assert [r.listed for r in results] == [True, False, False, True, False, True]
    assert [r.phone_e164 for r in results] == [
        "+12125550500", "+12125550599", "", "+442079460500", "", "+12125550500",
    ]  # fmt: skip
    first = results[0]
    assert (first.entry_id, first.type, first.error) == (listed.id, "complaint", "")
    assert first.created_at == listed.created_at
    assert (results[3].entry_id, results[3].type) == (untyped.id, "")
    assert results[2].error
    assert results[4].error
    assert not results[1].error
    assert not results[1].entry_id
    assert not results[1].HasField("created_at")


def test_another_organizations_numbers_are_not_listed_for_me(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    owner, other = new_org(), new_org()
    add(stub, owner, "12125550501")
    assert [r.listed for r in check(stub, other.metadata, "12125550501")] == [False]
    assert [r.listed for r in check(stub, owner.metadata, "12125550501")] == [True]


def test_a_legacy_row_is_checked_before_any_migrate(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    # Rows without phoneE164 are found too (store/lookup.py; test_stored_forms.py has them all).
    org = new_org(
        entries=[
            {"phoneNumber": Int64(12125550502), "createdAt": BASE_TIME},
            {"phoneNumber": "12125550503", "phoneE164": "+12125550503", "createdAt": BASE_TIME},
        ]
    )
    results = check(stub, org.metadata, "12125550502", "12125550503")
    assert [r.listed for r in results] == [True, True]
    assert [r.entry_id for r in results] == [str(entry["_id"]) for entry in org.entries[::-1]]


def test_no_numbers_or_too_many_is_invalid_argument(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    for numbers in ([], ["12125550504"] * 1001):
        request = dnc_pb2.CheckDncRequest(phone_numbers=numbers)
        error = rpc_error(stub.CheckDnc, request, metadata=org.metadata)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "phone_numbers" in (error.details() or "")
    assert len(check(stub, org.metadata, *["12125550504"] * 1000)) == 1000


def test_check_needs_a_token(stub: dnc_pb2_grpc.DncServiceStub) -> None:
    error = rpc_error(stub.CheckDnc, dnc_pb2.CheckDncRequest(phone_numbers=["12125550505"]))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_region_reads_national_numbers(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    listed = add(stub, org, "(212) 555-0506", region="US")
    assert listed.phone_number == "12125550506"
    request = dnc_pb2.CheckDncRequest(
        phone_numbers=["212.555.0506", "+1 212 555 0506"], region="us"
    )
    results = stub.CheckDnc(request, metadata=org.metadata, timeout=10).results
    assert [(r.listed, r.entry_id) for r in results] == [(True, listed.id), (True, listed.id)]
    unknown = dnc_pb2.CheckDncRequest(phone_numbers=["2125550506"], region="ZZ")
    error = rpc_error(stub.CheckDnc, unknown, metadata=org.metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "region" in (error.details() or "")
