"""What the gateway answers for a request head its HTTP parser refuses."""

from __future__ import annotations

from aiohttp.http_exceptions import BadHttpMessage, BadHttpMethod, LineTooLong

from gateway.http_server import MAX_HEADER_LINE_BYTES, MAX_REQUEST_LINE_BYTES, refusal


def test_a_long_request_line_is_414_and_a_long_header_431() -> None:
    assert refusal(LineTooLong(b"/x...", MAX_REQUEST_LINE_BYTES)).status == 414
    assert refusal(LineTooLong(b"Bearer ...", MAX_HEADER_LINE_BYTES)).status == 431
    assert MAX_REQUEST_LINE_BYTES != MAX_HEADER_LINE_BYTES  # how the two are told apart


def test_too_many_headers_is_431_and_anything_else_400() -> None:
    assert refusal(BadHttpMessage("Too many headers received")).status == 431
    assert refusal(BadHttpMethod("\x16\x03")).status == 400


def test_the_text_never_quotes_the_request() -> None:
    for error in (LineTooLong(b"Bearer secret...", MAX_HEADER_LINE_BYTES), BadHttpMethod("secret")):
        assert "secret" not in refusal(error).details
