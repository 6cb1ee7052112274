"""What ListDncHistory accepts: the number as CheckDnc reads it, the limit's bounds and default,
and page tokens that open only for the organization, number and RPC they were made for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import MAX_PAGE_SIZE, PagePosition, PageTokens
from dnc_service.validation.requests import (
    HISTORY_TOKEN_INVALID,
    HISTORY_TOKEN_PURPOSE,
    HistoryQuery,
    parse_history,
    parse_list,
)
from dnc_service.validation.rules import field_rules

ORG, OTHER_ORG = "64e5f12345abcdef00000001", "64e5f12345abcdef00000002"
LAST = "64e5f12345abcdef98765432"
NUMBER = "+12125551234"
AT = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)
POSITION = PagePosition(2, 20, LAST, AT)


def parse(org: str = ORG, **fields: Any) -> HistoryQuery:
    return parse_history(dnc_pb2.ListDncHistoryRequest(**fields), org, PageTokens([b"h" * 32]))


def history_token(number: str = NUMBER, org: str = ORG) -> str:
    return PageTokens([b"h" * 32]).encode(POSITION, org, number, HISTORY_TOKEN_PURPOSE)


def altered(token: str) -> str:
    """`token` with one character of its sealed body changed."""
    return token[:20] + ("B" if token[20] == "A" else "A") + token[21:]


def refusal(org: str = ORG, **fields: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        parse(org, **fields)
    return raised.value


@pytest.mark.parametrize("raw", ["12125551234", "+1 (212) 555-1234", " +1.212.555.1234 "])
def test_the_number_is_normalized_and_the_limit_defaults_to_twenty(raw: str) -> None:
    assert parse(phone_number=raw) == HistoryQuery(NUMBER, 20, PagePosition(1, 0))


@pytest.mark.parametrize("limit", [1, 100])
def test_limits_inside_the_bounds_are_kept(limit: int) -> None:
    assert parse(phone_number=NUMBER, limit=limit).limit == limit


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone_number": "911"}, "phone_number"),
        ({"phone_number": "call me"}, "phone_number"),
        ({"phone_number": ""}, "phone_number"),
        ({"phone_number": "1" * 33}, "phone_number"),
        ({"phone_number": NUMBER, "limit": 0}, "limit"),
        ({"phone_number": NUMBER, "limit": 101}, "limit"),
        ({"phone_number": NUMBER, "limit": -1}, "limit"),
    ],
)
def test_bad_input_names_its_field(fields: dict[str, Any], field: str) -> None:
    assert refusal(**fields).field == field


def test_a_token_resumes_for_its_number_in_any_form_and_with_another_limit() -> None:
    query = parse(phone_number="1 212 555 1234", limit=7, page_token=history_token())
    assert query == HistoryQuery(NUMBER, 7, POSITION)


@pytest.mark.parametrize(
    ("org", "number", "token"),
    [
        (ORG, "+12125559999", history_token()),  # another number
        (OTHER_ORG, NUMBER, history_token()),  # replayed by another organization
        (ORG, NUMBER, altered(history_token())),  # altered
        (ORG, NUMBER, "made-up"),
        # ListDnc's token for a search that is this very number: another RPC's, refused.
        (ORG, NUMBER, PageTokens([b"h" * 32]).encode(POSITION, ORG, NUMBER)),
    ],
)
def test_a_token_of_anything_else_is_refused(org: str, number: str, token: str) -> None:
    error = refusal(org, phone_number=number, page_token=token)
    assert (error.field, error.message) == ("page_token", HISTORY_TOKEN_INVALID)


def test_a_history_token_does_not_page_the_list() -> None:
    tokens = PageTokens([b"h" * 32])
    request = dnc_pb2.ListDncRequest(search=NUMBER, page_token=history_token())
    with pytest.raises(InvalidArgument) as raised:
        parse_list(request, ORG, tokens)
    assert raised.value.field == "page_token"


def test_a_history_page_fits_the_offsets_a_token_may_carry() -> None:
    # A token's offset is bounded by MAX_PAGE_SIZE per page before it (ListDnc's limit): a
    # larger history limit would make the later pages' tokens unopenable.
    history_max = field_rules(dnc_pb2.ListDncHistoryRequest.DESCRIPTOR, "limit").int32.lte
    assert history_max <= MAX_PAGE_SIZE
    tokens = PageTokens([b"h" * 32])
    deep = PagePosition(1, 0).next(history_max, LAST, AT).next(history_max, LAST, AT)
    token = tokens.encode(deep, ORG, NUMBER, HISTORY_TOKEN_PURPOSE)
    query = parse(phone_number=NUMBER, page_token=token)
    assert query.position == deep
