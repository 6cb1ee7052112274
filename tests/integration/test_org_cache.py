"""The optional user -> organization cache: off by default; when on, bounded by its TTL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from pymongo import AsyncMongoClient
from pymongo.database import Database

from data_support import Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.errors import Unauthenticated
from dnc_service.store import UsersStore
from service_support import service_env, start_service


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


def test_with_the_cache_setting_a_moved_user_keeps_the_old_organization(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory, tmp_path: Path
) -> None:
    """DNC_ORG_CACHE_TTL_SECONDS turns the cache on in the real service (expiry: below)."""
    env = service_env(mongo_uri, mongo_db.name, DNC_ORG_CACHE_TTL_SECONDS="3600")
    with (
        start_service(env, tmp_path / "service.log") as service,
        grpc.insecure_channel(service.target) as channel,
    ):
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        first, second = new_org(entries=1), new_org(entries=1)
        assert org_seen(stub, first) == {str(first.org_id)}
        mongo_db.users.update_one({"_id": first.user_id}, {"$set": {"orgId": second.org_id}})
        assert org_seen(stub, first) == {str(first.org_id)}


class Clock:
    """The cache's time, advanced by the test instead of slept through."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cached_organizations_expire_with_the_ttl_and_failures_are_not_cached(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    first, second = new_org(), new_org()
    user = str(first.user_id)
    clock = Clock()

    async def run() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri)
        try:
            users = UsersStore(client[mongo_db.name].users, 5.0, 100, timer=clock)
            assert await users.organization_of(user) == str(first.org_id)
            mongo_db.users.update_one({"_id": first.user_id}, {"$set": {"orgId": second.org_id}})
            clock.now += 4.9
            assert await users.organization_of(user) == str(first.org_id)  # within the TTL
            clock.now += 0.2
            assert await users.organization_of(user) == str(second.org_id)  # expired: re-read
            # A user removed meanwhile is refused once the entry has expired...
            mongo_db.users.delete_one({"_id": first.user_id})
            clock.now += 5.1
            with pytest.raises(Unauthenticated):
                await users.organization_of(user)
            # ...and the refusal is not remembered: the user, back, is found at once.
            mongo_db.users.insert_one({"_id": first.user_id, "orgId": first.org_id})
            assert await users.organization_of(user) == str(first.org_id)
        finally:
            await client.close()

    asyncio.run(run())
