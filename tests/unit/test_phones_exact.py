"""What the fast path answers by itself, the refusals' exact texts, and the length bound."""

from __future__ import annotations

import pytest

from dnc_service.errors import InvalidArgument
from dnc_service.phones import MAX_PHONE_CHARS, Phone, _fast, normalize


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("+12125551234", None),
        ("12125551234", None),
        ("1 (212) 555-1234", None),
        ("+1 212 555 1234", "GB"),
        ("+1.212.555.1234", "US"),
        ("2125551234", "US"),
        ("(212) 555-1234", "CA"),
        ("1-212-555-1234", "PR"),
    ],
)
def test_the_fast_path_answers_north_american_numbers_itself(text: str, region: str | None) -> None:
    assert _fast(text, region) == Phone("+12125551234")


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("+442079460500", None),
        ("442079460500", None),
        ("020 7946 0500", "GB"),
        ("2125551234", "GB"),
        ("+1 112 555 1234", None),
        ("2125551234", None),
    ],
)
def test_the_fast_path_steps_aside_for_anything_else(text: str, region: str | None) -> None:
    assert _fast(text, region) is None


@pytest.mark.parametrize(
    ("region", "e164"),
    [("DE", "+4912125551234"), ("IN", "+9112125551234")],
)
def test_a_region_outside_the_plan_reads_eleven_digits_as_its_own(region: str, e164: str) -> None:
    # Read without the region, "12125551234" would be the North American +1 212 555 1234.
    assert normalize("12125551234", region).e164 == e164


def test_a_region_outside_the_plan_may_refuse_what_would_be_north_american() -> None:
    with pytest.raises(InvalidArgument) as raised:
        normalize("12125551234", "GB")
    assert raised.value.message == (
        "not a possible phone number: give the country code, e.g. +1 212 555 1234"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "phone number is empty"),
        (" \t ", "phone number is empty"),
        ("1" * 33, "phone number must be at most 32 characters"),
        ("212 555 1234 x", "phone number may hold only digits, a leading '+', spaces and ( ) . -"),
    ],
)
def test_each_refusal_has_its_exact_text(raw: str, message: str) -> None:
    assert MAX_PHONE_CHARS == 32
    with pytest.raises(InvalidArgument) as raised:
        normalize(raw)
    assert raised.value.message == message


def test_a_number_of_exactly_the_maximum_length_is_read() -> None:
    raw = "+1" + " " * (MAX_PHONE_CHARS - 12) + "2125551234"
    assert len(raw) == MAX_PHONE_CHARS
    assert normalize(raw).e164 == "+12125551234"
