"""dnc.v1.DncService, the thin gRPC edge: authenticate, bound by a deadline, delegate, and turn
every error into a status in one place. ListDnc is here; the management RPCs in management.py."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.logs import mask_phone
from dnc_common.wire import ORG_ID_TRAILER

from .auth import Authenticator, Caller
from .call import annotate, request_id
from .errors import abort
from .management import Management
from .page_tokens import KEY_BYTES, PageTokens
from .store import EntriesStore, deadline
from .validation import parse_request

logger = logging.getLogger(__name__)
_INT32_MAX = 2**31 - 1
Context = grpc.aio.ServicerContext[Any, Any]
Reply = TypeVar("Reply")


class DncServicer(dnc_pb2_grpc.DncServiceServicer):
    """Every RPC bounded by the caller's deadline and the server's own limit for its kind:
    `request_timeout_seconds` for unary calls, `export_timeout_seconds` for an export."""

    def __init__(
        self,
        authenticator: Authenticator,
        entries: EntriesStore,
        management: Management,
        request_timeout_seconds: float,
        export_timeout_seconds: float = 600.0,
        tokens: PageTokens | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._entries = entries
        self._management = management
        self._request_timeout_seconds = request_timeout_seconds
        self._export_timeout_seconds = export_timeout_seconds
        # Without configured keys (tests), a key of this servicer's own.
        self._tokens = tokens or PageTokens([os.urandom(KEY_BYTES)])

    async def ListDnc(
        self, request: dnc_pb2.ListDncRequest, context: Context
    ) -> dnc_pb2.ListDncResponse:
        return await self._unary(
            context, lambda caller, budget: self._list(request, caller, budget)
        )

    async def AddDnc(
        self, request: dnc_pb2.AddDncRequest, context: Context
    ) -> dnc_pb2.AddDncResponse:
        return await self._unary(
            context, lambda caller, _: self._management.add(caller, request, request_id())
        )

    async def RemoveDnc(
        self, request: dnc_pb2.RemoveDncRequest, context: Context
    ) -> dnc_pb2.RemoveDncResponse:
        return await self._unary(
            context,
            lambda caller, _: self._management.remove(caller, request, request_id()),
        )

    async def BatchAddDnc(
        self, request: dnc_pb2.BatchAddDncRequest, context: Context
    ) -> dnc_pb2.BatchAddDncResponse:
        return await self._unary(
            context,
            lambda caller, _: self._management.batch_add(caller, request, request_id()),
        )

    async def CheckDnc(
        self, request: dnc_pb2.CheckDncRequest, context: Context
    ) -> dnc_pb2.CheckDncResponse:
        return await self._unary(
            context,
            lambda caller, budget: self._management.check(caller, request, _ms(budget)),
        )

    async def ExportDnc(  # type: ignore[override]  # writes its stream with context.write
        self, request: dnc_pb2.ExportDncRequest, context: Context
    ) -> None:
        """Stream entry by entry: each write waits for the client, so memory stays flat."""
        exported = 0
        try:
            budget = self._budget_seconds(context, self._export_timeout_seconds)
            async with deadline(budget):
                caller = await self._caller(context)
                entries = self._management.export(caller, request, _ms(budget))
                async with aclosing(entries):
                    async for entry in entries:
                        await context.write(entry)
                        exported += 1
        except Exception as error:
            await abort(context, error)
        finally:
            annotate(exported=exported)

    async def _list(
        self, request: dnc_pb2.ListDncRequest, caller: Caller, budget: float
    ) -> dnc_pb2.ListDncResponse:
        query = parse_request(request, caller.org_id, self._tokens)
        annotate(page=query.page, limit=query.limit)
        if query.search:
            annotate(search=mask_phone(query.search))
        page = await self._entries.list_page(caller.org_id, query, max_time_ms=_ms(budget))
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
                self._tokens.encode(page.next_cursor, caller.org_id, query.search)
                if page.next_cursor
                else ""
            ),
        )

    async def _unary(
        self, context: Context, work: Callable[[Caller, float], Awaitable[Reply]]
    ) -> Reply:
        """Authenticate, then `work(caller, budget)` within the budget; errors become a status."""
        try:
            budget = self._budget_seconds(context, self._request_timeout_seconds)
            async with deadline(budget):
                return await work(await self._caller(context), budget)
        except Exception as error:
            await abort(context, error)

    async def _caller(self, context: Context) -> Caller:
        caller = await self._authenticator.authenticate(context.invocation_metadata())
        context.set_trailing_metadata(((ORG_ID_TRAILER, caller.org_id),))
        annotate(org_id=caller.org_id)
        return caller

    def _budget_seconds(self, context: Context, limit: float) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return limit
        return max(0.001, min(remaining, limit))


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
