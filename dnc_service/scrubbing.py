"""ScrubDnc: a campaign checked message by message, one response per message, in order.

The stream is pipelined with a bounded read-ahead: up to `depth` messages are parsed and their
lookups sent before the oldest is answered, so the service parses the next message while the
database answers the previous ones. Nothing is read further ahead: a message is read only once
a response has been written (and `context.write` waits for the client's HTTP/2 window), so a
slow reader slows the sender and memory stays at `depth` messages whatever the stream length.
Closing the generator (the client went away, the deadline passed) cancels the lookups in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator

from dnc.v1 import dnc_pb2

from .auth import Caller
from .checks import Checks
from .errors import InvalidArgument
from .metrics import SCRUB_LOOKUPS
from .validation.requests import parse_check

# Lookups in flight per stream: the next message is parsed and sent while the database answers
# the previous one. More did not help on FerretDB (CPU-bound: its queries only queue up); each
# holds one pooled connection.
READ_AHEAD = 2

Lookup = asyncio.Task[list[dnc_pb2.CheckResult]]


class Scrubbing:
    """What ScrubDnc answers, given who calls: each message as CheckDnc answers its numbers."""

    def __init__(self, checks: Checks, depth: int = READ_AHEAD) -> None:
        self._checks = checks
        self._depth = depth

    async def scrub(
        self,
        caller: Caller,
        requests: AsyncIterator[dnc_pb2.ScrubDncRequest],
        max_time_ms: int,
    ) -> AsyncGenerator[dnc_pb2.ScrubDncResponse]:
        """One response per message of `requests`, in order; a bad message ends the stream
        with InvalidArgument once the responses before it are out."""
        pending: deque[Lookup] = deque()
        try:
            more = True
            while more or pending:
                while more and len(pending) < self._depth:
                    more = await self._send_next(caller, requests, max_time_ms, pending)
                if pending:
                    yield dnc_pb2.ScrubDncResponse(results=await pending.popleft())
        finally:
            for lookup in pending:
                lookup.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _send_next(
        self,
        caller: Caller,
        requests: AsyncIterator[dnc_pb2.ScrubDncRequest],
        max_time_ms: int,
        pending: deque[Lookup],
    ) -> bool:
        """Read, parse and send the lookup of the next message; False at the stream's end."""
        try:
            request = await anext(requests)
        except StopAsyncIteration:
            return False
        try:
            items = await parse_check(request)
        except InvalidArgument as error:
            pending.append(asyncio.ensure_future(_refuse(error)))  # after the ones before it
            return False
        SCRUB_LOOKUPS.inc()
        pending.append(
            asyncio.ensure_future(
                self._checks.answer(caller, request.phone_numbers, items, max_time_ms)
            )
        )
        return True


async def _refuse(error: InvalidArgument) -> list[dnc_pb2.CheckResult]:
    raise error
