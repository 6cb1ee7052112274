"""Page tokens round-trip exactly and any other string is a clean INVALID_ARGUMENT."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import Cursor, next_token, parse_token

ID = ObjectId("64e5f12345abcdef98765432")


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2025, 5, 15, 10, 30, 0, 123000, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        None,
    ],
)
def test_round_trip_is_exact(created_at: datetime | None) -> None:
    token = next_token(3, 30, {"_id": ID, "createdAt": created_at}, "abc")
    assert parse_token(token, "abc") == Cursor(page=4, offset=30, last_id=ID, created_at=created_at)


def test_a_row_outside_the_contract_falls_back_to_the_offset() -> None:
    cursor = parse_token(next_token(1, 10, {"_id": ID, "createdAt": "2020-01-01"}, ""), "")
    assert cursor == Cursor(page=2, offset=10)
    assert not cursor.keyset
    assert cursor.filter() is None


def test_the_cursor_filter_continues_after_the_last_entry() -> None:
    moment = datetime(2025, 5, 15, tzinfo=UTC)
    assert Cursor(2, 10, ID, moment).filter() == {
        "$or": [
            {"createdAt": {"$lt": moment}},
            {"createdAt": moment, "_id": {"$lt": ID}},
            {"createdAt": {"$not": {"$type": "date"}}},
        ]
    }
    assert Cursor(2, 10, ID, None).filter() == {"createdAt": None, "_id": {"$lt": ID}}


def test_a_token_is_bound_to_its_search() -> None:
    with pytest.raises(InvalidArgument, match="different search"):
        parse_token(next_token(1, 10, {"_id": ID}, "abc"), "abd")


@settings(max_examples=500)
@given(st.text(max_size=400))
def test_any_string_is_a_cursor_or_invalid_argument(token: str) -> None:
    try:
        cursor = parse_token(token, "")
    except InvalidArgument:
        return
    assert cursor.page >= 1
