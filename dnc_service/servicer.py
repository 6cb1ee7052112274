"""dnc.v1.DncService: authenticate, validate, read, render; errors become a status in one place."""

from __future__ import annotations

import logging
import math

import grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.logs import mask_phone
from dnc_common.wire import ORG_ID_TRAILER

from . import page_tokens
from .auth import Authenticator
from .errors import status_for
from .observability import annotate
from .store import EntriesStore, deadline
from .validation import parse_request

logger = logging.getLogger(__name__)
_INT32_MAX = 2**31 - 1
Context = grpc.aio.ServicerContext[dnc_pb2.ListDncRequest, dnc_pb2.ListDncResponse]


class DncServicer(dnc_pb2_grpc.DncServiceServicer):
    """The ListDnc RPC, bounded by the caller's deadline and the server's own limit."""

    def __init__(
        self, authenticator: Authenticator, entries: EntriesStore, request_timeout_seconds: float
    ) -> None:
        self._authenticator = authenticator
        self._entries = entries
        self._request_timeout_seconds = request_timeout_seconds

    async def ListDnc(
        self, request: dnc_pb2.ListDncRequest, context: Context
    ) -> dnc_pb2.ListDncResponse:
        try:
            budget = self._budget_seconds(context)
            async with deadline(budget):
                return await self._list(request, context, budget)
        except Exception as error:
            code, details = status_for(error)
            await context.abort(code, details)

    async def _list(
        self, request: dnc_pb2.ListDncRequest, context: Context, budget: float
    ) -> dnc_pb2.ListDncResponse:
        org_id = await self._authenticator.authenticate(context.invocation_metadata())
        context.set_trailing_metadata(((ORG_ID_TRAILER, org_id),))
        query = parse_request(request)
        annotate(org_id=org_id, page=query.page, limit=query.limit)
        if query.search:
            annotate(search=mask_phone(query.search))
        page = await self._entries.list_page(org_id, query, max_time_ms=int(budget * 1000))
        total = min(page.total, _INT32_MAX)
        return dnc_pb2.ListDncResponse(
            dnc_list=page.entries,
            pagination=dnc_pb2.Pagination(
                total=total,
                page=query.page,
                limit=query.limit,
                total_pages=math.ceil(total / query.limit),
            ),
            next_page_token=(
                page_tokens.encode(page.next_cursor, query.search) if page.next_cursor else ""
            ),
        )

    def _budget_seconds(self, context: Context) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self._request_timeout_seconds
        return max(0.001, min(remaining, self._request_timeout_seconds))
