"""Changes to an organization's list: AddDnc, RemoveDnc and BatchAddDnc for an authenticated
caller, and the batch write step ImportDnc shares (add_items). The servicer authenticates and
bounds the call; this module decides.

Writes need the write scope when one is configured (DNC_WRITE_SCOPE), are validated before
anything is written, stay within the caller's organization, and each leaves an audit record.
"""

from __future__ import annotations

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate, request_id
from .errors import NotFound
from .store import AuditLog, Change, EntryWrites, Listed, NewEntry
from .validation.requests import Items, parse_add, parse_batch, parse_remove

ADDED = dnc_pb2.BATCH_ADD_STATUS_ADDED
ALREADY_LISTED = dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED
INVALID = dnc_pb2.BATCH_ADD_STATUS_INVALID


class Writes:
    """What each write RPC does, given who calls (see the module docstring)."""

    def __init__(
        self, writes: EntryWrites, audit: AuditLog, write_scope: str | None = None
    ) -> None:
        self._writes = writes
        self._audit = audit
        self._write_scope = write_scope

    async def add(self, caller: Caller, request: dnc_pb2.AddDncRequest) -> dnc_pb2.AddDncResponse:
        self.authorize(caller)
        new = parse_add(request)
        entry = await self._writes.add(caller.org_id, new)
        await self._audit.record([_added(caller, entry.id, new.phone_e164)])
        return dnc_pb2.AddDncResponse(entry=entry)

    async def remove(
        self, caller: Caller, request: dnc_pb2.RemoveDncRequest
    ) -> dnc_pb2.RemoveDncResponse:
        self.authorize(caller)
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
        self.authorize(caller)
        results = await self.add_items(caller, parse_batch(request))
        annotate(items=len(results), added=sum(result.status == ADDED for result in results))
        return dnc_pb2.BatchAddDncResponse(results=results)

    def authorize(self, caller: Caller) -> None:
        """PermissionDenied unless the caller may write (the write scope, when one is set)."""
        caller.require_scope(self._write_scope)

    async def add_items(
        self, caller: Caller, items: Items[NewEntry]
    ) -> list[dnc_pb2.BatchAddResult]:
        """The write step of BatchAddDnc and ImportDnc: list the valid items' numbers (the
        first occurrence of each), audit every added entry; one result per item, by index."""
        first = first_occurrences(items.valid)
        listed = (
            await self._writes.add_many(
                caller.org_id, [items.valid[index] for index in first.values()]
            )
            if first
            else {}
        )
        results = _invalid_results(items)
        results += [
            _batch_result(index, entry.phone_e164, listed[entry.phone_e164], first)
            for index, entry in items.valid.items()
        ]
        results.sort(key=lambda result: result.index)
        await self._audit.record(
            [
                _added(caller, result.entry_id, result.phone_e164)
                for result in results
                if result.status == ADDED
            ]
        )
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


def _added(caller: Caller, entry_id: str, number: str) -> Change:
    """The audit record of an entry the caller added."""
    return Change(caller.org_id, "add", entry_id, number, caller.user_id, request_id())
