"""The real stack for the tests: MongoDB (MONGODB_URI, else a FerretDB we start) and the servers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from devtools import ferretdb
from dnc.v1 import dnc_pb2_grpc
from dnc_service.store.order import LISTING_ORDER
from support import JWT_SECRET, Process, free_port, health_status, wait_until

Document = dict[str, Any]


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URI when set (a real MongoDB), otherwise a FerretDB started for this session."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    server = ferretdb.start(tmp_path_factory.mktemp("ferretdb"))
    yield server.uri
    server.stop()


@pytest.fixture(scope="session")
def mongo_db(mongo_uri: str) -> Iterator[Database[Document]]:
    """A database of this session's own, dropped at the end."""
    client: MongoClient[Document] = MongoClient(mongo_uri, tz_aware=True)
    db = client[f"dnc_test_{uuid.uuid4().hex[:12]}"]
    yield db
    client.drop_database(db.name)
    client.close()


def service_env(mongo_uri: str, database: str, **overrides: str) -> dict[str, str]:
    """The environment a test's `python -m dnc_service` runs with."""
    return {
        "MONGODB_URI": mongo_uri,
        "DNC_MONGODB_DB": database,
        "DNC_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "DNC_JWT_SECRET": JWT_SECRET,
        "DNC_HEALTH_CHECK_INTERVAL_SECONDS": "0.5",
        "DNC_MONGO_SERVER_SELECTION_TIMEOUT_SECONDS": "2",
        "DNC_SHUTDOWN_GRACE_SECONDS": "5",
        "DNC_LOG_LEVEL": "INFO",
        "DNC_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        **overrides,
    }


@dataclass
class Service:
    """A running `python -m dnc_service` and the address it serves."""

    process: Process
    target: str
    env: dict[str, str] = field(default_factory=dict)


def start_service(
    env: dict[str, str],
    log_path: Path,
    expect_serving: bool = True,
    credentials: grpc.ChannelCredentials | None = None,
) -> Service:
    """Start the real gRPC server and wait until it answers health (SERVING when expected)."""
    process = Process("dnc_service", env, log_path)
    target = env["DNC_GRPC_ADDR"]
    wanted = {"SERVING"} if expect_serving else {"SERVING", "NOT_SERVING"}

    def ready() -> bool:
        process.assert_alive()
        return health_status(target, credentials=credentials) in wanted

    try:
        wait_until(ready, timeout=30)
    except BaseException:
        process.kill()
        raise
    return Service(process, target, env)


@pytest.fixture(scope="session")
def grpc_service(
    mongo_uri: str, mongo_db: Database[Document], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The gRPC service shared by the session's tests (they never stop it)."""
    log_path = tmp_path_factory.mktemp("service") / "dnc_service.log"
    service = start_service(service_env(mongo_uri, mongo_db.name), log_path)
    yield service
    service.process.terminate()


@pytest.fixture(scope="session")
def channel(grpc_service: Service) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(grpc_service.target) as channel:
        yield channel


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> dnc_pb2_grpc.DncServiceStub:
    return dnc_pb2_grpc.DncServiceStub(channel)


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def make_token() -> TokenFactory:
    """`make_token(user_id, **claims)`: a valid HS256 token; claims override or (None) remove."""

    def make(user_id: str, key: str = JWT_SECRET, algorithm: str = "HS256", **claims: Any) -> str:
        payload: dict[str, Any] = {"sub": user_id, "exp": int(time.time()) + 600}
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key, algorithm=algorithm)

    return make


@dataclass
class Org:
    """An organization seeded for one test: its user, a token, and its entries newest first."""

    org_id: ObjectId
    user_id: ObjectId
    token: str
    entries: list[Document]

    @property
    def metadata(self) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.token}"),)


def make_entry(org_id: ObjectId, n: int, created_at: datetime, **fields: Any) -> Document:
    """A complete, well-formed entry; `fields` override (None removes a field)."""
    entry: Document = {
        "_id": ObjectId(),
        "phoneNumber": f"1212555{n:04d}",
        "type": "customer_request",
        "orgId": org_id,
        "batchId": ObjectId(),
        "requestUUID": str(uuid.uuid4()),
        "callRecording": f"https://example.com/recordings/{n}.mp3",
        "transcription": "Customer requested to be removed from calling list",
        "createdAt": created_at,
    }
    entry.update(fields)
    return {name: value for name, value in entry.items() if value is not None}


OrgFactory = Callable[..., Org]
BASE_TIME = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)


# The service's one definition of the listing order: a time field, then the id, both descending.
(CREATED_FIELD, _), (ID_FIELD, _) = LISTING_ORDER
assert {direction for _, direction in LISTING_ORDER} == {-1}, "newest_first assumes descending"


def newest_first(entries: list[Document]) -> list[Document]:
    """The service's order, in Python: createdAt descending in BSON order (Dates, then
    strings, then missing; naive Dates as UTC), then _id descending."""

    def key(entry: Document) -> tuple[int, Any, ObjectId]:
        created = entry.get(CREATED_FIELD)
        if isinstance(created, datetime):
            return 2, created if created.tzinfo else created.replace(tzinfo=UTC), entry[ID_FIELD]
        if isinstance(created, str):
            return 1, created, entry[ID_FIELD]
        return 0, 0, entry[ID_FIELD]

    return sorted(entries, key=key, reverse=True)


@pytest.fixture
def new_org(mongo_db: Database[Document], make_token: TokenFactory) -> OrgFactory:
    """`new_org(entries=N | [docs], org_id=None)`: a fresh organization, user and entries."""

    def create(entries: int | list[Document] = 0, org_id: ObjectId | None = None) -> Org:
        org_id = org_id or ObjectId()
        user_id = mongo_db.users.insert_one({"orgId": org_id, "name": "test user"}).inserted_id
        if isinstance(entries, int):
            docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n)) for n in range(entries)]
        else:
            docs = [{"orgId": org_id, "_id": ObjectId(), **doc} for doc in entries]
        if docs:
            mongo_db.dnc_entries.insert_many(docs)
        return Org(org_id, user_id, make_token(str(user_id)), newest_first(docs))

    return create


# --- gateway fixtures ---
# Kept in their own module so this section needs one import; see tests/gateway_support.py.
from gateway_support import Gateway, gateway_env, start_gateway  # noqa: E402

GatewayFactory = Callable[..., Gateway]


@pytest.fixture(scope="session")
def gateway(grpc_service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A real `python -m gateway` in front of the session's gRPC service (tests never stop it)."""
    log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
    started = start_gateway(gateway_env(grpc_service.target), log_path)
    yield started
    started.process.terminate()


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[GatewayFactory]:
    """`gateway_factory(grpc_target, expect_serving=True, **env)`: a test's own gateway."""
    started: list[Gateway] = []

    def start(grpc_target: str, expect_serving: bool = True, **overrides: str) -> Gateway:
        log_path = tmp_path / f"gateway-{len(started)}.log"
        env = gateway_env(grpc_target, **overrides)
        started.append(start_gateway(env, log_path, expect_serving=expect_serving))
        return started[-1]

    yield start
    for each in started:
        each.process.kill()
