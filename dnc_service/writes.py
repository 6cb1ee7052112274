"""Changes to an organization's list: AddDnc, RemoveDnc and BatchAddDnc for an authenticated
caller, and the batch write step ImportDnc shares (add_items). The servicer authenticates and
bounds the call; this module decides.

Writes need the write scope when one is configured (DNC_WRITE_SCOPE), are validated before
anything is written, stay within the caller's organization, and each leaves exactly one audit
record. Once a change has started, its remaining steps (the record, the delete) must run
whatever ends the call (a deadline, a cancelled call): the store's sequence runs as a task of
its own, shielded from the call's cancellation and bounded by its own timeout; the caller may
see DEADLINE_EXCEEDED while the change and its record complete. What a lost database or a
killed process leaves half-done, recovery completes (recovery.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate, request_id
from .clock import Clock, system_clock
from .errors import DeadlineExceeded, NotFound
from .store import Author, EntryWrites, Listed, NewEntry
from .validation.requests import Items, parse_add, parse_batch, parse_remove

logger = logging.getLogger(__name__)
T = TypeVar("T")

ADDED = dnc_pb2.BATCH_ADD_STATUS_ADDED
ALREADY_LISTED = dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED
INVALID = dnc_pb2.BATCH_ADD_STATUS_INVALID


def write_policy(write_scope: str | None) -> str:
    """Who may write, in words: logged at start so that open writes are never a silent default."""
    if write_scope is None:
        return "any user of the organization may write (DNC_WRITE_SCOPE unset or empty)"
    return f"writes need scope {write_scope!r} in the bearer token"


class Writes:
    """What each write RPC does, given who calls (see the module docstring)."""

    def __init__(
        self,
        writes: EntryWrites,
        write_scope: str | None = None,
        change_timeout_seconds: float = 10.0,
        clock: Clock = system_clock,
    ) -> None:
        self._writes = writes
        self._write_scope = write_scope
        self._change_timeout_seconds = change_timeout_seconds
        self._running: set[asyncio.Task[Any]] = set()
        self._clock = clock  # requestedAt and expiresAt are judged against it

    async def add(self, caller: Caller, request: dnc_pb2.AddDncRequest) -> dnc_pb2.AddDncResponse:
        self.authorize(caller)
        new = parse_add(request, self._clock())
        entry = await self._finish(self._writes.add(caller.org_id, new, _author(caller)))
        return dnc_pb2.AddDncResponse(entry=entry)

    async def remove(
        self, caller: Caller, request: dnc_pb2.RemoveDncRequest
    ) -> dnc_pb2.RemoveDncResponse:
        self.authorize(caller)
        entry_id = parse_remove(request)
        removed = await self._finish(self._writes.remove(caller.org_id, entry_id, _author(caller)))
        if removed is None:
            # Another organization's entry looks exactly like a missing one: ids reveal nothing.
            raise NotFound(f"no entry {entry_id} in your organization's list")
        return dnc_pb2.RemoveDncResponse()

    async def batch_add(
        self, caller: Caller, request: dnc_pb2.BatchAddDncRequest
    ) -> dnc_pb2.BatchAddDncResponse:
        """Each item answered on its own; repeats (in the batch or listed before) add nothing."""
        self.authorize(caller)
        results = await self.add_items(caller, await parse_batch(request, self._clock()))
        annotate(items=len(results), added=sum(result.status == ADDED for result in results))
        return dnc_pb2.BatchAddDncResponse(results=results)

    def authorize(self, caller: Caller) -> None:
        """PermissionDenied unless the caller may write (the write scope, when one is set)."""
        caller.require_scope(self._write_scope)

    def now(self) -> datetime:
        """The clock requestedAt and expiresAt are judged against (an import parses with it)."""
        return self._clock()

    async def add_items(
        self, caller: Caller, items: Items[NewEntry]
    ) -> list[dnc_pb2.BatchAddResult]:
        """The write step of BatchAddDnc and ImportDnc: list the valid items' numbers (the
        first occurrence of each), each added entry with its audit record; one result per
        item, by index."""
        first = first_occurrences(items.valid)
        listed = (
            await self._finish(
                self._writes.add_many(
                    caller.org_id, [items.valid[index] for index in first.values()],
                    _author(caller),
                )
            )
            if first
            else {}
        )  # fmt: skip
        results = _invalid_results(items)
        results += [
            _batch_result(index, entry.phone_e164, listed[entry.phone_e164], first)
            for index, entry in items.valid.items()
        ]
        results.sort(key=lambda result: result.index)
        return results

    async def preview_items(
        self, caller: Caller, items: Items[NewEntry], seen: set[str], remember: int
    ) -> list[dnc_pb2.BatchAddResult]:
        """What add_items would answer, writing nothing (an import's dry run). Numbers in
        `seen` count as listed by an earlier chunk; up to `remember` new ones join it."""
        listed = await self._writes.listed(
            caller.org_id, [entry.phone_e164 for entry in items.valid.values()]
        )
        results = _invalid_results(items)
        for index, entry in items.valid.items():
            number = entry.phone_e164
            new = number not in listed and number not in seen
            if new and len(seen) < remember:
                seen.add(number)
            status = ADDED if new else ALREADY_LISTED
            entry_id = listed.get(number, "")
            results.append(
                dnc_pb2.BatchAddResult(
                    index=index, phone_e164=number, status=status, entry_id=entry_id
                )
            )
        results.sort(key=lambda result: result.index)
        return results

    async def drain(self, timeout_seconds: float) -> None:
        """Wait (bounded) for changes still completing after their calls ended: before the
        database client closes."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout_seconds)

    async def _finish(self, change: Coroutine[Any, Any, T]) -> T:
        """Run `change` to its end whatever happens to this call, within its own bound."""
        task = asyncio.get_running_loop().create_task(self._bounded(change))
        self._running.add(task)
        task.add_done_callback(self._forget)
        return await asyncio.shield(task)

    async def _bounded(self, change: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._change_timeout_seconds):
                return await change
        except TimeoutError:
            raise DeadlineExceeded("the database did not answer within the deadline") from None

    def _forget(self, task: asyncio.Task[Any]) -> None:
        """Drop a finished change; one whose call had already ended logs its failure."""
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("a change ended with %s", type(task.exception()).__name__)


def first_occurrences(entries: dict[int, NewEntry]) -> dict[str, int]:
    """The index of each number's first appearance (later repeats are already listed by it)."""
    first: dict[str, int] = {}
    for index, entry in entries.items():
        first.setdefault(entry.phone_e164, index)
    return first


def _invalid_results(items: Items[NewEntry]) -> list[dnc_pb2.BatchAddResult]:
    return [
        dnc_pb2.BatchAddResult(index=index, status=INVALID, error=error.message)
        for index, error in items.invalid.items()
    ]


def _batch_result(
    index: int, number: str, listed: Listed, first: dict[str, int]
) -> dnc_pb2.BatchAddResult:
    """ADDED for the item that listed its number now; ALREADY_LISTED for any other."""
    added = listed.added and first[number] == index
    return dnc_pb2.BatchAddResult(
        index=index, phone_e164=number, status=ADDED if added else ALREADY_LISTED,
        entry_id=listed.entry_id,
    )  # fmt: skip


def _author(caller: Caller) -> Author:
    """The actor and request id every record of this call carries."""
    return Author(caller.user_id, request_id())
