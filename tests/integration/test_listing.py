"""Listing through the real gRPC server: defaults, page math, order, and walking every page."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from bson import ObjectId

from data_support import BASE_TIME, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


def list_dnc(
    stub: dnc_pb2_grpc.DncServiceStub, org_metadata: object, **fields: object
) -> dnc_pb2.ListDncResponse:
    return stub.ListDnc(dnc_pb2.ListDncRequest(**fields), metadata=org_metadata, timeout=10)  # type: ignore[arg-type]


def ids(response: dnc_pb2.ListDncResponse) -> list[str]:
    return [entry.id for entry in response.dnc_list]


def test_defaults_are_page_1_and_limit_10(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=12)
    response = list_dnc(stub, org.metadata)
    assert ids(response) == [str(e["_id"]) for e in org.entries[:10]]
    assert (response.pagination.page, response.pagination.limit) == (1, 10)
    assert (response.pagination.total, response.pagination.total_pages) == (12, 2)


def test_entry_fields_render_from_the_document(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    [stored] = org.entries
    [entry] = list_dnc(stub, org.metadata).dnc_list
    assert entry.id == str(stored["_id"])
    assert entry.org_id == str(org.org_id)
    assert entry.phone_number == stored["phoneNumber"]
    assert entry.type == stored["type"]
    assert entry.batch_id == str(stored["batchId"])
    assert entry.request_uuid == stored["requestUUID"]
    assert entry.call_recording == stored["callRecording"]
    assert entry.transcription == stored["transcription"]
    assert entry.created_at.ToDatetime().replace(tzinfo=BASE_TIME.tzinfo) == stored["createdAt"]


@pytest.mark.parametrize(
    ("total", "limit", "pages"),
    [(0, 10, 0), (1, 10, 1), (10, 10, 1), (11, 10, 2), (7, 3, 3), (5, 1, 5)],
)
def test_total_pages_is_ceil_of_total_over_limit(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, total: int, limit: int, pages: int
) -> None:
    org = new_org(entries=total)
    response = list_dnc(stub, org.metadata, limit=limit)
    assert response.pagination.total == total
    assert response.pagination.total_pages == pages == math.ceil(total / limit)
    assert len(response.dnc_list) == min(limit, total)


def test_a_page_past_the_end_is_empty_with_the_same_pagination(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=5)
    response = list_dnc(stub, org.metadata, page=4, limit=2)
    assert list(response.dnc_list) == []
    assert (response.pagination.total, response.pagination.page) == (5, 4)
    assert (response.pagination.limit, response.pagination.total_pages) == (2, 3)


def test_newest_first_with_id_breaking_ties(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    same_time = [make_entry(org_id, n, BASE_TIME) for n in range(4)]
    older = make_entry(org_id, 9, BASE_TIME - timedelta(days=1))
    newer = make_entry(org_id, 8, BASE_TIME + timedelta(days=1))
    org = new_org(entries=[older, *same_time, newer], org_id=org_id)
    response = list_dnc(stub, org.metadata, limit=10)
    expected = [newer["_id"], *sorted((e["_id"] for e in same_time), reverse=True), older["_id"]]
    assert ids(response) == [str(i) for i in expected]


def test_walking_all_pages_yields_every_entry_exactly_once(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    # Many ties on createdAt: only the _id tie-break keeps pages from overlapping.
    docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n // 4)) for n in range(23)]
    org = new_org(entries=docs, org_id=org_id)
    seen: list[str] = []
    for page in range(1, 6):
        seen += ids(list_dnc(stub, org.metadata, page=page, limit=5))
    assert seen == [str(e["_id"]) for e in org.entries]
    assert len(set(seen)) == 23


@pytest.mark.parametrize(("limit", "page", "count"), [(100, 1, 100), (100, 2, 50), (51, 2, 51)])
def test_the_largest_limits_return_exactly_that_many_entries(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, limit: int, page: int, count: int
) -> None:
    """No silent cap below 100: a page holds `limit` entries whenever that many remain."""
    org = new_org(entries=150)
    response = list_dnc(stub, org.metadata, page=page, limit=limit)
    start = (page - 1) * limit
    assert ids(response) == [str(e["_id"]) for e in org.entries[start : start + count]]
    assert (response.pagination.limit, response.pagination.page) == (limit, page)
    assert response.pagination.total == 150
    assert response.pagination.total_pages == math.ceil(150 / limit)


def test_a_page_token_after_100_entries_resumes_at_the_101st(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=150)
    first = list_dnc(stub, org.metadata, limit=100)
    assert len(first.dnc_list) == 100
    rest = list_dnc(stub, org.metadata, page_token=first.next_page_token, limit=100)
    assert ids(rest) == [str(e["_id"]) for e in org.entries[100:]]
    assert (rest.pagination.page, rest.pagination.total, rest.next_page_token) == (2, 150, "")
