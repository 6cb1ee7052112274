"""Reads of an organization's DNC entries, shaped so MongoDB answers them from one index."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from dnc.v1 import dnc_pb2

from ..page_tokens import Cursor
from ..validation import ListQuery
from . import order
from .client import Document, driver_errors
from .documents import PROJECTION, to_entry
from .filters import listing_filter
from .indexes import PHONE_FIELD
from .order import TENANT_FIELD

# Entries per round trip of an export: bounds the memory a stream holds, whatever its length.
EXPORT_BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class Page:
    """The entries of one page, the number of matches over all pages, and where the next starts."""

    entries: list[dnc_pb2.DncEntry]
    total: int
    next_cursor: Cursor | None = None


class EntriesStore:
    """Org-scoped reads of the entries collection: listing and export walk order.LISTING_INDEX,
    checks the unique number index."""

    def __init__(self, entries: AsyncCollection[Document]) -> None:
        self._entries = entries

    async def list_page(self, org_id: str, query: ListQuery, max_time_ms: int) -> Page:
        """Find the page (one entry more, to know if another follows) and count all matches.

        Both run concurrently; the count ignores the page cursor. `max_time_ms` lets the
        server abandon work nobody will wait for.
        """
        cursor = query.cursor
        found = self._entries.find(
            listing_filter(org_id, query.search, order.after(cursor)), PROJECTION,
            sort=order.SORT, skip=cursor.skip, limit=query.limit + 1, max_time_ms=max_time_ms,
        )  # fmt: skip
        where = listing_filter(org_id, query.search)
        with driver_errors():
            documents, total = await asyncio.gather(
                found.to_list(), self._entries.count_documents(where, maxTimeMS=max_time_ms)
            )
        next_cursor = None
        if len(documents) > query.limit:
            documents = documents[: query.limit]
            next_cursor = cursor.next(
                query.limit, *(order.position_of(documents[-1]) or (None, None))
            )
        return Page([to_entry(document) for document in documents], total, next_cursor)

    async def check(
        self, org_id: str, numbers: Sequence[str], max_time_ms: int
    ) -> dict[str, dnc_pb2.DncEntry]:
        """The entry listing each E.164 number that is listed (id, type, createdAt), one query."""
        found = self._entries.find(
            {TENANT_FIELD: ObjectId(org_id), PHONE_FIELD: {"$in": list(dict.fromkeys(numbers))}},
            {PHONE_FIELD: 1, TENANT_FIELD: 1, "type": 1, "createdAt": 1},
            max_time_ms=max_time_ms,
        )
        with driver_errors():
            documents = await found.to_list()
        return {document[PHONE_FIELD]: to_entry(document) for document in documents}

    async def export(
        self, org_id: str, search: str, max_time_ms: int
    ) -> AsyncGenerator[dnc_pb2.DncEntry]:
        """Every matching entry in listing order, fetched EXPORT_BATCH_SIZE at a time."""
        cursor = self._entries.find(
            listing_filter(org_id, search), PROJECTION, sort=order.SORT,
            batch_size=EXPORT_BATCH_SIZE, max_time_ms=max_time_ms,
        )  # fmt: skip
        try:
            with driver_errors():
                async for document in cursor:
                    yield to_entry(document)
        finally:
            await cursor.close()
