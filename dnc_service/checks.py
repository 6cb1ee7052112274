"""Checking numbers against an organization's list: CheckDnc, every number answered in order."""

from __future__ import annotations

from dnc.v1 import dnc_pb2

from .auth import Caller
from .call import annotate
from .store import EntriesStore
from .validation.requests import parse_check


class Checks:
    """What CheckDnc answers, given who calls: one query for all the numbers of a request."""

    def __init__(self, entries: EntriesStore) -> None:
        self._entries = entries

    async def check(
        self, caller: Caller, request: dnc_pb2.CheckDncRequest, max_time_ms: int
    ) -> dnc_pb2.CheckDncResponse:
        """Whether each number is listed, in request order; an unparseable one gets `error`."""
        items = await parse_check(request)
        numbers = [phone.e164 for phone in items.valid.values()]
        listed = await self._entries.check(caller.org_id, numbers, max_time_ms) if numbers else {}
        raw = request.phone_numbers
        results = {
            index: dnc_pb2.CheckResult(input=raw[index], listed=False, error=error.message)
            for index, error in items.invalid.items()
        }
        for index, phone in items.valid.items():
            results[index] = _result(raw[index], phone.e164, listed.get(phone.e164))
        ordered = [results[index] for index in range(len(raw))]
        annotate(items=len(ordered), listed=sum(result.listed for result in ordered))
        return dnc_pb2.CheckDncResponse(results=ordered)


def _result(raw: str, number: str, entry: dnc_pb2.DncEntry | None) -> dnc_pb2.CheckResult:
    """The answer for one parsed number: listed with its entry's id, type and date, or not."""
    result = dnc_pb2.CheckResult(input=raw, phone_e164=number)
    if entry is not None:
        result.listed = True
        result.entry_id = entry.id
        if entry.HasField("type"):
            result.type = entry.type
        if entry.HasField("created_at"):
            result.created_at.CopyFrom(entry.created_at)
    return result
