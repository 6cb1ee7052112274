"""Machine-readable errors through the real service: google.rpc details in the status trailer."""

from __future__ import annotations

import json
import time
from typing import Any

import grpc
import pytest
from bson import ObjectId
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status
from pymongo.database import Database

from data_support import Document, OrgFactory, TokenFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import Gateway, error_envelope
from service_support import Service
from support import grpcurl

DETAILS_TRAILER = "grpc-status-details-bin"


def failed_call(
    stub: dnc_pb2_grpc.DncServiceStub, request: dnc_pb2.ListDncRequest, token: str
) -> Any:
    """The error of a ListDnc call expected to fail (a grpc.RpcError that is also a grpc.Call)."""
    metadata = (("authorization", f"Bearer {token}"),)
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDnc(request, metadata=metadata, timeout=10)
    return raised.value


def rich_status(error: Any) -> Any:
    """The google.rpc.Status of the call; from_call also checks its code and message match."""
    status = rpc_status.from_call(error)
    assert status is not None, f"no {DETAILS_TRAILER} trailer: {error.trailing_metadata()}"
    assert isinstance(status, status_pb2.Status)
    return status


def only_detail(status: Any, kind: Any) -> Any:
    [packed] = status.details
    detail = kind()
    assert packed.Unpack(detail), packed.type_url
    return detail


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"page": 0}, "page"),
        ({"search": "x" * 129}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"page_token": "not-a-token"}, "page_token"),
        # A message-level rule (page_xor_page_token): the violation is the request's own.
        ({"page": 2, "page_token": "abc"}, ""),
    ],
)
def test_invalid_argument_names_the_field(
    stub: dnc_pb2_grpc.DncServiceStub,
    new_org: OrgFactory,
    request_fields: dict[str, Any],
    field: str,
) -> None:
    org = new_org()
    error = failed_call(stub, dnc_pb2.ListDncRequest(**request_fields), org.token)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rich_status(error)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    bad_request = only_detail(status, error_details_pb2.BadRequest)
    [violation] = bad_request.field_violations
    assert violation.field == field
    assert violation.description == error.details()  # the same text as the status message


def test_a_bad_limit_keeps_the_organization_trailer(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    error = failed_call(stub, dnc_pb2.ListDncRequest(limit=500), org.token)
    trailers = dict(error.trailing_metadata())
    assert trailers["dnc-org-id"] == str(org.org_id)
    assert DETAILS_TRAILER in trailers


def error_info(error: Any) -> Any:
    info = only_detail(rich_status(error), error_details_pb2.ErrorInfo)
    assert info.domain == "dnc.v1"
    return info


def test_an_expired_token_is_token_expired(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org()
    token = make_token(str(org.user_id), exp=int(time.time()) - 60)
    error = failed_call(stub, dnc_pb2.ListDncRequest(), token)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "bearer token expired",
    )
    assert error_info(error).reason == "TOKEN_EXPIRED"


def test_a_user_without_organization_is_no_organization(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], make_token: TokenFactory
) -> None:
    user_id = mongo_db.users.insert_one({"name": "no org"}).inserted_id
    error = failed_call(stub, dnc_pb2.ListDncRequest(), make_token(str(user_id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(error).reason == "NO_ORGANIZATION"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "TOKEN_MISSING"),
        ("Basic dXNlcjpwYXNz", "TOKEN_MALFORMED"),
        ("Bearer " + "a" * 5000, "TOKEN_TOO_LARGE"),
        ("Bearer eyJhbGciOi.garbage.garbage", "TOKEN_MALFORMED"),
    ],
)
def test_each_refused_token_has_its_reason(
    stub: dnc_pb2_grpc.DncServiceStub, authorization: str | None, reason: str
) -> None:
    metadata = () if authorization is None else (("authorization", authorization),)
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(error).reason == reason


def test_an_unknown_user_is_unknown_user(
    stub: dnc_pb2_grpc.DncServiceStub, make_token: TokenFactory
) -> None:
    error = failed_call(stub, dnc_pb2.ListDncRequest(), make_token(str(ObjectId())))
    assert error_info(error).reason == "UNKNOWN_USER"


def test_grpcurl_prints_the_details(grpc_service: Service, new_org: OrgFactory) -> None:
    org = new_org()
    result = grpcurl(
        "-plaintext", "-format-error", "-H", f"authorization: Bearer {org.token}",
        "-d", '{"limit": 500}', grpc_service.target, "dnc.v1.DncService/ListDnc",
    )  # fmt: skip
    assert result.returncode != 0
    printed = json.loads(result.stdout or result.stderr)
    assert printed["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert printed["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "field_violations": [
                {"field": "limit", "description": "limit must be an integer from 1 to 100, got 500"}
            ],
        }
    ]


def test_the_gateway_envelope_ignores_the_details(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    body = error_envelope(gateway.get("/api/dnc/list?limit=500", org.token), 400)
    assert body["errorMessage"] == "limit must be an integer from 1 to 100, got 500"
    assert "fieldViolations" not in json.dumps(body)
