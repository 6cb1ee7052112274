"""Reads of an organization's DNC entries, shaped so MongoDB answers them from one index."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from .database import Document, driver_errors
from .documents import PROJECTION
from .query import SORT, ListQuery, build_filter


@dataclass(frozen=True, slots=True)
class Page:
    """The documents of one page and the number of matches over all pages."""

    documents: list[Document]
    total: int


class DncRepository:
    """Org-scoped listing over the entries collection (index: orgId, createdAt desc, _id desc)."""

    def __init__(self, entries: AsyncCollection[Document]) -> None:
        self._entries = entries

    async def list_page(self, org_id: ObjectId, query: ListQuery, max_time_ms: int) -> Page:
        """Find the page and count all matches concurrently, with the same filter.

        `max_time_ms` lets the server abandon work nobody will wait for.
        """
        where = build_filter(org_id, query.search)
        cursor = self._entries.find(
            where, PROJECTION, sort=SORT, skip=query.skip, limit=query.limit,
            max_time_ms=max_time_ms,
        )  # fmt: skip
        with driver_errors():
            documents, total = await asyncio.gather(
                cursor.to_list(), self._entries.count_documents(where, maxTimeMS=max_time_ms)
            )
        return Page(documents, total)
