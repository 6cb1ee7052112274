"""The service's interceptors on unary and server-streaming methods, on an in-process server:
malformed messages are INVALID_ARGUMENT, and admission counts only verified calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio

from dnc.v1 import dnc_pb2
from dnc_service.admission import AdmissionInterceptor
from dnc_service.errors import Unauthenticated
from dnc_service.observability import ObservabilityInterceptor

Context = grpc.aio.ServicerContext[Any, Any]
GOOD = (("authorization", "good"),)


def verify(metadata: Any) -> str:
    if ("authorization", "good") not in tuple(metadata or ()):
        raise Unauthenticated("no")
    return "user"


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
        },
    )


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[Methods, grpc.aio.Channel]]:
    methods = Methods()
    server = grpc.aio.server(
        interceptors=[ObservabilityInterceptor(), AdmissionInterceptor(1, verify)]
    )
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


async def call(channel: grpc.aio.Channel, method: str, payload: bytes, metadata: Any) -> Any:
    if method == "Unary":
        return await channel.unary_unary(f"/test.T/{method}", lambda b: b, lambda b: b)(
            payload, metadata=metadata, timeout=5
        )
    stream = channel.unary_stream(f"/test.T/{method}", lambda b: b, lambda b: b)
    return [part async for part in stream(payload, metadata=metadata, timeout=5)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "answer"),
    [("Unary", b"ab"), ("Generated", [b"a", b"b"]), ("Written", [b"a", b"b"])],
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
@pytest.mark.parametrize("method", ["Unary", "Generated", "Written"])
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
