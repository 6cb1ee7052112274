"""Bad page, limit or search is INVALID_ARGUMENT with a message that says what to fix."""

from __future__ import annotations

import grpc
import pytest

from data_support import OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"page": 0}, "page must be an integer >= 1, got 0"),
        ({"page": -3}, "page must be an integer >= 1, got -3"),
        ({"limit": 0}, "limit must be an integer from 1 to 100, got 0"),
        ({"limit": 101}, "limit must be an integer from 1 to 100, got 101"),
        ({"limit": -1}, "limit must be an integer from 1 to 100, got -1"),
        ({"search": "x" * 129}, "search must be at most 128 characters, got 129"),
        ({"search": "abc\x00def"}, "search must not contain control characters"),
    ],
)
def test_invalid_arguments(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, fields: dict[str, object], message: str
) -> None:
    org = new_org(entries=1)
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDnc(dnc_pb2.ListDncRequest(**fields), metadata=org.metadata, timeout=10)  # type: ignore[arg-type]
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == message


@pytest.mark.parametrize("fields", [{"page": 1, "limit": 1}, {"limit": 100}, {"search": "é" * 128}])
def test_bounds_are_inclusive(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, fields: dict[str, object]
) -> None:
    org = new_org(entries=1)
    response = stub.ListDnc(dnc_pb2.ListDncRequest(**fields), metadata=org.metadata, timeout=10)  # type: ignore[arg-type]
    assert response.pagination.page == 1
