"""Checking numbers against an organization's list: CheckDnc, every number answered in order.
ScrubDnc (scrubbing.py) answers each of its messages with the same `answer`."""

from __future__ import annotations

from collections.abc import Sequence

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate
from .phones import Phone
from .store import EntriesStore
from .validation.requests import Items, parse_check


class Checks:
    """What CheckDnc answers, given who calls: one query for all the numbers of a request."""

    def __init__(self, entries: EntriesStore) -> None:
        self._entries = entries

    async def check(
        self, caller: Caller, request: dnc_pb2.CheckDncRequest, max_time_ms: int
    ) -> dnc_pb2.CheckDncResponse:
        """Whether each number is listed, in request order; an unparseable one gets `error`."""
        results = await self.answer(
            caller, request.phone_numbers, await parse_check(request), max_time_ms
        )
        annotate(items=len(results), listed=sum(result.listed for result in results))
        return dnc_pb2.CheckDncResponse(results=results)

    async def answer(
        self, caller: Caller, raw: Sequence[str], items: Items[Phone], max_time_ms: int
    ) -> list[dnc_pb2.CheckResult]:
        """One result per number of `raw` (parsed as `items`), in order, from one lookup."""
        numbers = [phone.e164 for phone in items.valid.values()]
        listed = await self._entries.check(caller.org_id, numbers, max_time_ms) if numbers else {}
        results = {
            index: dnc_pb2.CheckResult(input=raw[index], listed=False, error=error.message)
            for index, error in items.invalid.items()
        }
        for index, phone in items.valid.items():
            results[index] = _result(raw[index], phone.e164, listed.get(phone.e164))
        return [results[index] for index in range(len(raw))]


def _result(raw: str, number: str, entry: dnc_pb2.DncEntry | None) -> dnc_pb2.CheckResult:
    """The answer for one parsed number: listed with its entry's id, type and date, or not."""
    if entry is None:
        return dnc_pb2.CheckResult(input=raw, phone_e164=number)
    result = dnc_pb2.CheckResult(input=raw, phone_e164=number, listed=True, entry_id=entry.id)
    if entry.HasField("type"):
        result.type = entry.type
    if entry.HasField("created_at"):
        result.created_at.CopyFrom(entry.created_at)
    return result
