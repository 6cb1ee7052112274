"""Normalization to E.164: the forms the original API accepts, and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dnc_service.errors import InvalidArgument
from dnc_service.phones import MAX_PHONE_CHARS, normalize, normalize_stored


@pytest.mark.parametrize(
    "raw",
    ["12125551234", "+12125551234", "+1 (212) 555-1234", "+1.212.555.1234", " 1-212-555-1234 "],
)
def test_one_number_in_every_accepted_form(raw: str) -> None:
    phone = normalize(raw)
    assert phone.e164 == "+12125551234"
    assert phone.digits == "12125551234"


def test_other_country_codes_are_kept() -> None:
    assert normalize("442079460123").e164 == "+442079460123"
    assert normalize("+33 1 42 68 53 00").e164 == "+33142685300"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("911", "not a possible"),
        ("+1", "not a possible"),
        ("+1800FLOWERS", "only digits"),
        ("12125551234x", "only digits"),
        ("1212+5551234", "only digits"),
        ("+999999999", "not a possible"),
        ("+12125551234567890", "not a possible"),
        ("1" * (MAX_PHONE_CHARS + 1), "at most"),
        ("\uff11\uff12\uff11\uff12\uff15\uff15\uff15\uff11\uff12\uff13\uff14", "only digits"),
    ],
)
def test_refused_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason):
        normalize(raw)


@pytest.mark.parametrize(
    ("stored", "e164"),
    [
        ("12125551234", "+12125551234"),
        ("+1 (212) 555-1234", "+12125551234"),
        (12125551234, "+12125551234"),
        (12125551234.0, "+12125551234"),
        (12125551234.5, None),
        (-12125551234, None),
        (True, None),
        (None, None),
        ("not a number", None),
        ({"$numberLong": "1"}, None),
    ],
)
def test_stored_legacy_values(stored: object, e164: str | None) -> None:
    phone = normalize_stored(stored)
    assert (phone.e164 if phone else None) == e164


@given(st.text(max_size=40))
def test_any_text_is_a_number_or_invalid_argument(raw: str) -> None:
    try:
        phone = normalize(raw)
    except InvalidArgument:
        return
    assert phone.e164.startswith("+")
    assert phone.digits.isdigit()
    assert normalize(phone.e164) == phone  # idempotent
