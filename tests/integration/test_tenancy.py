"""Organizations never see each other's entries, whatever they ask for."""

from __future__ import annotations

import pytest
from bson import ObjectId

from data_support import BASE_TIME, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


@pytest.mark.parametrize("text", ["", "12125550001", "customer", "+1 (212) 555"])
def test_overlapping_numbers_stay_in_their_organization(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, text: str
) -> None:
    first_id, second_id = ObjectId(), ObjectId()
    first = new_org(org_id=first_id, entries=[make_entry(first_id, n, BASE_TIME) for n in range(3)])
    second = new_org(
        org_id=second_id, entries=[make_entry(second_id, n, BASE_TIME) for n in range(3)]
    )
    for org in (first, second):
        response = stub.ListDnc(
            dnc_pb2.ListDncRequest(search=text, limit=100), metadata=org.metadata, timeout=10
        )
        assert {entry.org_id for entry in response.dnc_list} == {str(org.org_id)}
        assert {entry.id for entry in response.dnc_list} <= {str(e["_id"]) for e in org.entries}
        assert response.pagination.total == len(response.dnc_list) > 0


def test_two_users_of_one_organization_see_the_same_list(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    first = new_org(entries=4)
    colleague = new_org(org_id=first.org_id)
    responses = [
        stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
        for org in (first, colleague)
    ]
    assert responses[0] == responses[1]
    assert len(responses[0].dnc_list) == 4
