"""The optional user -> organization cache: off by default; when on, bounded by its TTL."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
from pymongo.database import Database

from data_support import Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from service_support import service_env, start_service
from support import wait_until


def org_seen(stub: dnc_pb2_grpc.DncServiceStub, org: Org) -> set[str]:
    response = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    return {entry.org_id for entry in response.dnc_list}


def test_without_cache_a_moved_user_sees_the_new_organization_at_once(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    first, second = new_org(entries=1), new_org(entries=1)
    assert org_seen(stub, first) == {str(first.org_id)}
    mongo_db.users.update_one({"_id": first.user_id}, {"$set": {"orgId": second.org_id}})
    assert org_seen(stub, first) == {str(second.org_id)}


def test_with_cache_a_moved_user_keeps_the_old_organization_until_the_ttl(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory, tmp_path: Path
) -> None:
    """A real process's clock cannot be injected: check at once, then poll for the expiry."""
    ttl = 2.0
    env = service_env(mongo_uri, mongo_db.name, DNC_ORG_CACHE_TTL_SECONDS=str(ttl))
    with (
        start_service(env, tmp_path / "service.log") as service,
        grpc.insecure_channel(service.target) as channel,
    ):
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        first, second = new_org(entries=1), new_org(entries=1)
        cached_at = time.monotonic()  # the entry is cached at or after this instant
        assert org_seen(stub, first) == {str(first.org_id)}
        mongo_db.users.update_one({"_id": first.user_id}, {"$set": {"orgId": second.org_id}})
        assert org_seen(stub, first) == {str(first.org_id)}  # at once: the cached answer
        wait_until(lambda: org_seen(stub, first) == {str(second.org_id)}, timeout=ttl + 10)
        assert time.monotonic() - cached_at >= ttl  # not before the TTL (one monotonic clock)

        # A user deleted meanwhile is still served from the cache, and refused once it expires.
        mongo_db.users.delete_one({"_id": first.user_id})
        assert org_seen(stub, first) == {str(second.org_id)}
        unauthenticated = grpc.StatusCode.UNAUTHENTICATED
        wait_until(lambda: failure_code(stub, first) == unauthenticated, timeout=ttl + 10)


def failure_code(stub: dnc_pb2_grpc.DncServiceStub, org: Org) -> grpc.StatusCode | None:
    """The code a call fails with, or None while it still succeeds."""
    try:
        org_seen(stub, org)
    except grpc.RpcError as error:
        return error.code()
    return None
