"""gateway/body.py, the one reader of request bodies, against a real aiohttp server in process:
the encoding refused before a byte is read, the size counted when no length is declared, and
the chunks of a streaming upload with the idle limit between them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from gateway import body
from gateway.errors import GatewayError

LIMITS = body.BodyLimits(max_bytes=1000, idle_seconds=0.5, total_seconds=5)


async def _whole(request: web.Request) -> web.Response:
    try:
        data = await body.read_whole(request, LIMITS)
    except GatewayError as error:
        return web.Response(status=error.status, text=error.details)
    return web.Response(text=f"{len(data)} bytes")


async def _chunks(request: web.Request) -> web.Response:
    sizes = []
    try:
        body.check_encoding(request)
        async for chunk in body.chunks(request, LIMITS.idle_seconds):
            sizes.append(len(chunk))
    except GatewayError as error:
        return web.Response(status=error.status, text=f"{sum(sizes)}: {error.details}")
    return web.Response(text=f"{sum(sizes)} bytes")


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_post("/whole", _whole)
    app.router.add_post("/chunks", _chunks)
    started = TestServer(app)
    await started.start_server()
    try:
        yield started
    finally:
        await started.close()


async def _post(server: TestServer, path: str, data: object, **headers: str) -> tuple[int, str]:
    async with (
        ClientSession() as session,
        session.post(server.make_url(path), data=data, headers=headers) as reply,
    ):
        return reply.status, await reply.text()


async def _trickle(parts: list[bytes], pause: float) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
        await asyncio.sleep(pause)


@pytest.mark.asyncio
async def test_a_body_within_the_limits_is_read_whole(server: TestServer) -> None:
    assert await _post(server, "/whole", b"x" * 1000) == (200, "1000 bytes")
    assert await _post(server, "/whole", b"x" * 10, **{"Content-Encoding": "identity"}) == (
        200,
        "10 bytes",
    )


@pytest.mark.asyncio
async def test_an_encoded_body_is_415(server: TestServer) -> None:
    status, text = await _post(server, "/whole", b"\x1f\x8b", **{"Content-Encoding": "gzip"})
    assert (status, text) == (
        415,
        "Content-Encoding 'gzip' is not accepted: send the body uncompressed (identity).",
    )


@pytest.mark.asyncio
async def test_too_large_is_413_declared_or_counted(server: TestServer) -> None:
    declared = await _post(server, "/whole", b"x" * 1001)
    counted = await _post(server, "/whole", _trickle([b"x" * 600, b"x" * 600], 0))  # chunked
    assert declared == counted == (413, "The request body is larger than 1000 bytes.")


@pytest.mark.asyncio
async def test_chunks_end_when_the_client_goes_quiet(server: TestServer) -> None:
    """A pause under the idle limit is fine; one over it ends the read (a streaming upload)."""
    assert await _post(server, "/chunks", _trickle([b"a" * 10, b"b" * 10], 0.1)) == (
        200,
        "20 bytes",
    )
    status, text = await _post(server, "/chunks", _trickle([b"a" * 10, b"b" * 10], 1.0))
    assert (status, text) == (408, "10: The request body sent no byte for 0.5 seconds.")
