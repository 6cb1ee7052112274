"""Every way a call can fail to prove who it is, through the real server and database."""

from __future__ import annotations

import time

import grpc
import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import Document, OrgFactory, TokenFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from support import JWT_SECRET

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def call(stub: dnc_pb2_grpc.DncServiceStub, metadata: tuple[tuple[str, str], ...]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
    error: grpc.RpcError = raised.value
    return error


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def test_missing_metadata(stub: dnc_pb2_grpc.DncServiceStub) -> None:
    error = call(stub, ())
    assert error.code() == UNAUTHENTICATED
    assert "missing bearer token" in str(error.details())


@pytest.mark.parametrize(
    "value",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "bearer abc.def.ghi",
        "Token abc.def.ghi",
        "Bearer not-a-jwt",
    ],
)
def test_not_a_bearer_jwt(stub: dnc_pb2_grpc.DncServiceStub, value: str) -> None:
    assert call(stub, (("authorization", value),)).code() == UNAUTHENTICATED


def test_garbage_token(stub: dnc_pb2_grpc.DncServiceStub) -> None:
    error = call(stub, bearer("eyJhbGciOi.garbage.garbage"))
    assert (error.code(), error.details()) == (UNAUTHENTICATED, "invalid bearer token")


def test_bad_signature(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org()
    token = make_token(str(org.user_id), key="another-secret-another-secret-0123456")
    assert call(stub, bearer(token)).code() == UNAUTHENTICATED


def test_expired(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org()
    error = call(stub, bearer(make_token(str(org.user_id), exp=int(time.time()) - 60)))
    assert (error.code(), error.details()) == (UNAUTHENTICATED, "bearer token expired")


def test_alg_none_is_rejected(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org(entries=1)
    token = make_token(str(org.user_id), key="", algorithm="none")
    assert call(stub, bearer(token)).code() == UNAUTHENTICATED


def test_other_algorithm_with_the_same_secret_is_rejected(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org(entries=1)
    token = make_token(str(org.user_id), key=JWT_SECRET + "x" * 32, algorithm="HS512")
    assert call(stub, bearer(token)).code() == UNAUTHENTICATED


@pytest.mark.parametrize("claim", ["sub", "exp"])
def test_required_claims(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory, claim: str
) -> None:
    org = new_org()
    assert (
        call(stub, bearer(make_token(str(org.user_id), **{claim: None}))).code() == UNAUTHENTICATED
    )


@pytest.mark.parametrize("sub", ["not-an-object-id", "12345", "zzzzzzzzzzzzzzzzzzzzzzzz", " " * 24])
def test_sub_not_an_object_id(
    stub: dnc_pb2_grpc.DncServiceStub, make_token: TokenFactory, sub: str
) -> None:
    error = call(stub, bearer(make_token(sub)))
    assert error.code() == UNAUTHENTICATED


def test_unknown_user(stub: dnc_pb2_grpc.DncServiceStub, make_token: TokenFactory) -> None:
    error = call(stub, bearer(make_token(str(ObjectId()))))
    assert (error.code(), error.details()) == (
        UNAUTHENTICATED,
        "invalid bearer token: unknown user",
    )


@pytest.mark.parametrize("org_field", [{}, {"orgId": None}, {"orgId": "not-an-id"}, {"orgId": 42}])
def test_user_without_organization_is_permission_denied(
    stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    make_token: TokenFactory,
    org_field: Document,
) -> None:
    user_id = mongo_db.users.insert_one({"name": "orphan", **org_field}).inserted_id
    error = call(stub, bearer(make_token(str(user_id))))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_oversized_token(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org()
    token = make_token(str(org.user_id), padding="x" * 4000)
    error = call(stub, bearer(token))
    assert (error.code(), error.details()) == (UNAUTHENTICATED, "bearer token too large")


def test_metadata_over_grpc_limit_is_refused_by_the_transport(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = new_org()
    token = make_token(str(org.user_id), padding="x" * 20000)
    assert call(stub, bearer(token)).code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_the_request_cannot_choose_the_organization(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory
) -> None:
    mine, theirs = new_org(entries=1), new_org(entries=2)
    # An orgId claim is not how tenancy is decided: the user's account is.
    token = make_token(str(mine.user_id), orgId=str(theirs.org_id))
    response = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=bearer(token), timeout=10)
    assert [entry.org_id for entry in response.dnc_list] == [str(mine.org_id)]


def test_a_valid_token_is_accepted(stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory) -> None:
    org = new_org(entries=2)
    response = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    assert len(response.dnc_list) == 2


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, scheme: str
) -> None:
    org = new_org(entries=1)
    metadata = (("authorization", f"{scheme} {org.token}"),)
    response = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
    assert len(response.dnc_list) == 1


@pytest.mark.parametrize("exp", [str(int(time.time()) + 600), 1e308, 10**30, True, [1]])
def test_an_expiry_that_is_not_a_near_number_is_refused(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, make_token: TokenFactory, exp: object
) -> None:
    org = new_org()
    assert call(stub, bearer(make_token(str(org.user_id), exp=exp))).code() == UNAUTHENTICATED
