"""Server-streaming calls are counted and logged like unary ones, however they write."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from dnc_service.observability import ObservabilityInterceptor


async def generated(request: bytes, context: Any) -> AsyncIterator[bytes]:
    for n in range(3):
        yield request + bytes([n])


async def written(request: bytes, context: Any) -> None:
    for n in range(2):
        await context.write(request + bytes([n]))


async def failing(request: bytes, context: Any) -> None:
    await context.write(b"first")
    await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "too slow")


@pytest.mark.asyncio
async def test_streams_are_observed(caplog: pytest.LogCaptureFixture) -> None:
    handlers = {
        name: grpc.unary_stream_rpc_method_handler(behaviour)
        for name, behaviour in (("Gen", generated), ("Write", written), ("Fail", failing))
    }
    server = grpc.aio.server(interceptors=[ObservabilityInterceptor()])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.S", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    calls = [("Gen", "OK"), ("Write", "OK"), ("Fail", "DEADLINE_EXCEEDED")]
    before = [handled(name, code) for name, code in calls]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with caplog.at_level(logging.INFO, logger="dnc_service.access"):
                gen = [r async for r in call(channel, "Gen")(b"g")]
                write = [r async for r in call(channel, "Write")(b"w")]
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    _ = [r async for r in call(channel, "Fail")(b"f")]
    finally:
        await server.stop(None)
    assert gen == [b"g\x00", b"g\x01", b"g\x02"]
    assert write == [b"w\x00", b"w\x01"]
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert [record.getMessage() for record in caplog.records] == [
        "/t.S/Gen OK", "/t.S/Write OK", "/t.S/Fail DEADLINE_EXCEEDED",
    ]  # fmt: skip
    assert [handled(name, code) for name, code in calls] == [count + 1 for count in before]


def call(channel: grpc.aio.Channel, name: str) -> Any:
    """A raw bytes-in, bytes-out streaming call."""
    return channel.unary_stream(f"/t.S/{name}", None, None)


def handled(name: str, code: str) -> float:
    labels = {"method": f"/t.S/{name}", "code": code}
    return REGISTRY.get_sample_value("dnc_grpc_requests_total", labels) or 0.0
