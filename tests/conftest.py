"""The fixtures that start the real stack: MongoDB (MONGODB_URI, else a FerretDB we start) and
the servers. Helpers live in the support modules; nothing imports this file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from bson import ObjectId
from hypothesis import HealthCheck, settings
from pymongo import MongoClient
from pymongo.database import Database

from data_support import (
    Document,
    Org,
    OrgFactory,
    TokenFactory,
    make_token,
    seed_org,
)
from devtools import ferretdb
from dnc.v1 import dnc_pb2_grpc
from gateway_support import Gateway, GatewayFactory, gateway_env, start_gateway
from service_support import Service, service_env, start_service

# Property tests check what is true of every input, not how fast: on a shared 2-core machine
# running servers beside them, hypothesis's per-example deadline would only add flaky failures.
settings.register_profile(
    "dnc", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("dnc")


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URI when set (a real MongoDB), otherwise a FerretDB started for this session."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    server = ferretdb.start(tmp_path_factory.mktemp("ferretdb"))
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mongo_db(mongo_uri: str) -> Iterator[Database[Document]]:
    """A database of this session's own, dropped at the end."""
    client: MongoClient[Document] = MongoClient(mongo_uri, tz_aware=True)
    db = client[f"dnc_test_{uuid.uuid4().hex[:12]}"]
    try:
        yield db
    finally:
        client.drop_database(db.name)
        client.close()


@pytest.fixture(scope="session")
def grpc_service(
    mongo_uri: str, mongo_db: Database[Document], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The gRPC service shared by the session's tests (they never stop it)."""
    log_path = tmp_path_factory.mktemp("service") / "dnc_service.log"
    with start_service(service_env(mongo_uri, mongo_db.name), log_path) as service:
        yield service


@pytest.fixture(scope="session")
def channel(grpc_service: Service) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(grpc_service.target) as channel:
        yield channel


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> dnc_pb2_grpc.DncServiceStub:
    return dnc_pb2_grpc.DncServiceStub(channel)


@pytest.fixture(scope="session", name="make_token")
def make_token_fixture() -> TokenFactory:
    """`make_token(user_id, **claims)`, as a fixture for the tests that take it."""
    return make_token


@pytest.fixture
def new_org(mongo_db: Database[Document]) -> OrgFactory:
    """`new_org(entries=N | [docs], org_id=None)`: data_support.seed_org in the session's
    database."""

    def create(entries: int | list[Document] = 0, org_id: ObjectId | None = None) -> Org:
        return seed_org(mongo_db, entries, org_id)

    return create


@pytest.fixture(scope="session")
def gateway(grpc_service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A real `python -m gateway` in front of the session's gRPC service (tests never stop it)."""
    log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with start_gateway(gateway_env(grpc_service.target), log_path) as started:
        yield started


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[GatewayFactory]:
    """`gateway_factory(grpc_target, expect_serving=True, **env)`: a test's own gateway."""
    started: list[Gateway] = []

    def start(grpc_target: str, expect_serving: bool = True, **overrides: str) -> Gateway:
        log_path = tmp_path / f"gateway-{len(started)}.log"
        env = gateway_env(grpc_target, **overrides)
        started.append(start_gateway(env, log_path, expect_serving=expect_serving))
        return started[-1]

    try:
        yield start
    finally:
        for each in started:
            each.process.kill()
