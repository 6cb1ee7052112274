"""The optional user -> organization cache: off by default; when on, bounded by its TTL."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from pymongo.database import Database

from conftest import Document, Org, OrgFactory, service_env, start_service
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


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
    env = service_env(mongo_uri, mongo_db.name, DNC_ORG_CACHE_TTL_SECONDS="1.5")
    service = start_service(env, tmp_path / "service.log")
    try:
        with grpc.insecure_channel(service.target) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            first, second = new_org(entries=1), new_org(entries=1)
            assert org_seen(stub, first) == {str(first.org_id)}
            moved = time.monotonic()
            mongo_db.users.update_one({"_id": first.user_id}, {"$set": {"orgId": second.org_id}})
            assert org_seen(stub, first) == {str(first.org_id)}
            assert time.monotonic() - moved < 1.5  # still within the TTL: the cached answer
            time.sleep(1.6)
            assert org_seen(stub, first) == {str(second.org_id)}
            # A user deleted meanwhile is refused once the entry has expired.
            mongo_db.users.delete_one({"_id": first.user_id})
            time.sleep(1.6)
            with pytest.raises(grpc.RpcError) as raised:
                org_seen(stub, first)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        service.process.terminate()
