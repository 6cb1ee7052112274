"""The metadata names both processes agree on, and the request-id rule, character by character."""

from __future__ import annotations

import pytest

from dnc_common.wire import (
    DO_NOT_RETRY,
    MAX_REQUEST_ID_CHARS,
    ORG_ID_TRAILER,
    REQUEST_ID_KEY,
    RETRY_PUSHBACK_KEY,
    is_request_id,
)


def test_the_metadata_names_are_pinned() -> None:
    # Clients and the other process read these: a change is a wire change (docs/api.md).
    assert REQUEST_ID_KEY == "x-request-id"
    assert MAX_REQUEST_ID_CHARS == 128
    assert ORG_ID_TRAILER == "dnc-org-id"
    assert RETRY_PUSHBACK_KEY == "grpc-retry-pushback-ms"
    assert DO_NOT_RETRY == "-1"


@pytest.mark.parametrize(
    "value",
    [
        "a",
        "req-7",
        "!",  # 0x21, the first printable character after the space
        "~",  # 0x7e, the last printable ASCII character
        "".join(chr(code) for code in range(0x21, 0x7F)),
        "x" * 128,
        "550e8400-e29b-41d4-a716-446655440000",
    ],
)
def test_printable_ascii_up_to_128_characters_is_a_request_id(value: str) -> None:
    assert is_request_id(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 129,
        "a b",
        " a",
        "a\n",  # a trailing newline: `$` would allow it, a full match does not
        "a\tb",
        "\x7f",
        "\x20",
        "caf\u00e9",
        "\uff11",  # a full-width digit
        "id\x1b[31m",
    ],
)
def test_anything_else_is_not_a_request_id(value: str) -> None:
    assert is_request_id(value) is False
