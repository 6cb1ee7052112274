"""The listing filter's shape, without a database: the organization, then literal search."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.store.filters import SEARCH_FIELDS, listing_filter, phone_digits
from dnc_service.validation.requests import parse_export

ORG = "64e5f12345abcdef12345678"
NOW = datetime(2026, 5, 15, 10, 30, tzinfo=UTC)
# Expiry is a residual condition beside orgId (filters.unexpired): never the index prefix.
UNEXPIRED = {"expiresAt": {"$not": {"$lte": NOW}}}


def test_without_search_the_filter_is_the_organization_alone() -> None:
    assert listing_filter(ORG, "", NOW) == {"orgId": ObjectId(ORG), **UNEXPIRED}


def test_search_is_an_or_of_escaped_case_insensitive_regexes() -> None:
    query = listing_filter(ORG, "a.*b", NOW)
    assert query["orgId"] == ObjectId(ORG)
    assert query["$or"] == [
        {field: {"$regex": r"a\.\*b", "$options": "i"}} for field in SEARCH_FIELDS
    ]


def test_search_and_cursor_are_both_required() -> None:
    after = {"_id": {"$lt": ObjectId(ORG)}}
    query = listing_filter(ORG, "abc", NOW, after)
    assert query["orgId"] == ObjectId(ORG)
    assert query["$and"][1] == after
    assert listing_filter(ORG, "", NOW, after) == {"orgId": ObjectId(ORG), **UNEXPIRED, **after}


def test_phone_search_adds_a_digits_regex_and_the_legacy_number() -> None:
    clauses = listing_filter(ORG, "+1 (212) 555", NOW)["$or"]
    assert {"phoneNumber": {"$regex": "1212555"}} in clauses
    assert {"phoneE164": {"$regex": "1212555"}} in clauses
    assert {"phoneNumber": 1212555} in clauses


def test_a_bare_number_needs_no_extra_phone_number_regex() -> None:
    clauses = listing_filter(ORG, "555", NOW)["$or"]
    assert clauses[-2:] == [{"phoneE164": {"$regex": "555"}}, {"phoneNumber": 555}]
    assert len(clauses) == len(SEARCH_FIELDS) + 2


def test_a_text_search_does_not_look_at_the_normalized_number() -> None:
    clauses = listing_filter(ORG, "customer", NOW)["$or"]
    assert all("phoneE164" not in clause for clause in clauses)


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
        query = listing_filter(ORG, parse_export(dnc_pb2.ExportDncRequest(search=search)), NOW)
    except InvalidArgument:
        return
    assert query["orgId"] == ObjectId(ORG)
    assert set(query) <= {"orgId", "expiresAt", "$or"}
    assert query["expiresAt"] == UNEXPIRED["expiresAt"]
    clauses = query.get("$or", [])
    assert bool(clauses) == bool(search.strip())
    for field, clause in zip(SEARCH_FIELDS, clauses, strict=False):
        # Each field's pattern matches exactly the search itself: every character is literal.
        assert clause == {field: {"$regex": clause[field]["$regex"], "$options": "i"}}
        assert re.fullmatch(clause[field]["$regex"], search.strip(), re.IGNORECASE)
    for clause in clauses[len(SEARCH_FIELDS) :]:
        # Phone variants: only digits, as a regex or as the legacy numeric value.
        [(field, condition)] = clause.items()
        assert field in ("phoneNumber", "phoneE164")
        assert isinstance(condition, int) or condition["$regex"].isdigit()
