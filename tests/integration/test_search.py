"""Search through the real server: case-insensitive, literal, phone punctuation, per field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from data_support import BASE_TIME, Org, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


def search(stub: dnc_pb2_grpc.DncServiceStub, org: Org, text: str, limit: int = 100) -> list[str]:
    response = stub.ListDnc(
        dnc_pb2.ListDncRequest(search=text, limit=limit), metadata=org.metadata, timeout=10
    )
    assert response.pagination.total == len(response.dnc_list)
    return [entry.id for entry in response.dnc_list]


@pytest.fixture
def org(new_org: OrgFactory) -> Org:
    org_id = ObjectId()
    at = [BASE_TIME - timedelta(minutes=n) for n in range(10)]
    return new_org(
        org_id=org_id,
        entries=[
            make_entry(org_id, 0, at[0], phoneNumber="12125551234", type="Customer_Request"),
            make_entry(org_id, 1, at[1], phoneNumber="447700900123", type="complaint"),
            make_entry(
                org_id, 2, at[2], phoneNumber="33100000002", type="a.*b", requestUUID="AbCdEf-0001"
            ),
            make_entry(
                org_id, 3, at[3], phoneNumber="33100000003", type="x(y", requestUUID="[brackets]"
            ),
            make_entry(
                org_id, 4, at[4], phoneNumber="33100000004", type="back\\slash", requestUUID="plain"
            ),
            make_entry(org_id, 5, at[5], phoneNumber=13105550000, type="legacy_int"),
            make_entry(org_id, 6, at[6], phoneNumber=14155550000.0, type="legacy_double"),
        ],
    )


def ids_of(org: Org, *positions: int) -> list[str]:
    """Ids of the entries created at the given positions, newest first."""
    return [str(org.entries[p]["_id"]) for p in positions]


@pytest.mark.parametrize("text", ["customer_request", "CUSTOMER", "cUsToMeR_rEq"])
def test_type_is_case_insensitive(stub: dnc_pb2_grpc.DncServiceStub, org: Org, text: str) -> None:
    assert search(stub, org, text) == ids_of(org, 0)


@pytest.mark.parametrize("text", ["abcdef-0001", "ABCDEF", "cDeF-00"])
def test_request_uuid_is_case_insensitive(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org, text: str
) -> None:
    assert search(stub, org, text) == ids_of(org, 2)


def test_phone_number_substring(stub: dnc_pb2_grpc.DncServiceStub, org: Org) -> None:
    assert search(stub, org, "7700900") == ids_of(org, 1)


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        (".*", (2,)),
        ("a.*b", (2,)),
        ("(", (3,)),
        ("x(y", (3,)),
        ("[", (3,)),
        ("[brackets]", (3,)),
        ("\\", (4,)),
        ("k\\s", (4,)),
    ],
)
def test_regex_metacharacters_match_literally(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org, text: str, positions: tuple[int, ...]
) -> None:
    assert search(stub, org, text) == ids_of(org, *positions)


@pytest.mark.parametrize(
    "text", ["+1 (212) 555", "1-212-555-1234", "(212) 555.1234", "+1 212 555 1234"]
)
def test_phone_punctuation_matches_by_digits(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org, text: str
) -> None:
    assert search(stub, org, text) == ids_of(org, 0)


@pytest.mark.parametrize(("text", "position"), [("13105550000", 5), ("+1 (415) 555-0000", 6)])
def test_legacy_numeric_phone_numbers_match_the_whole_number(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org, text: str, position: int
) -> None:
    assert search(stub, org, text) == ids_of(org, position)


def test_no_match_is_an_empty_page(stub: dnc_pb2_grpc.DncServiceStub, org: Org) -> None:
    response = stub.ListDnc(
        dnc_pb2.ListDncRequest(search="nothing-like-this"), metadata=org.metadata, timeout=10
    )
    assert list(response.dnc_list) == []
    assert (response.pagination.total, response.pagination.total_pages) == (0, 0)


def test_surrounding_blanks_are_ignored(stub: dnc_pb2_grpc.DncServiceStub, org: Org) -> None:
    assert search(stub, org, "  complaint  ") == ids_of(org, 1)


def test_search_with_pagination_counts_all_matches(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org
) -> None:
    response = stub.ListDnc(
        dnc_pb2.ListDncRequest(search="legacy", limit=1, page=2), metadata=org.metadata, timeout=10
    )
    assert [e.id for e in response.dnc_list] == ids_of(org, 6)
    assert (response.pagination.total, response.pagination.total_pages) == (2, 2)
