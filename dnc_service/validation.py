"""What a ListDnc request asks for, validated: bounds, defaults and the page token."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from dnc.v1 import dnc_pb2

from . import page_tokens
from .errors import InvalidArgument
from .page_tokens import Cursor

DEFAULT_PAGE = 1
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_SEARCH_LENGTH = 128


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated page request: how many entries, matching what, starting where."""

    limit: int = DEFAULT_LIMIT
    search: str = ""
    cursor: Cursor = field(default_factory=lambda: Cursor.at_page(DEFAULT_PAGE, DEFAULT_LIMIT))

    @classmethod
    def at_page(
        cls, page: int = DEFAULT_PAGE, limit: int = DEFAULT_LIMIT, search: str = ""
    ) -> ListQuery:
        """Page `page`, reached by offset (no page token)."""
        return cls(limit, search, Cursor.at_page(page, limit))

    @property
    def page(self) -> int:
        return self.cursor.page


def parse_request(request: dnc_pb2.ListDncRequest) -> ListQuery:
    """Apply defaults and bounds; raise InvalidArgument with a message the caller can act on."""
    page = request.page if request.HasField("page") else DEFAULT_PAGE
    if page < 1:
        raise InvalidArgument(f"page must be an integer >= 1, got {page}")
    limit = request.limit if request.HasField("limit") else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit}")
    search = parse_search(request.search)
    if not request.page_token:
        return ListQuery.at_page(page, limit, search)
    if request.HasField("page"):
        raise InvalidArgument("give page or page_token, not both")
    return ListQuery(limit, search, page_tokens.decode(request.page_token, search))


def parse_search(raw: str) -> str:
    """Trim surrounding blanks and refuse what no phone, type or UUID can contain."""
    if len(raw) > MAX_SEARCH_LENGTH:
        raise InvalidArgument(
            f"search must be at most {MAX_SEARCH_LENGTH} characters, got {len(raw)}"
        )
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in raw):
        raise InvalidArgument("search must not contain control characters")
    return raw.strip()
