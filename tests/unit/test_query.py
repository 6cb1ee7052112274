"""The request's bounds and the filter's shape, without a database."""

from __future__ import annotations

import re

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.query import SEARCH_FIELDS, ListQuery, build_filter, parse_request, phone_digits

ORG = ObjectId("64e5f12345abcdef12345678")


def test_defaults() -> None:
    assert parse_request(dnc_pb2.ListDncRequest()) == ListQuery(page=1, limit=10, search="")


def test_skip() -> None:
    assert ListQuery(page=3, limit=20).skip == 40


@pytest.mark.parametrize(
    "fields", [{"page": 0}, {"page": -1}, {"limit": 0}, {"limit": 101}, {"search": "a" * 129}]
)
def test_out_of_bounds(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        parse_request(dnc_pb2.ListDncRequest(**fields))  # type: ignore[arg-type]


def test_without_search_the_filter_is_the_organization_alone() -> None:
    assert build_filter(ORG, "") == {"orgId": ORG}


def test_search_is_an_or_of_escaped_case_insensitive_regexes() -> None:
    query = build_filter(ORG, "a.*b")
    assert query["orgId"] == ORG
    assert query["$or"] == [
        {field: {"$regex": r"a\.\*b", "$options": "i"}} for field in SEARCH_FIELDS
    ]


def test_phone_search_adds_a_digits_regex_and_the_legacy_number() -> None:
    clauses = build_filter(ORG, "+1 (212) 555")["$or"]
    assert {"phoneNumber": {"$regex": "1212555"}} in clauses
    assert {"phoneNumber": 1212555} in clauses


def test_a_bare_number_needs_no_extra_regex() -> None:
    clauses = build_filter(ORG, "555")["$or"]
    assert clauses[-1] == {"phoneNumber": 555}
    assert len(clauses) == len(SEARCH_FIELDS) + 1


@pytest.mark.parametrize(
    ("search", "digits"),
    [
        ("+1 (212) 555-1234", "12125551234"),
        ("1.2", "12"),
        ("abc", None),
        ("+-()", None),
        ("12a", None),
    ],
)
def test_phone_digits(search: str, digits: str | None) -> None:
    assert phone_digits(search) == digits


@settings(max_examples=500)
@given(st.text(max_size=128).filter(lambda s: all(c.isprintable() or c == " " for c in s)))
def test_any_search_is_a_literal_match_and_never_an_operator(search: str) -> None:
    try:
        query = build_filter(ORG, parse_request(dnc_pb2.ListDncRequest(search=search)).search)
    except InvalidArgument:
        return
    assert query["orgId"] == ORG
    assert set(query) <= {"orgId", "$or"}
    clauses = query.get("$or", [])
    assert bool(clauses) == bool(search.strip())
    for field, clause in zip(SEARCH_FIELDS, clauses, strict=False):
        # Each field's pattern matches exactly the search itself: every character is literal.
        assert clause == {field: {"$regex": clause[field]["$regex"], "$options": "i"}}
        assert re.fullmatch(clause[field]["$regex"], search.strip(), re.IGNORECASE)
    for clause in clauses[len(SEARCH_FIELDS) :]:
        # Phone variants: only digits, as a regex or as the legacy numeric value.
        condition = clause["phoneNumber"]
        assert isinstance(condition, int) or condition["$regex"].isdigit()
