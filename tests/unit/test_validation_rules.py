"""A ListDnc request's defaults and bounds, without a database."""

from __future__ import annotations

import pytest

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import MAX_PAGE_SIZE, PagePosition, PageTokens
from dnc_service.validation import requests as validation
from dnc_service.validation.requests import ListQuery

ORG = "64e5f12345abcdef12345678"
TOKENS = PageTokens([b"k" * 32])


def parse_request(request: dnc_pb2.ListDncRequest) -> ListQuery:
    return validation.parse_list(request, ORG, TOKENS)


# The proto's rule on ListDncRequest.limit.
MAX_LIMIT = 100


def test_tokens_bound_offsets_by_the_largest_page() -> None:
    assert MAX_PAGE_SIZE == MAX_LIMIT


def test_defaults() -> None:
    assert parse_request(dnc_pb2.ListDncRequest()) == ListQuery(limit=10, search="")
    assert ListQuery().page == 1
    assert ListQuery.at_page() == ListQuery(limit=10, search="")


def test_a_page_starts_after_the_pages_before_it() -> None:
    query = parse_request(dnc_pb2.ListDncRequest(page=3, limit=20))
    assert query.position == PagePosition(page=3, offset=40)
    assert query.position.skip == 40


@pytest.mark.parametrize("limit", [1, 2, 10, 49, 50, 51, 99, MAX_LIMIT])
def test_every_limit_in_range_is_kept_exactly(limit: int) -> None:
    """A silent cap (say at 50) would pass every bounds test; this one fails on it."""
    query = parse_request(dnc_pb2.ListDncRequest(page=2, limit=limit))
    assert (query.page, query.limit) == (2, limit)
    assert query.position.offset == limit


def test_the_largest_limit_is_100() -> None:
    assert MAX_LIMIT == 100
    assert parse_request(dnc_pb2.ListDncRequest(limit=100)).limit == 100
    with pytest.raises(InvalidArgument, match="from 1 to 100, got 101"):
        parse_request(dnc_pb2.ListDncRequest(limit=101))


@pytest.mark.parametrize(
    "fields",
    [
        {"page": 0},
        {"page": -1},
        {"limit": 0},
        {"limit": -5},
        {"limit": 101},
        {"search": "a" * 129},
        {"search": "a\x00b"},
    ],
)
def test_out_of_bounds(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        parse_request(dnc_pb2.ListDncRequest(**fields))  # type: ignore[arg-type]


def test_search_is_trimmed() -> None:
    assert parse_request(dnc_pb2.ListDncRequest(search="  555 ")).search == "555"


def test_a_page_token_gives_the_page_and_keeps_the_requested_limit() -> None:
    position = PagePosition(page=4, offset=30, last_id="64e5f12345abcdef98765432")
    token = TOKENS.encode(position, ORG, "abc")
    query = parse_request(dnc_pb2.ListDncRequest(page_token=token, limit=25, search="abc"))
    assert query == ListQuery(limit=25, search="abc", position=position)
    assert query.page == 4


def test_page_and_page_token_together_are_refused() -> None:
    token = TOKENS.encode(PagePosition(2, 10), ORG, "")
    with pytest.raises(InvalidArgument, match="not both"):
        parse_request(dnc_pb2.ListDncRequest(page=2, page_token=token))
