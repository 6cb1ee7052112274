"""Reads of an organization's DNC entries, shaped so MongoDB answers them from one index."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection

from dnc.v1 import dnc_pb2

from ..clock import Clock, system_clock
from . import order
from .client import Document, driver_errors
from .filters import listing_filter
from .lookup import listed
from .order import SortKey
from .schema import CREATED_AT, ORG_ID, PHONE_E164, PROJECTION, TYPE, to_entry

# Entries per round trip of an export: bounds the memory a stream holds, whatever its length.
EXPORT_BATCH_SIZE = 500
_CHECK_PROJECTION = dict.fromkeys((PHONE_E164, ORG_ID, TYPE, CREATED_AT), 1)


@dataclass(frozen=True, slots=True)
class Page:
    """The entries of one page, the number of matches over all pages, whether more follow and,
    when they do, the key of the page's last entry (None when keyset order can't resume)."""

    entries: list[dnc_pb2.DncEntry]
    total: int
    more: bool = False
    last: SortKey | None = None


class EntriesStore:
    """Org-scoped reads of the entries collection: listing and export walk order.LISTING_INDEX,
    checks the unique number index (store/lookup.py). An expired entry is left out of every
    read, as of the clock's now (filters.unexpired)."""

    def __init__(self, entries: AsyncCollection[Document], clock: Clock = system_clock) -> None:
        self._entries = entries
        self._clock = clock

    async def list_page(
        self,
        org_id: str,
        search: str,
        limit: int,
        *,
        skip: int = 0,
        after: SortKey | None = None,
        max_time_ms: int,
    ) -> Page:
        """Find `limit` entries after `after` (and `skip` more), one more to know if another
        page follows, and count all matches of `search`.

        Both run concurrently; the count ignores the position. `max_time_ms` lets the server
        abandon work nobody will wait for.
        """
        now = self._clock()
        found = self._entries.find(
            listing_filter(org_id, search, now, order.after(after)), PROJECTION,
            sort=order.SORT, skip=skip, limit=limit + 1, max_time_ms=max_time_ms,
        )  # fmt: skip
        where = listing_filter(org_id, search, now)
        with driver_errors():
            documents, total = await asyncio.gather(
                found.to_list(), self._entries.count_documents(where, maxTimeMS=max_time_ms)
            )
        if len(documents) <= limit:
            return Page([to_entry(document) for document in documents], total)
        documents = documents[:limit]
        return Page(
            [to_entry(document) for document in documents], total, True, order.key_of(documents[-1])
        )

    async def check(
        self, org_id: str, numbers: Sequence[str], max_time_ms: int
    ) -> dict[str, dnc_pb2.DncEntry]:
        """The entry listing each E.164 number that is listed (id, type, createdAt), whatever
        form its row stores the number in (lookup.listed)."""
        with driver_errors():
            found = await listed(
                self._entries, org_id, numbers, self._clock(), _CHECK_PROJECTION, max_time_ms
            )
        return {number: to_entry(document) for number, document in found.items()}

    async def export(
        self, org_id: str, search: str, max_time_ms: int
    ) -> AsyncGenerator[list[dnc_pb2.DncEntry]]:
        """Every matching entry in listing order, EXPORT_BATCH_SIZE at a time (one round trip
        each). The next batch is fetched while the caller sends this one: the database and
        the service work at once, and at most two batches are held."""
        rows = self._entries.find(
            listing_filter(org_id, search, self._clock()), PROJECTION, sort=order.SORT,
            batch_size=EXPORT_BATCH_SIZE, max_time_ms=max_time_ms,
        )  # fmt: skip
        fetching: asyncio.Task[list[Document]] | None = None
        try:
            with driver_errors():
                fetching = asyncio.ensure_future(rows.to_list(EXPORT_BATCH_SIZE))
                while documents := await fetching:
                    fetching = asyncio.ensure_future(rows.to_list(EXPORT_BATCH_SIZE))
                    yield [to_entry(document) for document in documents]
        finally:
            if fetching is not None and not fetching.done():
                fetching.cancel()
                await asyncio.gather(fetching, return_exceptions=True)
            await rows.close()
