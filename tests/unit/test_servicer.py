"""The servicer's status mapping, on an in-process grpc.aio server with stand-in collaborators.

grpcio-testing drives only synchronous behaviours, and this servicer is `async def`; so these
fast tests use a real grpc.aio server on port 0 with fakes of our own interfaces (no database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc
import pytest
import pytest_asyncio
from bson import ObjectId

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.errors import (
    DeadlineExceeded,
    DncError,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from dnc_service.query import ListQuery
from dnc_service.repository import Page
from dnc_service.servicer import DncServicer

ORG = ObjectId("64e5f12345abcdef12345678")


class FakeAuthenticator:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def organization_for(
        self, metadata: Iterable[tuple[str, str | bytes]] | None
    ) -> ObjectId:
        if self.error:
            raise self.error
        return ORG


class FakeRepository:
    def __init__(self, error: Exception | None = None, total: int = 0) -> None:
        self.error = error
        self.total = total
        self.seen: list[tuple[ObjectId, ListQuery, int]] = []

    async def list_page(self, org_id: ObjectId, query: ListQuery, max_time_ms: int) -> Page:
        self.seen.append((org_id, query, max_time_ms))
        if self.error:
            raise self.error
        return Page([{"_id": ObjectId(), "orgId": org_id, "phoneNumber": "1"}], self.total)


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[grpc.aio.Server] = []
    channels: list[grpc.aio.Channel] = []

    async def start(authenticator: Any, repository: Any) -> dnc_pb2_grpc.DncServiceAsyncStub:
        server = grpc.aio.server()
        dnc_pb2_grpc.add_DncServiceServicer_to_server(
            DncServicer(authenticator, repository, 5.0), server
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        channels.append(channel)
        return dnc_pb2_grpc.DncServiceStub(channel)

    yield start
    for channel in channels:
        await channel.close(None)
    for server in servers:
        await server.stop(None)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("error", "code", "details"),
    [
        (
            Unauthenticated("invalid bearer token"),
            grpc.StatusCode.UNAUTHENTICATED,
            "invalid bearer token",
        ),
        (PermissionDenied("no organization"), grpc.StatusCode.PERMISSION_DENIED, "no organization"),
        (Unavailable("down"), grpc.StatusCode.UNAVAILABLE, "down"),
        (DeadlineExceeded("slow"), grpc.StatusCode.DEADLINE_EXCEEDED, "slow"),
        (
            DncError("database error at mongo-0.internal"),
            grpc.StatusCode.INTERNAL,
            "internal error",
        ),
        (ZeroDivisionError("secret detail"), grpc.StatusCode.INTERNAL, "internal error"),
    ],
)
async def test_errors_become_their_status(
    serve: Any, error: Exception, code: grpc.StatusCode, details: str
) -> None:
    for authenticator, repository in (
        (FakeAuthenticator(error), FakeRepository()),
        (FakeAuthenticator(), FakeRepository(error)),
    ):
        stub = await serve(authenticator, repository)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.ListDnc(dnc_pb2.ListDncRequest())
        assert (raised.value.code(), raised.value.details()) == (code, details)


@pytest.mark.asyncio
async def test_validation_happens_after_authentication(serve: Any) -> None:
    stub = await serve(FakeAuthenticator(Unauthenticated("who are you")), FakeRepository())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListDnc(dnc_pb2.ListDncRequest(page=0))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.asyncio
async def test_the_callers_deadline_bounds_the_database_budget(serve: Any) -> None:
    repository = FakeRepository(total=25)
    stub = await serve(FakeAuthenticator(), repository)
    response = await stub.ListDnc(dnc_pb2.ListDncRequest(page=2, limit=10), timeout=1.0)
    [(org, query, max_time_ms)] = repository.seen
    assert (org, query) == (ORG, ListQuery(page=2, limit=10))
    assert 0 < max_time_ms <= 1100  # grpc rounds the sent timeout up slightly
    assert (response.pagination.total, response.pagination.total_pages) == (25, 3)
    await stub.ListDnc(dnc_pb2.ListDncRequest())
    assert repository.seen[-1][2] == 5000  # no client deadline: the server's own limit
