"""Page tokens round-trip exactly for their organization and search; any other string, and any
token opened for another organization, search or key, is a clean INVALID_ARGUMENT."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import (
    MAX_PAGE_TOKEN_CHARS,
    PagePosition,
    PageTokens,
    derive_key,
)
from dnc_service.settings import Settings, SettingsError, page_token_keys

ID = "64e5f12345abcdef98765432"
ORG, OTHER_ORG = "64e5f12345abcdef00000001", "64e5f12345abcdef00000002"
KEY, NEW_KEY = b"k" * 32, b"n" * 32
TOKENS = PageTokens([KEY])


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2025, 5, 15, 10, 30, 0, 123000, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        None,
    ],
)
def test_round_trip_is_exact(created_at: datetime | None) -> None:
    cursor = PagePosition(page=4, offset=30, last_id=ID, created_at=created_at)
    assert TOKENS.decode(TOKENS.encode(cursor, ORG, "abc"), ORG, "abc") == cursor


def test_an_offset_only_cursor_round_trips() -> None:
    cursor = PagePosition(page=2, offset=10)
    assert TOKENS.decode(TOKENS.encode(cursor, ORG, ""), ORG, "") == cursor
    assert cursor.skip == 10


def test_the_next_cursor_counts_the_page_it_follows() -> None:
    moment = datetime(2025, 5, 15, tzinfo=UTC)
    first = PagePosition.at_page(3, 20)
    assert first == PagePosition(3, 40)
    following = first.next(20, ID, moment)
    assert following == PagePosition(4, 60, ID, moment)
    assert following.skip == 0  # a keyset position is already past the entries before it
    assert first.next(20) == PagePosition(4, 60)  # no keyset position: the offset alone


@pytest.mark.parametrize(
    ("org", "search", "tokens"),
    [
        (OTHER_ORG, "abc", TOKENS),  # replayed by another organization
        (ORG, "abd", TOKENS),  # reused with another search
        (ORG, "abc", PageTokens([NEW_KEY])),  # a key that never sealed it
    ],
)
def test_a_token_opens_only_for_its_organization_search_and_keys(
    org: str, search: str, tokens: PageTokens
) -> None:
    token = TOKENS.encode(PagePosition(2, 10, ID), ORG, "abc")
    with pytest.raises(InvalidArgument) as raised:
        tokens.decode(token, org, search)
    assert raised.value.field == "page_token"


def test_keys_rotate_the_first_seals_all_open() -> None:
    old_token = TOKENS.encode(PagePosition(2, 10), ORG, "")
    rotated = PageTokens([NEW_KEY, KEY])
    assert rotated.decode(old_token, ORG, "") == PagePosition(2, 10)
    new_token = rotated.encode(PagePosition(2, 10), ORG, "")
    assert PageTokens([NEW_KEY]).decode(new_token, ORG, "") == PagePosition(2, 10)
    with pytest.raises(InvalidArgument):
        TOKENS.decode(new_token, ORG, "")


def test_two_tokens_of_one_cursor_differ_and_carry_no_plain_text() -> None:
    first, second = (TOKENS.encode(PagePosition(2, 10, ID), ORG, "12125551234") for _ in range(2))
    assert first != second  # a fresh nonce each time
    raw = base64.urlsafe_b64decode(first + "==")
    assert ID.encode() not in raw
    assert b"1212555" not in raw
    assert len(first) <= MAX_PAGE_TOKEN_CHARS


def test_every_bit_flip_is_refused() -> None:
    token = TOKENS.encode(PagePosition(2, 10, ID), ORG, "")
    raw = bytearray(base64.urlsafe_b64decode(token + "=="))
    for index in range(len(raw)):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        altered = base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("=")
        with pytest.raises(InvalidArgument):
            TOKENS.decode(altered, ORG, "")


def test_a_too_long_token_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        TOKENS.decode("a" * (MAX_PAGE_TOKEN_CHARS + 1), ORG, "")


@settings(max_examples=500)
@given(st.text(max_size=400))
def test_any_string_is_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument):
        TOKENS.decode(token, ORG, "")


def test_keys_come_from_settings_or_the_jwt_secret() -> None:
    secret = "s" * 32
    derived = PageTokens.from_settings(Settings.from_env({"DNC_JWT_SECRET": secret}))
    same = PageTokens([derive_key(secret)])
    assert same.decode(derived.encode(PagePosition(2, 5), ORG, ""), ORG, "") == PagePosition(2, 5)
    hex_key, b64_key = "ab" * 32, base64.urlsafe_b64encode(NEW_KEY).decode().rstrip("=")
    assert page_token_keys(f"{b64_key}, {hex_key}") == (NEW_KEY, bytes.fromhex(hex_key))
    assert page_token_keys(base64.b64encode(KEY).decode()) == (KEY,)
    for bad in ("", "abc", "ab" * 31, base64.b64encode(b"x" * 16).decode(), f"{hex_key},"):
        with pytest.raises(SettingsError, match="DNC_PAGE_TOKEN_KEYS") as raised:
            page_token_keys(bad)
        assert bad.split(",")[0] not in str(raised.value) or not bad  # never echoes a key
