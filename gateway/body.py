"""Request bodies, read in one place and only as encoded bytes: the gateway never inflates.

aiohttp would inflate a `Content-Encoding: gzip` body by itself (a 1 MiB gzip of zeros is 1 GiB
of CPU-bound work on the event loop); the gateway's connections are made with
`auto_decompress=False` (http_server.py) and any encoding but identity is refused here (415)
before a byte is read. Every read is bounded three ways: size, the time between two bytes
(`idle_seconds`) and, for a whole body, the total time.

Use: `await read_whole(request, limits)` for a unary call's body; a streaming upload calls
`check_encoding(request)` first, then iterates `chunks(request, limits.idle_seconds)` under its
own deadline and counts its own bytes. Both raise GatewayError (408, 413, 415): before a
response has started the error middleware renders it; after, the stream writes it as its last
line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from .errors import GatewayError

IDENTITY = "identity"


@dataclass(frozen=True)
class BodyLimits:
    """The bounds of one request body, from the gateway's settings."""

    max_bytes: int
    idle_seconds: float
    total_seconds: float


def check_encoding(request: web.BaseRequest) -> None:
    """415 for a body sent with a Content-Encoding other than identity."""
    encodings = request.headers.getall("Content-Encoding", ())
    for encoding in encodings:
        if encoding.strip().lower() not in ("", IDENTITY):
            raise GatewayError.refusal(
                415,
                f"Content-Encoding {encoding.strip()[:32]!r} is not accepted: "
                "send the body uncompressed (identity).",
            )


async def chunks(request: web.BaseRequest, idle_seconds: float) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive; 408 when none arrives within `idle_seconds`."""
    content = request.content
    while True:
        try:
            async with asyncio.timeout(idle_seconds):
                chunk = await content.readany()
        except TimeoutError:
            raise GatewayError.refusal(
                408, f"The request body sent no byte for {idle_seconds:g} seconds."
            ) from None
        if not chunk:
            return
        yield chunk


def check_head(request: web.BaseRequest, limits: BodyLimits) -> None:
    """What the head alone refuses: an encoding (415), a declared length over the limit (413)."""
    check_encoding(request)
    declared = request.content_length
    if declared is not None and declared > limits.max_bytes:
        raise _too_large(limits.max_bytes)


async def read_whole(request: web.BaseRequest, limits: BodyLimits) -> bytes:
    """The whole body within `limits`: 415, then 413 (from Content-Length, or counted), 408."""
    check_head(request, limits)
    body = bytearray()
    try:
        async with asyncio.timeout(limits.total_seconds):
            async for chunk in chunks(request, limits.idle_seconds):
                body += chunk
                if len(body) > limits.max_bytes:
                    raise _too_large(limits.max_bytes)
    except TimeoutError:
        raise GatewayError.refusal(
            408, f"The request body did not arrive whole within {limits.total_seconds:g} seconds."
        ) from None
    return bytes(body)


def _too_large(max_bytes: int) -> GatewayError:
    return GatewayError.refusal(413, f"The request body is larger than {max_bytes} bytes.")
