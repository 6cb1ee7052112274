"""Unsetting a bookkeeping field on many documents in the background, one update_many at a time.

The audit's markers (an entry's `auditPending`, a record's `pending`) only tell recovery what
may be unfinished; clearing them is not part of the answer. Done inline it would be a third
round trip on every write; here ids queue up while one update_many runs, so concurrent writes
share it. A clear that fails is left to the audit sweep, which finds the marker and completes
it idempotently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from .client import Document
from .schema import ID

logger = logging.getLogger(__name__)

# At most this many ids per update_many (a bounded $in).
BATCH = 1000


class DeferredUnset:
    """`add(ids)` queues documents whose `field` is to be unset; one task drains the queue."""

    def __init__(self, collection: AsyncCollection[Document], field: str) -> None:
        self._collection = collection
        self._field = field
        self._queue: list[ObjectId] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, ids: Iterable[ObjectId]) -> None:
        self._queue.extend(ids)
        if self._queue and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self, timeout_seconds: float) -> None:
        """Wait (bounded) for the queue to drain, e.g. before the client closes."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout_seconds)

    async def _drain(self) -> None:
        while self._queue:
            ids, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            try:
                await self._collection.update_many(
                    {ID: {"$in": ids}}, {"$unset": {self._field: ""}}
                )
            except PyMongoError as error:
                logger.warning(
                    "could not unset %s on %d document(s), left to the audit sweep: %s",
                    self._field, len(ids), type(error).__name__,
                )  # fmt: skip
