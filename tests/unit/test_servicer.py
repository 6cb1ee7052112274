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

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.wire import ORG_ID_TRAILER
from dnc_service.auth import Caller
from dnc_service.checks import Checks
from dnc_service.errors import (
    DeadlineExceeded,
    DncError,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from dnc_service.history import History
from dnc_service.listing import Listing
from dnc_service.page_tokens import PagePosition, PageTokens
from dnc_service.servicer import DncServicer
from dnc_service.store import EventPage, Page, SortKey
from dnc_service.writes import Writes

ORG = "64e5f12345abcdef12345678"
USER = "64e5f12345abcdef00000001"
TOKENS = PageTokens([b"k" * 32])


class FakeAuthenticator:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def authenticate(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
        if self.error:
            raise self.error
        return Caller(ORG, USER)


class FakeEntries:
    """The store's listing read: records what it was asked, answers one entry."""

    def __init__(
        self, error: Exception | None = None, total: int = 0, last: SortKey | None = None
    ) -> None:
        self.error = error
        self.total = total
        self.last = last
        self.seen: list[tuple[str, str, int, dict[str, Any]]] = []

    async def list_page(self, org_id: str, search: str, limit: int, **where: Any) -> Page:
        self.seen.append((org_id, search, limit, where))
        if self.error:
            raise self.error
        entry = dnc_pb2.DncEntry(id="64e5f12345abcdef98765432", org_id=org_id, phone_number="1")
        return Page([entry], self.total, self.last is not None, self.last)


class FakeHistory:
    """The store's history read: records what it was asked, answers one event or fails."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.seen: list[tuple[str, str, int, dict[str, Any]]] = []

    async def page(self, org_id: str, phone_e164: str, limit: int, **where: Any) -> EventPage:
        self.seen.append((org_id, phone_e164, limit, where))
        if self.error:
            raise self.error
        return EventPage([dnc_pb2.DncEvent(action="add", phone_e164=phone_e164)])


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[grpc.aio.Server] = []
    channels: list[grpc.aio.Channel] = []

    async def start(
        authenticator: Any,
        entries: Any,
        writes: Any = None,
        history: Any = None,
    ) -> dnc_pb2_grpc.DncServiceAsyncStub:
        reader: Any = history or FakeHistory()
        server = grpc.aio.server()
        dnc_pb2_grpc.add_DncServiceServicer_to_server(
            DncServicer(
                authenticator,
                Listing(entries, TOKENS),
                Writes(writes),
                Checks(entries),
                History(reader, TOKENS),
                5.0,
            ),
            server,
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
    for authenticator, entries in (
        (FakeAuthenticator(error), FakeEntries()),
        (FakeAuthenticator(), FakeEntries(error)),
    ):
        stub = await serve(authenticator, entries)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.ListDnc(dnc_pb2.ListDncRequest())
        assert (raised.value.code(), raised.value.details()) == (code, details)


@pytest.mark.asyncio
async def test_validation_happens_after_authentication(serve: Any) -> None:
    stub = await serve(FakeAuthenticator(Unauthenticated("who are you")), FakeEntries())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListDnc(dnc_pb2.ListDncRequest(page=0))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.asyncio
async def test_the_callers_deadline_bounds_the_database_budget(serve: Any) -> None:
    entries = FakeEntries(total=25)
    stub = await serve(FakeAuthenticator(), entries)
    response = await stub.ListDnc(dnc_pb2.ListDncRequest(page=2, limit=10), timeout=1.0)
    [(org, search, limit, where)] = entries.seen
    max_time_ms = where.pop("max_time_ms")
    assert (org, search, limit, where) == (ORG, "", 10, {"skip": 10, "after": None})
    assert 0 < max_time_ms <= 1100  # grpc rounds the sent timeout up slightly
    assert (response.pagination.total, response.pagination.total_pages) == (25, 3)
    await stub.ListDnc(dnc_pb2.ListDncRequest())
    assert entries.seen[-1][-1]["max_time_ms"] == 5000  # no client deadline: the server's own limit


@pytest.mark.asyncio
async def test_the_next_page_becomes_a_page_token_and_the_org_a_trailer(serve: Any) -> None:
    last = SortKey("64e5f12345abcdef98765432")
    following = PagePosition(3, 20, last.entry_id)
    stub = await serve(FakeAuthenticator(), FakeEntries(total=25, last=last))
    call = stub.ListDnc(dnc_pb2.ListDncRequest(page=2, limit=10, search="abc"))
    response = await call
    assert TOKENS.decode(response.next_page_token, ORG, "abc") == following
    assert (ORG_ID_TRAILER, ORG) in tuple(await call.trailing_metadata() or ())
    assert [entry.org_id for entry in response.dnc_list] == [ORG]


@pytest.mark.asyncio
async def test_the_history_is_read_for_the_callers_organization_and_number(serve: Any) -> None:
    history = FakeHistory()
    stub = await serve(FakeAuthenticator(), FakeEntries(), history=history)
    response = await stub.ListDncHistory(
        dnc_pb2.ListDncHistoryRequest(phone_number="+1 (212) 555-1234"), timeout=1.0
    )
    assert [event.phone_e164 for event in response.events] == ["+12125551234"]
    assert response.next_page_token == ""
    [(org, number, limit, where)] = history.seen
    assert 0 < where.pop("max_time_ms") <= 1100  # the caller's deadline, rounded up by grpc
    assert (org, number, limit, where) == (ORG, "+12125551234", 20, {"skip": 0, "after": None})


@pytest.mark.asyncio
async def test_history_errors_become_their_status(serve: Any) -> None:
    stub = await serve(FakeAuthenticator(), FakeEntries(), history=FakeHistory(Unavailable("down")))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListDncHistory(dnc_pb2.ListDncHistoryRequest(phone_number="12125551234"))
    assert (raised.value.code(), raised.value.details()) == (grpc.StatusCode.UNAVAILABLE, "down")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListDncHistory(dnc_pb2.ListDncHistoryRequest(phone_number="911"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
