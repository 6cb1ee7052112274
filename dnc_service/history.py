"""A number's compliance record: ListDncHistory, every recorded change of one number in the
caller's organization, newest first, a page at a time with sealed page tokens. The servicer
authenticates and bounds the call; this decides. The records are the audit trail's
(store/audit.py writes them, store/history.py reads them), so the history outlives the entry.
"""

from __future__ import annotations

from dnc.v1 import dnc_pb2
from dnc_common.logs import mask_phone

from .auth import Caller
from .call import annotate
from .page_tokens import PageTokens
from .store import EventPage, HistoryReader, SortKey
from .validation.requests import HISTORY_TOKEN_PURPOSE, HistoryQuery, parse_history


class History:
    """What ListDncHistory answers, given who calls."""

    def __init__(self, reader: HistoryReader, tokens: PageTokens) -> None:
        self._reader = reader
        self._tokens = tokens

    async def list(
        self, caller: Caller, request: dnc_pb2.ListDncHistoryRequest, max_time_ms: int
    ) -> dnc_pb2.ListDncHistoryResponse:
        """One page of events, newest first, and a token for the next page if any."""
        query = parse_history(request, caller.org_id, self._tokens)
        annotate(page=query.position.page, limit=query.limit, phone=mask_phone(query.phone_e164))
        position = query.position
        after = None if position.last_id is None else SortKey(position.last_id, position.created_at)
        page = await self._reader.page(
            caller.org_id, query.phone_e164, query.limit,
            skip=position.skip, after=after, max_time_ms=max_time_ms,
        )  # fmt: skip
        annotate(items=len(page.events))
        return dnc_pb2.ListDncHistoryResponse(
            events=page.events,
            next_page_token=self._next_token(caller, query, page) if page.more else "",
        )

    def _next_token(self, caller: Caller, query: HistoryQuery, page: EventPage) -> str:
        """The sealed position right after this page's last event, for this number only."""
        last, limit = page.last, query.limit
        following = (
            query.position.next(limit, last.entry_id, last.created_at)
            if last is not None
            else query.position.next(limit)  # keyset order can't resume: by offset alone
        )
        return self._tokens.encode(
            following, caller.org_id, query.phone_e164, HISTORY_TOKEN_PURPOSE
        )
