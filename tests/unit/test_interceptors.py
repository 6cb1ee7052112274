"""The service's interceptors on methods of every kind (unary, server, client and bidirectional
streaming), on an in-process server: malformed messages are INVALID_ARGUMENT, admission counts
only verified calls, and no organization takes more than its share of the slots."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio

from dnc.v1 import dnc_pb2
from dnc_service.admission import AdmissionInterceptor, OrgSlots
from dnc_service.auth import Caller
from dnc_service.errors import Unauthenticated
from dnc_service.observability import ObservabilityInterceptor
from support import refusal_details

Context = grpc.aio.ServicerContext[Any, Any]
GOOD = (("authorization", "good"),)
# Another organization's token.
OTHER = (("authorization", "good-b"),)
ORGS = {"good": "a" * 24, "good-b": "b" * 24}
KINDS = ["Unary", "Generated", "Written", "ClientStream", "Bidi"]


def verify(metadata: Any) -> str:
    tokens = [value for key, value in metadata or () if key == "authorization"]
    if not tokens or tokens[0] not in ORGS:
        raise Unauthenticated("no")
    return str(tokens[0])


async def authenticate(metadata: Any) -> Caller:
    token = verify(metadata)
    return Caller(ORGS[token], token)


class Methods:
    """A unary method, an async-generator stream and a stream written with context.write;
    each waits for `release` so a test can hold calls open."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started: asyncio.Queue[None] = asyncio.Queue()

    def start(self) -> None:
        self.started.put_nowait(None)

    async def wait_started(self) -> None:
        await asyncio.wait_for(self.started.get(), 5)

    async def unary(self, request: dnc_pb2.ListDncRequest, context: Context) -> bytes:
        self.start()
        await self.release.wait()
        return request.search.encode()

    async def generated(
        self, request: dnc_pb2.ListDncRequest, context: Context
    ) -> AsyncIterator[bytes]:
        self.start()
        await self.release.wait()
        for char in request.search:
            yield char.encode()

    async def written(self, request: dnc_pb2.ListDncRequest, context: Context) -> None:
        self.start()
        await self.release.wait()
        for char in request.search:
            await context.write(char.encode())

    async def client_stream(self, requests: AsyncIterator[bytes], context: Context) -> bytes:
        """Client streaming (as ImportDnc): the messages joined."""
        self.start()
        await self.release.wait()
        return b"".join([message async for message in requests])

    async def bidi(self, requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
        """Bidirectional streaming (as ScrubDnc): each message echoed."""
        self.start()
        await self.release.wait()
        async for message in requests:
            yield message


def handlers(methods: Methods) -> grpc.GenericRpcHandler[Any, Any]:
    def unary_stream(behaviour: Any) -> grpc.RpcMethodHandler[Any, Any]:
        return grpc.unary_stream_rpc_method_handler(
            behaviour, dnc_pb2.ListDncRequest.FromString, lambda b: b
        )

    return grpc.method_handlers_generic_handler(
        "test.T",
        {
            "Unary": grpc.unary_unary_rpc_method_handler(
                methods.unary, dnc_pb2.ListDncRequest.FromString, lambda b: b
            ),
            "Generated": unary_stream(methods.generated),
            "Written": unary_stream(methods.written),
            "ClientStream": grpc.stream_unary_rpc_method_handler(methods.client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(methods.bidi),
        },
    )


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[Methods, grpc.aio.Channel]]:
    async for served in serve(AdmissionInterceptor(1, verify, authenticate)):
        yield served


@pytest_asyncio.fixture
async def per_org() -> AsyncIterator[tuple[Methods, grpc.aio.Channel]]:
    """Three slots, at most one per organization."""
    async for served in serve(AdmissionInterceptor(3, verify, authenticate, per_org_limit=1)):
        yield served


@pytest_asyncio.fixture
async def one_stream() -> AsyncIterator[tuple[Methods, grpc.aio.Channel]]:
    """Three slots per organization, of which one stream."""
    admission = AdmissionInterceptor(
        6, verify, authenticate, per_org_limit=3, streams_per_org_limit=1
    )
    async for served in serve(admission):
        yield served


async def serve(
    admission: AdmissionInterceptor,
) -> AsyncIterator[tuple[Methods, grpc.aio.Channel]]:
    methods = Methods()
    server = grpc.aio.server(interceptors=[ObservabilityInterceptor(), admission])
    server.add_generic_rpc_handlers((handlers(methods),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield methods, channel
    finally:
        methods.release.set()
        await channel.close(None)
        await server.stop(None)


def request(search: str = "ab") -> bytes:
    return dnc_pb2.ListDncRequest(search=search).SerializeToString()


async def messages(payload: bytes) -> AsyncIterator[bytes]:
    yield payload


async def call(channel: grpc.aio.Channel, method: str, payload: bytes, metadata: Any) -> Any:
    if method == "Unary":
        return await channel.unary_unary(f"/test.T/{method}", lambda b: b, lambda b: b)(
            payload, metadata=metadata, timeout=5
        )
    if method == "ClientStream":
        return await channel.stream_unary(f"/test.T/{method}", lambda b: b, lambda b: b)(
            messages(payload), metadata=metadata, timeout=5
        )
    if method == "Bidi":
        bidi = channel.stream_stream(f"/test.T/{method}", lambda b: b, lambda b: b)
        return [part async for part in bidi(messages(payload), metadata=metadata, timeout=5)]
    stream = channel.unary_stream(f"/test.T/{method}", lambda b: b, lambda b: b)
    return [part async for part in stream(payload, metadata=metadata, timeout=5)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("Unary", b"ab"),
        ("Generated", [b"a", b"b"]),
        ("Written", [b"a", b"b"]),
        ("ClientStream", request()),
        ("Bidi", [request()]),
    ],
)
async def test_calls_go_through(
    served: tuple[Methods, grpc.aio.Channel], method: str, answer: Any
) -> None:
    methods, channel = served
    methods.release.set()
    assert await call(channel, method, request(), GOOD) == answer


@pytest.mark.asyncio
@pytest.mark.parametrize("method", ["Unary", "Generated", "Written"])
async def test_a_malformed_message_is_invalid_argument(
    served: tuple[Methods, grpc.aio.Channel], method: str
) -> None:
    methods, channel = served
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(channel, method, bytes.fromhex("1a02fffe"), GOOD)
    assert (raised.value.code(), raised.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "malformed request message",
    )
    assert methods.started.empty()


@pytest.mark.asyncio
@pytest.mark.parametrize("method", KINDS)
async def test_verified_calls_over_the_limit_are_refused_unverified_ones_pass(
    served: tuple[Methods, grpc.aio.Channel], method: str
) -> None:
    methods, channel = served
    holder = asyncio.ensure_future(call(channel, method, request(), GOOD))
    await methods.wait_started()  # the one slot is taken
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(channel, method, request(), GOOD)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # A call without a valid token takes no slot (the servicer would refuse it without I/O).
    anonymous = asyncio.ensure_future(call(channel, method, request(), ()))
    await methods.wait_started()
    methods.release.set()
    assert await anonymous
    assert await holder
    # The slot is free again.
    assert await call(channel, method, request(), GOOD)


async def refusal(channel: grpc.aio.Channel, method: str, metadata: Any) -> tuple[Any, ...]:
    """The code, ErrorInfo reason, retry delay (ms) and pushback trailer of a refused call."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(channel, method, request(), metadata)
    return (raised.value.code(), *refusal_details(raised.value))


@pytest.mark.asyncio
@pytest.mark.parametrize("method", KINDS)
async def test_an_organization_past_its_share_is_refused_while_another_is_served(
    per_org: tuple[Methods, grpc.aio.Channel], method: str
) -> None:
    methods, channel = per_org
    holder = asyncio.ensure_future(call(channel, method, request(), GOOD))
    await methods.wait_started()  # organization a holds its one slot
    assert await refusal(channel, method, GOOD) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED, "ORG_OVERLOADED", 1000, "1000",
    )  # fmt: skip
    other = asyncio.ensure_future(call(channel, method, request(), OTHER))
    await methods.wait_started()  # organization b is served meanwhile
    methods.release.set()
    assert await other
    assert await holder
    assert await call(channel, method, request(), GOOD)  # a's slot came back


@pytest.mark.asyncio
@pytest.mark.parametrize("method", KINDS)
async def test_slots_come_back_after_cancellation(
    per_org: tuple[Methods, grpc.aio.Channel], method: str
) -> None:
    methods, channel = per_org
    holder = asyncio.ensure_future(call(channel, method, request(), GOOD))
    await methods.wait_started()
    holder.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await holder
    methods.release.set()
    # The server notices the cancellation on its own time: poll, without sleeping on a clock.
    async with asyncio.timeout(5):
        while (code := await code_of(channel, method, GOOD)) != grpc.StatusCode.OK:
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            await asyncio.sleep(0.01)


async def code_of(channel: grpc.aio.Channel, method: str, metadata: Any) -> grpc.StatusCode:
    try:
        await call(channel, method, request(), metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_the_organization_table_holds_only_organizations_with_calls() -> None:
    slots = OrgSlots(2)
    assert [slots.try_take("a") for _ in range(3)] == [True, True, False]
    assert slots.try_take("b")
    slots.give_back("a")
    slots.give_back("a")
    slots.give_back("b")
    assert slots.taken == {}


@pytest.mark.asyncio
@pytest.mark.parametrize("method", ["Generated", "Written", "ClientStream", "Bidi"])
async def test_an_organization_has_fewer_streams_than_calls(
    one_stream: tuple[Methods, grpc.aio.Channel], method: str
) -> None:
    methods, channel = one_stream
    holder = asyncio.ensure_future(call(channel, method, request(), GOOD))
    await methods.wait_started()  # organization a holds its one stream
    assert await refusal(channel, "Bidi", GOOD) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED, "ORG_STREAMS_OVERLOADED", 1000, "1000",
    )  # fmt: skip
    unary = asyncio.ensure_future(call(channel, "Unary", request(), GOOD))  # still admitted
    other = asyncio.ensure_future(call(channel, method, request(), OTHER))  # b has its own
    await methods.wait_started()
    await methods.wait_started()
    methods.release.set()
    assert await unary
    assert await other
    assert await holder
    assert await call(channel, "ClientStream", request(), GOOD)  # the stream slot came back
