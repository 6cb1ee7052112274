"""What a ListDnc request asks for, validated: bounds, defaults and the page token.

The bounds are the proto's buf.validate rules (request_rules); defaults, trimming and page
tokens are what the rules cannot say, and live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dnc.v1 import dnc_pb2

from . import page_tokens, request_rules
from .page_tokens import Cursor

DEFAULT_PAGE = 1
DEFAULT_LIMIT = 10
# Read from the proto's rule, for code that needs the number (not for checking it).
MAX_LIMIT = request_rules.field_rules(dnc_pb2.ListDncRequest.DESCRIPTOR, "limit").int32.lte


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


def parse_request(
    request: dnc_pb2.ListDncRequest, org_id: str, tokens: page_tokens.PageTokens
) -> ListQuery:
    """Check the proto's rules, then apply defaults; InvalidArgument names the field at fault.

    A page token opens only for the organization (`org_id`) and search it was made for.
    """
    request_rules.check(request)
    limit = request.limit if request.HasField("limit") else DEFAULT_LIMIT
    # Surrounding blanks are ignored (the rules refuse control characters, not spaces).
    search = request.search.strip()
    if request.page_token:  # the rules refuse a page alongside it
        return ListQuery(limit, search, tokens.decode(request.page_token, org_id, search))
    page = request.page if request.HasField("page") else DEFAULT_PAGE
    return ListQuery.at_page(page, limit, search)


def parse_search(raw: str) -> str:
    """A search as ListDnc takes it, for other requests with one: ListDncRequest.search's rules
    checked on `raw`, then trimmed. (A request that declares the same rules on its own search
    field needs only request_rules.check.)"""
    request_rules.check(dnc_pb2.ListDncRequest(search=raw))
    return raw.strip()
