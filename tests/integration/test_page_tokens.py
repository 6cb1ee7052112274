"""Keyset pagination with page tokens: each entry once, stable under inserts, bound to a search."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


def walk(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org, limit: int, search: str = ""
) -> list[dnc_pb2.ListDncResponse]:
    pages = [
        stub.ListDnc(
            dnc_pb2.ListDncRequest(limit=limit, search=search), metadata=org.metadata, timeout=10
        )
    ]
    while pages[-1].next_page_token:
        request = dnc_pb2.ListDncRequest(
            limit=limit, search=search, page_token=pages[-1].next_page_token
        )
        pages.append(stub.ListDnc(request, metadata=org.metadata, timeout=10))
        assert len(pages) < 50
    return pages


def ids(pages: list[dnc_pb2.ListDncResponse]) -> list[str]:
    return [entry.id for page in pages for entry in page.dnc_list]


def test_tokens_walk_every_entry_once_in_order(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n // 3)) for n in range(22)]
    docs += [
        make_entry(org_id, 90, BASE_TIME, createdAt=None),
        make_entry(org_id, 91, BASE_TIME, createdAt=None),
    ]
    org = new_org(entries=docs, org_id=org_id)
    pages = walk(stub, org, limit=5)
    assert ids(pages) == [str(e["_id"]) for e in org.entries]
    assert [p.pagination.page for p in pages] == [1, 2, 3, 4, 5]
    assert {p.pagination.total for p in pages} == {24}
    assert pages[-1].next_page_token == ""


def test_offset_pages_and_tokens_agree(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=12)
    first = stub.ListDnc(dnc_pb2.ListDncRequest(limit=4, page=2), metadata=org.metadata, timeout=10)
    by_token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=4, page_token=first.next_page_token),
        metadata=org.metadata,
        timeout=10,
    )
    by_page = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=4, page=3), metadata=org.metadata, timeout=10
    )
    assert by_token.dnc_list == by_page.dnc_list
    assert by_token.pagination == by_page.pagination


def test_tokens_are_stable_under_inserts(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org(entries=10)
    first = stub.ListDnc(dnc_pb2.ListDncRequest(limit=5), metadata=org.metadata, timeout=10)
    # New entries land at the top; an offset page 2 would now repeat entries of page 1.
    mongo_db.dnc_entries.insert_many(
        [make_entry(org.org_id, 100 + n, BASE_TIME + timedelta(days=1)) for n in range(3)]
    )
    second = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=5, page_token=first.next_page_token),
        metadata=org.metadata,
        timeout=10,
    )
    assert [e.id for e in second.dnc_list] == [str(e["_id"]) for e in org.entries[5:10]]


def test_tokens_follow_the_search(stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory) -> None:
    org_id = ObjectId()
    docs = [
        make_entry(
            org_id, n, BASE_TIME - timedelta(minutes=n), type="complaint" if n % 2 else "other"
        )
        for n in range(9)
    ]
    org = new_org(entries=docs, org_id=org_id)
    pages = walk(stub, org, limit=2, search="COMPLAINT")
    assert ids(pages) == [str(e["_id"]) for e in org.entries if e["type"] == "complaint"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"page_token": "not a token"}, "page_token is not valid"),
        ({"page_token": "eyJ2IjoxfQ"}, "page_token is not valid"),
        ({"page_token": "x" * 300}, "page_token is not valid"),
    ],
)
def test_bad_tokens_are_invalid_arguments(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, fields: dict[str, str], message: str
) -> None:
    org = new_org(entries=1)
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDnc(dnc_pb2.ListDncRequest(**fields), metadata=org.metadata, timeout=10)  # type: ignore[arg-type]
    assert (raised.value.code(), raised.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        message,
    )


def test_a_token_is_bound_to_its_search_and_excludes_page(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=1), metadata=org.metadata, timeout=10
    ).next_page_token
    for request, message in [
        (
            dnc_pb2.ListDncRequest(limit=1, page_token=token, search="x"),
            "page_token was issued for a different search",
        ),
        (
            dnc_pb2.ListDncRequest(limit=1, page_token=token, page=2),
            "give page or page_token, not both",
        ),
    ]:
        with pytest.raises(grpc.RpcError) as raised:
            stub.ListDnc(request, metadata=org.metadata, timeout=10)
        assert (raised.value.code(), raised.value.details()) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            message,
        )


def test_odd_created_at_rows_fall_back_to_offsets(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n)) for n in range(3)]
    docs += [make_entry(org_id, 10 + n, BASE_TIME, createdAt=f"2020-01-0{n + 1}") for n in range(3)]
    org = new_org(entries=docs, org_id=org_id)
    pages = walk(stub, org, limit=2)
    assert ids(pages) == [str(e["_id"]) for e in org.entries]
    assert len(pages) == 3
