"""gateway/body.py on requests made in the test (aiohttp's make_mocked_request) with a scripted
body: the Content-Encoding spellings accepted and the refusal's text, a declared length refused
before a byte is read, every chunk kept, and the two time limits with their texts."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from gateway import body
from gateway.errors import GatewayError


class Script:
    """A body: each chunk after its delay; then the end (b"")."""

    def __init__(self, *chunks: tuple[float, bytes]) -> None:
        self.chunks = list(chunks)
        self.reads = 0

    async def readany(self) -> bytes:
        self.reads += 1
        if not self.chunks:
            return b""
        delay, chunk = self.chunks.pop(0)
        await asyncio.sleep(delay)
        return chunk


def request(*headers: tuple[str, str], content: Script | None = None) -> Any:
    return make_mocked_request(
        "POST", "/", headers=CIMultiDict(headers), payload=cast(Any, content or Script())
    )


def limits(max_bytes: int = 100, idle: float = 1.0, total: float = 5.0) -> body.BodyLimits:
    return body.BodyLimits(max_bytes=max_bytes, idle_seconds=idle, total_seconds=total)


def refused(make: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        asyncio.run(make())
    return caught.value


@pytest.mark.parametrize(
    "values", [(), ("identity",), ("IDENTITY",), (" Identity ",), ("",), ("identity", "")]
)
def test_identity_or_an_empty_encoding_is_accepted(values: tuple[str, ...]) -> None:
    body.check_encoding(request(*(("Content-Encoding", value) for value in values)))


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (("gzip",), "'gzip'"),
        (("identity", " br "), "'br'"),
        (("x" * 40,), repr("x" * 32)),
    ],
)
def test_any_other_encoding_is_415_naming_it_cut_to_32_characters(
    values: tuple[str, ...], shown: str
) -> None:
    with pytest.raises(GatewayError) as caught:
        body.check_encoding(request(*(("content-encoding", value) for value in values)))
    assert (caught.value.status, caught.value.details) == (
        415,
        f"Content-Encoding {shown} is not accepted: send the body uncompressed (identity).",
    )


def test_a_declared_length_over_the_limit_is_413_before_a_byte_is_read() -> None:
    content = Script((0, b"x"))
    made = request(("Content-Length", "101"), content=content)
    with pytest.raises(GatewayError) as caught:
        body.check_head(made, limits())
    assert (caught.value.status, caught.value.details) == (
        413,
        "The request body is larger than 100 bytes.",
    )
    assert content.reads == 0
    body.check_head(request(("Content-Length", "100")), limits())


def test_every_chunk_of_the_body_is_kept_in_order() -> None:
    content = Script((0, b"ab"), (0, b"cd"), (0, b"e"))
    whole = asyncio.run(body.read_whole(request(content=content), limits()))
    assert whole == b"abcde"


def test_a_counted_body_over_the_limit_is_413() -> None:
    content = Script((0, b"x" * 60), (0, b"x" * 41))
    error = refused(lambda: body.read_whole(request(content=content), limits()))
    assert (error.status, error.details) == (413, "The request body is larger than 100 bytes.")


def test_a_body_that_goes_quiet_is_408_after_the_idle_time() -> None:
    content = Script((0, b"ab"), (10, b"never"))
    error = refused(lambda: body.read_whole(request(content=content), limits(idle=0.05)))
    assert (error.status, error.details) == (408, "The request body sent no byte for 0.05 seconds.")


def test_a_body_that_trickles_past_the_total_time_is_408() -> None:
    content = Script(*[(0.02, b"x")] * 50)
    error = refused(lambda: body.read_whole(request(content=content), limits(total=0.1)))
    assert (error.status, error.details) == (
        408,
        "The request body did not arrive whole within 0.1 seconds.",
    )
