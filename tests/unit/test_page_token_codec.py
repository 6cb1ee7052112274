"""Page tokens round-trip exactly and any other string is a clean INVALID_ARGUMENT."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import MAX_PAGE_TOKEN_CHARS, Cursor, decode, encode

ID = "64e5f12345abcdef98765432"


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2025, 5, 15, 10, 30, 0, 123000, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        None,
    ],
)
def test_round_trip_is_exact(created_at: datetime | None) -> None:
    cursor = Cursor(page=4, offset=30, last_id=ID, created_at=created_at)
    assert decode(encode(cursor, "abc"), "abc") == cursor


def test_an_offset_only_cursor_round_trips() -> None:
    cursor = Cursor(page=2, offset=10)
    assert decode(encode(cursor, ""), "") == cursor
    assert cursor.skip == 10


def test_the_next_cursor_counts_the_page_it_follows() -> None:
    moment = datetime(2025, 5, 15, tzinfo=UTC)
    first = Cursor.at_page(3, 20)
    assert first == Cursor(3, 40)
    following = first.next(20, ID, moment)
    assert following == Cursor(4, 60, ID, moment)
    assert following.skip == 0  # a keyset position is already past the entries before it
    assert first.next(20) == Cursor(4, 60)  # no keyset position: the offset alone


def test_a_token_is_bound_to_its_search() -> None:
    with pytest.raises(InvalidArgument, match="different search"):
        decode(encode(Cursor(2, 10, ID), "abc"), "abd")


def token_with_id(last_id: object) -> str:
    """A token for search "" whose body is as encode writes it, but with any `i`."""
    body = orjson.loads(base64.urlsafe_b64decode(encode(Cursor(2, 10, ID), "") + "=="))
    return base64.urlsafe_b64encode(orjson.dumps({**body, "i": last_id})).decode()


def test_ids_are_24_hex_and_come_back_lowercase() -> None:
    assert decode(token_with_id(ID.upper()), "") == Cursor(2, 10, ID)
    for bad in (ID[:-1], "zz" * 12, 42, None):
        with pytest.raises(InvalidArgument):
            decode(token_with_id(bad), "")


def test_a_too_long_token_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        decode("a" * (MAX_PAGE_TOKEN_CHARS + 1), "")


@settings(max_examples=500)
@given(st.text(max_size=400))
def test_any_string_is_a_cursor_or_invalid_argument(token: str) -> None:
    try:
        cursor = decode(token, "")
    except InvalidArgument:
        return
    assert cursor.page >= 1
