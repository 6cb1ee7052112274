"""ImportDnc: a customer's list of any length, loaded chunk by chunk through BatchAddDnc's write
step (Writes.add_items), answered with counts.

Memory stays flat: the service holds at most WRITES_IN_FLIGHT parsed chunks (parsing one
overlaps the database writing another; one chunk's audit records go in while the next chunk's
entries do), the counts, and at most MAX_ERRORS refused rows, counted in stream order. A number
repeated in the stream is listed by whichever of its rows is written first (the unique index
decides) and the others count as already listed: the counts are those of an import in order. A
dry run writes nothing; its repeats across chunks are recognised for the first DRY_RUN_MEMORY
distinct new numbers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate
from .errors import InvalidArgument
from .store import NewEntry
from .validation.requests import Items, parse_import
from .writes import ADDED, ALREADY_LISTED, Writes

# Chunks written at once: one chunk's audit records go in while the next chunk's entries do.
WRITES_IN_FLIGHT = 2
# The refused rows reported; the others are only counted.
MAX_ERRORS = 1000
# Distinct new numbers a dry run remembers to count later repeats as already listed (~100 B
# each): bounds its memory, whatever the stream's length.
DRY_RUN_MEMORY = 100_000
_INT32_MAX = 2**31 - 1


@dataclass
class Tally:
    """What an import did so far: the counts and the first MAX_ERRORS refused rows."""

    added: int = 0
    already_listed: int = 0
    invalid: int = 0
    errors: list[dnc_pb2.ImportError] = field(default_factory=list)

    def refused(self, items: Items[NewEntry]) -> None:
        """Count a chunk's refused rows, in stream order (before its writes, which may finish
        out of order)."""
        self.invalid += len(items.invalid)
        for row, error in items.invalid.items():
            if len(self.errors) >= MAX_ERRORS:
                break
            self.errors.append(dnc_pb2.ImportError(row=row, error=error.message))

    def count(self, results: list[dnc_pb2.BatchAddResult]) -> None:
        """Count a chunk's written rows (its refused ones were counted by `refused`)."""
        for result in results:
            if result.status == ADDED:
                self.added += 1
            elif result.status == ALREADY_LISTED:
                self.already_listed += 1

    def response(self) -> dnc_pb2.ImportDncResponse:
        return dnc_pb2.ImportDncResponse(
            added=min(self.added, _INT32_MAX),
            already_listed=min(self.already_listed, _INT32_MAX),
            invalid=min(self.invalid, _INT32_MAX),
            errors=self.errors,
        )


class Imports:
    """What ImportDnc does, given who calls (see the module docstring)."""

    def __init__(self, writes: Writes) -> None:
        self._writes = writes

    async def load(
        self, caller: Caller, requests: AsyncIterator[dnc_pb2.ImportDncRequest]
    ) -> dnc_pb2.ImportDncResponse:
        """Write every chunk of `requests` in order; the counts of the whole stream."""
        self._writes.authorize(caller)
        tally, seen = Tally(), set[str]()
        writing: deque[asyncio.Future[None]] = deque()
        row, dry_run = 0, None
        try:
            async for request in requests:
                if len(writing) >= WRITES_IN_FLIGHT:  # room first: at most two chunks held
                    await writing.popleft()
                dry_run = _same_dry_run(dry_run, request.dry_run)
                items = await parse_import(request, row, self._writes.now())
                row += len(request.entries)
                tally.refused(items)
                writing.append(
                    asyncio.ensure_future(self._write(caller, items, dry_run, seen, tally))
                )
            while writing:
                await writing.popleft()
        except Exception:
            # A bad message or a broken stream: the chunks being written are finished (their
            # entries and their audit together), never cut, before the call fails.
            await asyncio.gather(*writing, return_exceptions=True)
            raise
        finally:
            for each in writing:
                each.cancel()
            await asyncio.gather(*writing, return_exceptions=True)
        if dry_run is None:
            raise InvalidArgument("an import needs at least one message", field="entries")
        annotate(rows=row, added=tally.added, invalid=tally.invalid, dry_run=dry_run)
        return tally.response()

    async def _write(
        self, caller: Caller, items: Items[NewEntry], dry_run: bool, seen: set[str], tally: Tally
    ) -> None:
        if dry_run:
            results = await self._writes.preview_items(caller, items, seen, DRY_RUN_MEMORY)
        else:
            results = await self._writes.add_items(caller, items)
        tally.count(results)


def _same_dry_run(before: bool | None, now: bool) -> bool:
    """Every message of a stream says the same about dry_run (rows must not be written
    before a later message asks for a dry run)."""
    if before is not None and before != now:
        raise InvalidArgument("dry_run must be the same in every message", field="dry_run")
    return now
