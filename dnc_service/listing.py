"""Listing an organization's entries: ListDnc (a page at a time, with page tokens) and
ExportDnc (every match, streamed). The servicer authenticates and bounds the call; this decides.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator

from dnc.v1 import dnc_pb2
from dnc_common.logs import mask_phone

from .auth import Caller
from .call import annotate
from .page_tokens import PageTokens
from .store import EntriesStore, Page, SortKey
from .validation.requests import ListQuery, parse_export, parse_list

_INT32_MAX = 2**31 - 1
# A batch of exported entries (named here: inside Listing, `list` is the ListDnc method).
Entries = list[dnc_pb2.DncEntry]


class Listing:
    """What ListDnc and ExportDnc answer, given who calls."""

    def __init__(self, entries: EntriesStore, tokens: PageTokens) -> None:
        self._entries = entries
        self._tokens = tokens

    async def list(
        self, caller: Caller, request: dnc_pb2.ListDncRequest, max_time_ms: int
    ) -> dnc_pb2.ListDncResponse:
        """One page, newest first, its pagination, and a token for the next page if any."""
        query = parse_list(request, caller.org_id, self._tokens)
        annotate(page=query.page, limit=query.limit)
        if query.search:
            annotate(search=mask_phone(query.search))
        position = query.position
        after = None if position.last_id is None else SortKey(position.last_id, position.created_at)
        page = await self._entries.list_page(
            caller.org_id, query.search, query.limit,
            skip=position.skip, after=after, max_time_ms=max_time_ms,
        )  # fmt: skip
        total = min(page.total, _INT32_MAX)
        return dnc_pb2.ListDncResponse(
            dnc_list=page.entries,
            pagination=dnc_pb2.Pagination(
                total=total,
                page=query.page,
                limit=query.limit,
                total_pages=math.ceil(total / query.limit),
            ),
            next_page_token=self._next_token(caller, query, page) if page.more else "",
        )

    def _next_token(self, caller: Caller, query: ListQuery, page: Page) -> str:
        """The sealed position right after this page's last entry."""
        last, limit = page.last, query.limit
        following = (
            query.position.next(limit, last.entry_id, last.created_at)
            if last is not None
            else query.position.next(limit)  # keyset order can't resume: by offset alone
        )
        return self._tokens.encode(following, caller.org_id, query.search)

    async def export(
        self,
        caller: Caller,
        request: dnc_pb2.ExportDncRequest | dnc_pb2.ExportDncBatchesRequest,
        max_time_ms: int,
    ) -> AsyncGenerator[Entries]:
        """Every matching entry, newest first, a database batch at a time; the search is
        validated as ListDnc's. ExportDnc sends them one by one, ExportDncBatches together."""
        search = parse_export(request)
        async for entries in self._entries.export(caller.org_id, search, max_time_ms):
            yield entries
