"""ListDnc's bounds to the character: each edge accepted, the first value past it refused
with the text a caller can act on (these texts are what a client reads in the status)."""

from __future__ import annotations

import pytest

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import PagePosition, PageTokens
from dnc_service.validation import requests as validation
from dnc_service.validation.requests import ListQuery

ORG = "64e5f12345abcdef12345678"
TOKENS = PageTokens([b"b" * 32])


def parse_request(request: dnc_pb2.ListDncRequest) -> ListQuery:
    return validation.parse_list(request, ORG, TOKENS)


def refusal(**fields: object) -> str:
    with pytest.raises(InvalidArgument) as caught:
        parse_request(dnc_pb2.ListDncRequest(**fields))  # type: ignore[arg-type]
    return caught.value.message


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"page": 0}, "page must be an integer >= 1, got 0"),
        ({"page": -7}, "page must be an integer >= 1, got -7"),
        ({"limit": 0}, "limit must be an integer from 1 to 100, got 0"),
        ({"limit": 101}, "limit must be an integer from 1 to 100, got 101"),
        ({"search": "a" * 129}, "search must be at most 128 characters, got 129"),
        ({"search": "555\x00"}, "search must not contain control characters"),
        ({"search": "555\x7f"}, "search must not contain control characters"),
        ({"search": "555\x85"}, "search must not contain control characters"),
    ],
)
def test_each_refusal_says_which_bound_and_what_was_given(
    fields: dict[str, object], text: str
) -> None:
    assert refusal(**fields) == text


def test_the_bounds_themselves_are_accepted() -> None:
    assert parse_request(dnc_pb2.ListDncRequest(page=1)).page == 1
    assert parse_request(dnc_pb2.ListDncRequest(limit=1)).limit == 1
    search = "5" * 128
    assert parse_request(dnc_pb2.ListDncRequest(search=search)).search == search


def test_a_search_of_128_characters_counts_its_blanks_before_trimming() -> None:
    assert parse_request(dnc_pb2.ListDncRequest(search=f" {'5' * 126} ")).search == "5" * 126
    assert refusal(search=f" {'5' * 127} ") == "search must be at most 128 characters, got 129"


def test_blanks_inside_a_search_are_kept_and_are_not_control_characters() -> None:
    assert parse_request(dnc_pb2.ListDncRequest(search=" +1 (212) 555 ")).search == "+1 (212) 555"


def test_page_with_a_page_token_names_both() -> None:
    token = TOKENS.encode(PagePosition(2, 10), ORG, "")
    assert refusal(page=1, page_token=token) == "give page or page_token, not both"
