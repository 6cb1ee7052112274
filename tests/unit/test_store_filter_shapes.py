"""Which phone variants a search adds: the legacy numeric clause only where a number can match."""

from __future__ import annotations

from dnc_service.store.filters import SEARCH_FIELDS, search_clauses


def variants(search: str) -> list[dict[str, object]]:
    return search_clauses(search)[len(SEARCH_FIELDS) :]


def e164(digits: str) -> dict[str, object]:
    """The normalized number's clause, which every phone-like search adds."""
    return {"phoneE164": {"$regex": digits}}


def test_fifteen_digits_still_match_a_legacy_number_sixteen_do_not() -> None:
    # A double holds 15 digits exactly: a longer number could match the wrong row.
    assert variants("1" * 15) == [e164("1" * 15), {"phoneNumber": int("1" * 15)}]
    assert variants("1" * 16) == [e164("1" * 16)]
    assert variants("+" + "1" * 15) == [
        {"phoneNumber": {"$regex": "1" * 15}},
        e164("1" * 15),
        {"phoneNumber": int("1" * 15)},
    ]


def test_a_leading_zero_has_no_numeric_form() -> None:
    # 0555 as a number is 555: it would match rows the search does not contain.
    assert variants("0555") == [e164("0555")]
    assert variants("(0) 555") == [{"phoneNumber": {"$regex": "0555"}}, e164("0555")]
    assert variants("5055") == [e164("5055"), {"phoneNumber": 5055}]


def test_a_search_that_is_not_phone_like_adds_no_variant() -> None:
    assert variants("customer") == []
    assert variants("12a") == []
