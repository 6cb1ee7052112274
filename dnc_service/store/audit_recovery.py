"""Completing what a killed process or a lost database left half-done, and expiring entries.

Every step it takes is one a live call could take too (store/audit.py): writing an add record
from its entry (a duplicate `_id` is the same record), deleting an entry whose pending end
record exists, unsetting a marker. So it races live calls and other replicas harmlessly, and
running it twice completes nothing the second time. Each query is a range on one indexed field
(store/indexes.py), read in bounded batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pymongo.asynchronous.collection import AsyncCollection

from ..clock import Clock, system_clock
from .audit import AT, ENTRY_ID, ENTRY_MARKER, MARKER_AT, PENDING, AuditLog, add_record
from .client import Document, driver_errors
from .schema import ID, ORG_ID
from .writes import RECORD_FIELDS, EntryWrites

# Rows per query; and at most this many batches per kind in one run, so a run is bounded.
BATCH = 500
MAX_BATCHES = 200


@dataclass
class RecoveryReport:
    """What one run completed: add records written (markers cleared), removals and expiries
    finished (entries deleted), entries expired."""

    add_records: int = 0
    markers: int = 0
    ends: int = 0
    deleted: int = 0
    expired: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return self.markers + self.ends + self.expired


class AuditRecovery:
    """One run: adds, then ends, then the expiry of due entries."""

    def __init__(
        self,
        entries: AsyncCollection[Document],
        audit: AuditLog,
        writes: EntryWrites,
        clock: Clock = system_clock,
    ) -> None:
        self._entries = entries
        self._audit = audit
        self._writes = writes
        self._clock = clock

    async def run(self, grace_seconds: float = 0.0) -> RecoveryReport:
        """Complete markers and pending records older than `grace_seconds` (so a periodic run
        leaves live calls alone), then expire what is due."""
        report = RecoveryReport()
        cutoff = self._clock() - timedelta(seconds=grace_seconds)
        for _ in range(MAX_BATCHES):
            if not await self._complete_adds(cutoff, report):
                break
        for _ in range(MAX_BATCHES):
            if not await self._complete_ends(cutoff, report):
                break
        for _ in range(MAX_BATCHES):
            expired = await self._writes.expire_due(BATCH)
            report.expired += expired
            if not expired:
                break
        return report

    async def _complete_adds(self, cutoff: object, report: RecoveryReport) -> int:
        """Write the add record of marked entries, then clear their markers."""
        with driver_errors():
            found = self._entries.find({MARKER_AT: {"$lte": cutoff}}, RECORD_FIELDS)
            rows = [row async for row in found.limit(BATCH)]
            if not rows:
                return 0
            report.add_records += await self._audit.write([add_record(row) for row in rows])
            ids = [row[ID] for row in rows]
            await self._entries.update_many({ID: {"$in": ids}}, {"$unset": {ENTRY_MARKER: ""}})
        report.markers += len(rows)
        report.lines.extend(f"add record of entry {row[ID]} completed" for row in rows)
        return len(rows)

    async def _complete_ends(self, cutoff: object, report: RecoveryReport) -> int:
        """Delete the entries of pending remove and expire records, then settle the records."""
        with driver_errors():
            found = self._audit.collection.find(
                {PENDING: True, AT: {"$lte": cutoff}}, {ENTRY_ID: 1, ORG_ID: 1}
            )
            records = [record async for record in found.limit(BATCH)]
            if not records:
                return 0
            for record in records:
                deleted = await self._entries.delete_one(
                    {ID: record[ENTRY_ID], ORG_ID: record[ORG_ID]}
                )
                report.deleted += deleted.deleted_count
            await self._audit.settle([record[ID] for record in records])
        report.ends += len(records)
        report.lines.extend(f"removal of entry {record[ENTRY_ID]} completed" for record in records)
        return len(records)
