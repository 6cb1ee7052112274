"""Reads of an organization's DNC entries, shaped so MongoDB answers them from one index."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from .database import Document, driver_errors
from .documents import PROJECTION
from .page_tokens import next_token
from .query import SORT, ListQuery, build_filter


@dataclass(frozen=True, slots=True)
class Page:
    """The documents of one page, the number of matches over all pages, and the next token."""

    documents: list[Document]
    total: int
    next_page_token: str = ""


class DncRepository:
    """Org-scoped listing over the entries collection (index: orgId, createdAt desc, _id desc)."""

    def __init__(self, entries: AsyncCollection[Document]) -> None:
        self._entries = entries

    async def list_page(self, org_id: ObjectId, query: ListQuery, max_time_ms: int) -> Page:
        """Find the page (one entry more, to know if another follows) and count all matches.

        Both run concurrently; the count ignores the page cursor. `max_time_ms` lets the
        server abandon work nobody will wait for.
        """
        where = build_filter(org_id, query.search)
        found = self._entries.find(
            build_filter(org_id, query.search, query.cursor), PROJECTION, sort=SORT,
            skip=query.skip, limit=query.limit + 1, max_time_ms=max_time_ms,
        )  # fmt: skip
        with driver_errors():
            documents, total = await asyncio.gather(
                found.to_list(), self._entries.count_documents(where, maxTimeMS=max_time_ms)
            )
        if len(documents) <= query.limit:
            return Page(documents, total)
        documents = documents[: query.limit]
        token = next_token(query.page, query.offset + query.limit, documents[-1], query.search)
        return Page(documents, total, token)
