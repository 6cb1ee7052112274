"""Everything MongoDB, and the only package that knows it: client, schema, queries, writes.

The rest of the service deals in plain values (ids as 24 lowercase hex, E.164 numbers, sort
keys, NewEntry) and DncEntry messages; nothing here knows a request type.
"""

from __future__ import annotations

from ..clock import Clock, system_clock
from ..settings import Settings
from . import client, indexes
from .audit import AuditLog
from .audit_recovery import AuditRecovery, RecoveryReport
from .client import deadline
from .entries import EntriesStore, Page
from .history import EventPage, HistoryReader
from .migration import MigrationReport, backfill_phone_e164
from .order import SortKey
from .schema import NewEntry
from .users import UsersStore
from .writes import Author, EntryWrites, Listed, Removed

__all__ = [
    "AuditLog",
    "AuditRecovery",
    "Author",
    "EntriesStore",
    "EntryWrites",
    "EventPage",
    "HistoryReader",
    "Listed",
    "MigrationReport",
    "NewEntry",
    "Page",
    "RecoveryReport",
    "Removed",
    "SortKey",
    "Store",
    "UsersStore",
    "deadline",
]


class Store:
    """The process's one database client and the collections the service reads and writes."""

    def __init__(self, settings: Settings, clock: Clock = system_clock) -> None:
        self._mongo = client.connect(settings)
        db = self._mongo[settings.database]
        self._entries_collection = db[settings.entries_collection]
        self.entries = EntriesStore(self._entries_collection, clock)
        self._audit_collection = db[settings.audit_collection]
        self.audit = AuditLog(self._audit_collection)
        self.writes = EntryWrites(self._entries_collection, self.audit, clock)
        self.recovery = AuditRecovery(
            self._entries_collection, self.audit, self.writes, clock,
            # Recovery's own state (its start-up checkpoint), beside the audit collection.
            db[f"{settings.audit_collection}_recovery"],
        )  # fmt: skip
        self.history = HistoryReader(self._audit_collection)
        self.users = UsersStore(
            db[settings.users_collection],
            settings.org_cache_ttl_seconds,
            settings.org_cache_size,
        )

    async def ping(self) -> None:
        """Raise Unavailable or DeadlineExceeded unless the database answers."""
        await client.ping(self._mongo)

    async def ensure_indexes(self) -> None:
        """Create the listing, number, heal, history and audit recovery indexes if missing."""
        await indexes.ensure_indexes(self._entries_collection, self._audit_collection)

    async def migrate(self) -> MigrationReport:
        """Backfill phoneE164 on the rows that lack it (see store/migration.py)."""
        return await backfill_phone_e164(self._entries_collection)

    async def close(self) -> None:
        await self._mongo.close()
