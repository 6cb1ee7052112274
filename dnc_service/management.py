"""The management and compliance RPCs for an authenticated caller: add, remove, batch add,
check and export. The servicer authenticates and bounds the call; this module decides.

Writes need the write scope when one is configured (DNC_WRITE_SCOPE), are validated before
anything is written, stay within the caller's organization, and each leaves an audit record.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate
from .errors import InvalidArgument, NotFound
from .management_validation import (
    first_occurrences,
    parse_add,
    parse_batch,
    parse_check,
    parse_export,
    parse_remove,
)
from .phones import Phone
from .store import AuditLog, Change, EntriesStore, EntryWrites

ADDED = dnc_pb2.BATCH_ADD_STATUS_ADDED
ALREADY_LISTED = dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED
INVALID = dnc_pb2.BATCH_ADD_STATUS_INVALID


class Management:
    """What each management RPC does, given who calls (see the module docstring)."""

    def __init__(
        self,
        entries: EntriesStore,
        writes: EntryWrites,
        audit: AuditLog,
        write_scope: str | None = None,
    ) -> None:
        self._entries = entries
        self._writes = writes
        self._audit = audit
        self._write_scope = write_scope

    async def add(
        self, caller: Caller, request: dnc_pb2.AddDncRequest, request_id: str | None
    ) -> dnc_pb2.AddDncResponse:
        caller.require_scope(self._write_scope)
        new = parse_add(request)
        entry = await self._writes.add(caller.org_id, new)
        await self._audit.record(
            [Change(caller.org_id, "add", entry.id, new.phone.e164, caller.user_id, request_id)]
        )
        return dnc_pb2.AddDncResponse(entry=entry)

    async def remove(
        self, caller: Caller, request: dnc_pb2.RemoveDncRequest, request_id: str | None
    ) -> dnc_pb2.RemoveDncResponse:
        caller.require_scope(self._write_scope)
        entry_id = parse_remove(request)
        removed = await self._writes.remove(caller.org_id, entry_id)
        if removed is None:
            # Another organization's entry looks exactly like a missing one: ids reveal nothing.
            raise NotFound(f"no entry {entry_id} in your organization's list")
        await self._audit.record(
            [Change(caller.org_id, "remove", entry_id, removed.phone_e164, caller.user_id,
                    request_id)]
        )  # fmt: skip
        return dnc_pb2.RemoveDncResponse()

    async def batch_add(
        self, caller: Caller, request: dnc_pb2.BatchAddDncRequest, request_id: str | None
    ) -> dnc_pb2.BatchAddDncResponse:
        """Each item answered on its own; repeats (in the batch or listed before) add nothing."""
        caller.require_scope(self._write_scope)
        items = parse_batch(request)
        phones = [None if isinstance(item, InvalidArgument) else item.phone for item in items]
        first = first_occurrences(phones)
        valid = [items[index] for index in first.values()]
        listed = await self._writes.add_many(
            caller.org_id, [item for item in valid if not isinstance(item, InvalidArgument)]
        )
        results = []
        for index, item in enumerate(items):
            if isinstance(item, InvalidArgument):
                results.append(
                    dnc_pb2.BatchAddResult(index=index, status=INVALID, error=item.message)
                )
                continue
            number = item.phone.e164
            added = listed[number].added and first[number] == index
            results.append(
                dnc_pb2.BatchAddResult(
                    index=index, phone_e164=number, status=ADDED if added else ALREADY_LISTED,
                    entry_id=listed[number].entry_id,
                )
            )  # fmt: skip
        changes = [
            Change(caller.org_id, "add", result.entry_id, result.phone_e164, caller.user_id,
                   request_id)
            for result in results
            if result.status == ADDED
        ]  # fmt: skip
        await self._audit.record(changes)
        annotate(items=len(items), added=len(changes))
        return dnc_pb2.BatchAddDncResponse(results=results)

    async def check(
        self, caller: Caller, request: dnc_pb2.CheckDncRequest, max_time_ms: int
    ) -> dnc_pb2.CheckDncResponse:
        """Whether each number is listed, in request order, with one query for all of them."""
        parsed = parse_check(request)
        numbers = [item.e164 for item in parsed if isinstance(item, Phone)]
        listed = await self._entries.check(caller.org_id, numbers, max_time_ms) if numbers else {}
        results = []
        for raw, item in zip(request.phone_numbers, parsed, strict=True):
            if isinstance(item, InvalidArgument):
                results.append(dnc_pb2.CheckResult(input=raw, listed=False, error=item.message))
                continue
            result = dnc_pb2.CheckResult(input=raw, phone_e164=item.e164)
            entry = listed.get(item.e164)
            if entry is not None:
                result.listed = True
                result.entry_id = entry.id
                if entry.HasField("type"):
                    result.type = entry.type
                if entry.HasField("created_at"):
                    result.created_at.CopyFrom(entry.created_at)
            results.append(result)
        annotate(items=len(results), listed=sum(result.listed for result in results))
        return dnc_pb2.CheckDncResponse(results=results)

    async def export(
        self, caller: Caller, request: dnc_pb2.ExportDncRequest, max_time_ms: int
    ) -> AsyncGenerator[dnc_pb2.DncEntry]:
        """Every matching entry, newest first; the search is validated as ListDnc's."""
        search = parse_export(request)
        async for entry in self._entries.export(caller.org_id, search, max_time_ms):
            yield entry
