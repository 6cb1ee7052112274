"""dnc.v1.DncService, the thin gRPC edge: authenticate, bound by a deadline, delegate, and turn
every error into a status in one place. Each request concept has its module: listing.py
(ListDnc, ExportDnc), writes.py (AddDnc, RemoveDnc, BatchAddDnc), checks.py (CheckDnc),
history.py (ListDncHistory), scrubbing.py (ScrubDnc), imports.py (ImportDnc)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.wire import ORG_ID_TRAILER

from . import call
from .auth import Authenticator, Caller
from .call import annotate
from .checks import Checks
from .errors import abort
from .history import History
from .imports import Imports
from .listing import Listing
from .scrubbing import Scrubbing
from .store import deadline
from .writes import Writes

Context = grpc.aio.ServicerContext[Any, Any]
Reply = TypeVar("Reply")


class DncServicer(dnc_pb2_grpc.DncServiceServicer):
    """Every RPC bounded by the caller's deadline and the server's own limit for its kind:
    `request_timeout_seconds` for unary calls, `export_timeout_seconds` for an export,
    `stream_timeout_seconds` for a scrub or an import (whose queries keep the unary limit)."""

    def __init__(
        self,
        authenticator: Authenticator,
        listing: Listing,
        writes: Writes,
        checks: Checks,
        history: History,
        request_timeout_seconds: float,
        export_timeout_seconds: float = 600.0,
        stream_timeout_seconds: float = 3600.0,
    ) -> None:
        self._authenticator = authenticator
        self._listing = listing
        self._writes = writes
        self._checks = checks
        self._history = history
        self._request_timeout_seconds = request_timeout_seconds
        self._export_timeout_seconds = export_timeout_seconds
        self._stream_timeout_seconds = stream_timeout_seconds
        self._scrubbing = Scrubbing(checks)
        self._imports = Imports(writes)

    async def ListDnc(
        self, request: dnc_pb2.ListDncRequest, context: Context
    ) -> dnc_pb2.ListDncResponse:
        return await self._unary(
            context, lambda caller, budget: self._listing.list(caller, request, _ms(budget))
        )

    async def AddDnc(
        self, request: dnc_pb2.AddDncRequest, context: Context
    ) -> dnc_pb2.AddDncResponse:
        return await self._unary(context, lambda caller, _: self._writes.add(caller, request))

    async def RemoveDnc(
        self, request: dnc_pb2.RemoveDncRequest, context: Context
    ) -> dnc_pb2.RemoveDncResponse:
        return await self._unary(context, lambda caller, _: self._writes.remove(caller, request))

    async def BatchAddDnc(
        self, request: dnc_pb2.BatchAddDncRequest, context: Context
    ) -> dnc_pb2.BatchAddDncResponse:
        return await self._unary(context, lambda caller, _: self._writes.batch_add(caller, request))

    async def CheckDnc(
        self, request: dnc_pb2.CheckDncRequest, context: Context
    ) -> dnc_pb2.CheckDncResponse:
        return await self._unary(
            context, lambda caller, budget: self._checks.check(caller, request, _ms(budget))
        )

    async def ExportDnc(  # type: ignore[override]  # writes its stream with context.write
        self, request: dnc_pb2.ExportDncRequest, context: Context
    ) -> None:
        """Stream entry by entry: each write waits for the client, so memory stays flat."""
        await self._export(request, context, batched=False)

    async def ExportDncBatches(  # type: ignore[override]  # writes its stream with context.write
        self, request: dnc_pb2.ExportDncBatchesRequest, context: Context
    ) -> None:
        """ExportDnc's entries, a database batch to a message (far fewer messages to write)."""
        await self._export(request, context, batched=True)

    async def _export(
        self,
        request: dnc_pb2.ExportDncRequest | dnc_pb2.ExportDncBatchesRequest,
        context: Context,
        batched: bool,
    ) -> None:
        exported = 0
        try:
            budget = self._budget_seconds(context, self._export_timeout_seconds)
            async with deadline(budget):
                caller = await self._caller(context)
                batches = self._listing.export(caller, request, _ms(budget))
                async with aclosing(batches):
                    async for entries in batches:
                        if not await _write_entries(context, entries, batched):
                            break
                        exported += len(entries)
        except Exception as error:
            await abort(context, error)
        finally:
            annotate(exported=exported)

    async def ScrubDnc(  # type: ignore[override]  # writes its stream with context.write
        self, request_iterator: AsyncIterator[dnc_pb2.ScrubDncRequest], context: Context
    ) -> None:
        """One response per request message, in order; see scrubbing.py for the pipeline."""
        answered = 0
        try:
            budget = self._budget_seconds(context, self._stream_timeout_seconds)
            async with deadline(budget):
                caller = await self._caller(context)
                query_ms = _ms(min(budget, self._request_timeout_seconds))
                responses = self._scrubbing.scrub(caller, request_iterator, query_ms)
                async with aclosing(responses):
                    async for response in responses:
                        await context.write(response)
                        answered += 1
        except Exception as error:
            await abort(context, error)
        finally:
            annotate(messages=answered)

    async def ImportDnc(
        self, request_iterator: AsyncIterator[dnc_pb2.ImportDncRequest], context: Context
    ) -> dnc_pb2.ImportDncResponse:
        try:
            budget = self._budget_seconds(context, self._stream_timeout_seconds)
            async with deadline(budget):
                caller = await self._caller(context)
                return await self._imports.load(caller, request_iterator)
        except Exception as error:
            await abort(context, error)

    async def ListDncHistory(
        self, request: dnc_pb2.ListDncHistoryRequest, context: Context
    ) -> dnc_pb2.ListDncHistoryResponse:
        return await self._unary(
            context, lambda caller, budget: self._history.list(caller, request, _ms(budget))
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
        """The caller's deadline or the server's `limit`, counted from the call's start (the
        user lookup admission made already spent part of it)."""
        left = limit - call.elapsed()
        remaining = context.time_remaining()
        if remaining is not None:
            left = min(left, remaining)
        return max(0.001, left)


async def _write_entries(context: Context, entries: list[dnc_pb2.DncEntry], batched: bool) -> bool:
    """Write one database batch (one message, or one per entry); False once the stream is closed.

    A write fails only when the stream is gone (the client cancelled, its deadline passed, its
    connection dropped): grpc may report that before it marks the call cancelled, and there is
    no one left to answer, so it is no error of ours (it was logged as INTERNAL before).
    """
    try:
        if batched:
            await context.write(dnc_pb2.ExportDncBatchesResponse(entries=entries))
        else:
            for entry in entries:
                await context.write(entry)
    except Exception:  # grpc's ExecuteBatchError (a private type): the stream is closed
        annotate(stream_closed=True)
        return False
    return True


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
