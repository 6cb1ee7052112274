"""Everything MongoDB, and the only package that knows it: client, queries, documents.

The rest of the service deals in plain ids (24 lowercase hex) and DncEntry messages.
"""

from __future__ import annotations

from ..settings import Settings
from . import client
from .client import deadline
from .entries import EntriesStore, Page
from .users import UsersStore

__all__ = ["EntriesStore", "Page", "Store", "UsersStore", "deadline"]


class Store:
    """The process's one database client and the collections the service reads."""

    def __init__(self, settings: Settings) -> None:
        self._mongo = client.connect(settings)
        db = self._mongo[settings.database]
        self._entries_collection = db[settings.entries_collection]
        self.entries = EntriesStore(self._entries_collection)
        self.users = UsersStore(
            db[settings.users_collection],
            settings.org_cache_ttl_seconds,
            settings.org_cache_size,
        )

    async def ping(self) -> None:
        """Raise Unavailable or DeadlineExceeded unless the database answers."""
        await client.ping(self._mongo)

    async def ensure_indexes(self) -> None:
        """Create the listing index if it is missing."""
        await client.ensure_indexes(self._entries_collection)

    async def close(self) -> None:
        await self._mongo.close()
