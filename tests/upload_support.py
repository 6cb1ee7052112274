"""A scripted DncService for the streamed-body routes (scrub, import), deterministic and DB-free,
served on a real port: the gateway's transcoding of request streams is tested against it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc


def scrub_result(number: str) -> dnc_pb2.CheckResult:
    """What the scripted scrub answers: numbers ending in an odd digit are listed."""
    digits = "".join(char for char in number if char.isdigit())
    if not digits:
        return dnc_pb2.CheckResult(input=number, error="not a phone number")
    return dnc_pb2.CheckResult(
        input=number, phone_e164="+" + digits, listed=int(digits[-1]) % 2 == 1
    )


@dataclass
class Seen:
    """What the scripted service received, for the tests to check."""

    messages: int = 0
    items: int = 0
    regions: set[str] = field(default_factory=set)
    dry_runs: set[bool] = field(default_factory=set)
    half_closed: bool = False
    cancelled: bool = False


class _Unscripted(dnc_pb2_grpc.DncServiceServicer):
    """The RPCs these servicers do not script: UNIMPLEMENTED, as the base class answers."""

    ListDnc = dnc_pb2_grpc.DncServiceServicer.ListDnc
    AddDnc = dnc_pb2_grpc.DncServiceServicer.AddDnc
    RemoveDnc = dnc_pb2_grpc.DncServiceServicer.RemoveDnc
    BatchAddDnc = dnc_pb2_grpc.DncServiceServicer.BatchAddDnc
    CheckDnc = dnc_pb2_grpc.DncServiceServicer.CheckDnc
    ExportDnc = dnc_pb2_grpc.DncServiceServicer.ExportDnc
    ListDncHistory = dnc_pb2_grpc.DncServiceServicer.ListDncHistory
    ExportDncBatches = dnc_pb2_grpc.DncServiceServicer.ExportDncBatches


class ScriptedUploads(_Unscripted):
    """Scrub answers `scrub_result` per number; import counts rows (a number starting with `x`
    is invalid). A number `abort:CODE` aborts; `slow` as region sleeps `delay` per message."""

    def __init__(self, delay: float = 0.0) -> None:
        self.seen = Seen()
        self.delay = delay

    def _note(self, request: Any, items: int) -> None:
        seen = self.seen
        seen.messages += 1
        seen.items += items
        seen.regions.add(request.region)
        if hasattr(request, "dry_run"):
            seen.dry_runs.add(request.dry_run)

    def _ended(self, context: Any) -> None:
        """The request stream ended: the client half-closed it, or the call was cancelled."""
        if context.cancelled():
            self.seen.cancelled = True
        else:
            self.seen.half_closed = True

    async def ScrubDnc(
        self, requests: AsyncIterator[dnc_pb2.ScrubDncRequest], context: Any
    ) -> AsyncIterator[dnc_pb2.ScrubDncResponse]:
        try:
            async for request in requests:
                self._note(request, len(request.phone_numbers))
                for number in request.phone_numbers:
                    if number.startswith("abort:"):
                        await context.abort(grpc.StatusCode[number[6:]], "scripted abort")
                if self.delay:
                    await asyncio.sleep(self.delay)
                results = [scrub_result(number) for number in request.phone_numbers]
                yield dnc_pb2.ScrubDncResponse(results=results)
            await asyncio.sleep(0.05)  # a cancellation ends the request iterator too: let it land
            self._ended(context)
        except asyncio.CancelledError:
            self.seen.cancelled = True
            raise

    async def ImportDnc(
        self, requests: AsyncIterator[dnc_pb2.ImportDncRequest], context: Any
    ) -> dnc_pb2.ImportDncResponse:
        response = dnc_pb2.ImportDncResponse()
        row = 0
        try:
            async for request in requests:
                self._note(request, len(request.entries))
                if self.delay:
                    await asyncio.sleep(self.delay)
                for entry in request.entries:
                    if entry.phone_number.startswith("abort:"):
                        await context.abort(grpc.StatusCode[entry.phone_number[6:]], "scripted")
                    if entry.phone_number.startswith("x"):
                        response.invalid += 1
                        if len(response.errors) < 1000:
                            response.errors.add(row=row, error="not a phone number")
                    else:
                        response.added += 1
                    row += 1
            await asyncio.sleep(0.05)  # a cancellation ends the request iterator too: let it land
            self._ended(context)
        except asyncio.CancelledError:
            self.seen.cancelled = True
            raise
        return response


class SlowSyncScrub(_Unscripted):
    """A thread-pool servicer that reads slowly: the gateway's flow control is what is tested."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.items = 0

    def ScrubDnc(
        self, requests: Iterator[dnc_pb2.ScrubDncRequest], context: Any
    ) -> Iterator[dnc_pb2.ScrubDncResponse]:
        for request in requests:
            time.sleep(self.delay)
            self.items += len(request.phone_numbers)
            yield dnc_pb2.ScrubDncResponse(
                results=[scrub_result(number) for number in request.phone_numbers]
            )

    def ImportDnc(
        self, requests: Iterator[dnc_pb2.ImportDncRequest], context: Any
    ) -> dnc_pb2.ImportDncResponse:
        added = 0
        for request in requests:
            time.sleep(self.delay)
            added += len(request.entries)
            self.items += len(request.entries)
        return dnc_pb2.ImportDncResponse(added=added)
