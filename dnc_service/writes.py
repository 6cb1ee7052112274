"""Changes to an organization's list: AddDnc, RemoveDnc and BatchAddDnc for an authenticated
caller. The servicer authenticates and bounds the call; this module decides.

Writes need the write scope when one is configured (DNC_WRITE_SCOPE), are validated before
anything is written, stay within the caller's organization, and each leaves an audit record.
"""

from __future__ import annotations

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate, request_id
from .clock import Clock, system_clock
from .errors import NotFound
from .store import AuditLog, Change, EntryWrites, Listed, NewEntry
from .validation.requests import parse_add, parse_batch, parse_remove

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
        audit: AuditLog,
        write_scope: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._writes = writes
        self._audit = audit
        self._write_scope = write_scope
        self._clock = clock  # requestedAt and expiresAt are judged against it

    async def add(self, caller: Caller, request: dnc_pb2.AddDncRequest) -> dnc_pb2.AddDncResponse:
        caller.require_scope(self._write_scope)
        new = parse_add(request, self._clock())
        entry = await self._writes.add(caller.org_id, new, caller.user_id)
        await self._audit.record([_added(caller, entry.id, new.phone_e164)])
        return dnc_pb2.AddDncResponse(entry=entry)

    async def remove(
        self, caller: Caller, request: dnc_pb2.RemoveDncRequest
    ) -> dnc_pb2.RemoveDncResponse:
        caller.require_scope(self._write_scope)
        entry_id = parse_remove(request)
        removed = await self._writes.remove(caller.org_id, entry_id)
        if removed is None:
            # Another organization's entry looks exactly like a missing one: ids reveal nothing.
            raise NotFound(f"no entry {entry_id} in your organization's list")
        await self._audit.record(
            [Change(caller.org_id, "remove", entry_id, removed.phone_e164, caller.user_id,
                    request_id())]
        )  # fmt: skip
        return dnc_pb2.RemoveDncResponse()

    async def batch_add(
        self, caller: Caller, request: dnc_pb2.BatchAddDncRequest
    ) -> dnc_pb2.BatchAddDncResponse:
        """Each item answered on its own; repeats (in the batch or listed before) add nothing."""
        caller.require_scope(self._write_scope)
        items = await parse_batch(request, self._clock())
        first = first_occurrences(items.valid)
        listed = await self._writes.add_many(
            caller.org_id, [items.valid[index] for index in first.values()], caller.user_id
        )
        results = [
            dnc_pb2.BatchAddResult(index=index, status=INVALID, error=error.message)
            for index, error in items.invalid.items()
        ]
        results += [
            _batch_result(index, entry.phone_e164, listed[entry.phone_e164], first)
            for index, entry in items.valid.items()
        ]
        results.sort(key=lambda result: result.index)
        changes = [
            _added(caller, result.entry_id, result.phone_e164)
            for result in results
            if result.status == ADDED
        ]
        await self._audit.record(changes)
        annotate(items=len(results), added=len(changes))
        return dnc_pb2.BatchAddDncResponse(results=results)


def first_occurrences(entries: dict[int, NewEntry]) -> dict[str, int]:
    """The index of each number's first appearance (later repeats are already listed by it)."""
    first: dict[str, int] = {}
    for index, entry in entries.items():
        first.setdefault(entry.phone_e164, index)
    return first


def _batch_result(
    index: int, number: str, listed: Listed, first: dict[str, int]
) -> dnc_pb2.BatchAddResult:
    """ADDED for the item that listed its number now; ALREADY_LISTED for any other."""
    added = listed.added and first[number] == index
    return dnc_pb2.BatchAddResult(
        index=index, phone_e164=number, status=ADDED if added else ALREADY_LISTED,
        entry_id=listed.entry_id,
    )  # fmt: skip


def _added(caller: Caller, entry_id: str, number: str) -> Change:
    """The audit record of an entry the caller added."""
    return Change(caller.org_id, "add", entry_id, number, caller.user_id, request_id())
