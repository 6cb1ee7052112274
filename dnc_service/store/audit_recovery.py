"""Completing what a killed process or a lost database left half-done, and expiring entries.

Every step it takes is one a live call could take too (store/audit.py): writing an add record
from its entry (a duplicate `_id` is the same record), deleting an entry whose pending end
record exists, unsetting a marker. So it races live calls and other replicas harmlessly, and
running it twice completes nothing the second time. Each query is a range on one indexed field
(store/indexes.py), read in bounded batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor

from ..clock import Clock, system_clock
from .audit import AuditLog
from .audit_records import AT, ENTRY_ID, ENTRY_MARKER, MARKER_AT, PENDING, add_record
from .client import Document, driver_errors
from .schema import ID, ORG_ID
from .writes import RECORD_FIELDS, EntryWrites

# Rows per query; and at most this many batches per kind in one run, so a run is bounded.
BATCH = 500
MAX_BATCHES = 200
# Updates per round trip when clearing markers (see unset_each).
UNSET_CHUNK = 50
# The start-up run's checkpoint (see _write_missing_adds): a document in the state collection.
CHECKPOINT_ID = "start-up-adds"
# How much before the checkpoint the next start-up looks again: more than any change can take
# between its marker's time (the call's clock) and its insert landing, which the change's own
# bound (DNC_REQUEST_TIMEOUT_SECONDS) cuts far shorter.
CHECKPOINT_MARGIN = timedelta(minutes=10)


@dataclass
class RecoveryReport:
    """What one run did: add records written that were missing (of the marked entries whose
    markers it cleared), pending end records settled (and the entries it had to delete
    itself), entries expired; a line per change it completed itself."""

    add_records: int = 0
    markers: int = 0
    settled: int = 0
    deleted: int = 0
    expired: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        """Changes this run completed or made (not mere bookkeeping)."""
        return self.add_records + self.deleted + self.expired


class AuditRecovery:
    """One run: adds, the expiry of due entries, then ends."""

    def __init__(
        self,
        entries: AsyncCollection[Document],
        audit: AuditLog,
        writes: EntryWrites,
        clock: Clock = system_clock,
        state: AsyncCollection[Document] | None = None,
    ) -> None:
        self._entries = entries
        self._audit = audit
        self._writes = writes
        self._clock = clock
        self._state = state

    async def run(self, grace_seconds: float = 0.0, clear: bool = True) -> RecoveryReport:
        """Complete markers and pending records older than `grace_seconds` (so a periodic run
        leaves live calls alone), and expire what is due. Without `clear`, only what changes
        the data is done (missing records written, pending removals' entries deleted): the
        markers stay for a later run to clear, e.g. so that a start-up is not held back by
        bookkeeping (a marker cleared costs an update, several milliseconds on FerretDB)."""
        report = RecoveryReport()
        cutoff = self._clock() - timedelta(seconds=grace_seconds)
        if not clear:
            await self._write_missing_adds(cutoff, report)
        for _ in range(MAX_BATCHES if clear else 0):
            if not await self._complete_adds(cutoff, report):
                break
        for _ in range(MAX_BATCHES):
            expired = await self._writes.expire_due(BATCH)
            report.expired += expired
            if not expired:
                break
        # Last, so that the expiries above are settled in the same run.
        seen = 0
        for _ in range(MAX_BATCHES):
            done = await self._complete_ends(cutoff, report, clear, 0 if clear else seen)
            if not done:
                break
            seen += done
        return report

    async def _write_missing_adds(self, cutoff: datetime, report: RecoveryReport) -> None:
        """The add record of every marked entry (a no-op where it exists); markers stay.

        Markers are only cleared by the sweep, so they may pile up between sweeps (or when the
        sweep is slowed right down): each start-up then looks only at markers newer than the
        last complete start-up's checkpoint (less CHECKPOINT_MARGIN), in marker-time order, and
        moves the checkpoint to where it got. Older markers were all looked at by that run."""
        since = await self._checkpoint()
        where: dict[str, object] = {"$lte": cutoff}
        if since is not None:
            where["$gt"] = since - CHECKPOINT_MARGIN
        reached: datetime | None = None
        seen = 0
        with driver_errors():
            found = self._entries.find({MARKER_AT: where}, RECORD_FIELDS, sort=[(MARKER_AT, 1)])
            async for rows in _batches(found):
                written = await self._audit.write([add_record(row) for row in rows])
                report.add_records += len(written)
                report.lines.extend(f"add record of entry {r[ENTRY_ID]} completed" for r in written)
                reached, seen = rows[-1][ENTRY_MARKER][AT], seen + len(rows)
            complete = seen < BATCH * MAX_BATCHES  # else _batches stopped it: resume from there
            await self._save_checkpoint(cutoff if complete else reached)

    async def _checkpoint(self) -> datetime | None:
        if self._state is None:
            return None
        with driver_errors():
            state = await self._state.find_one({ID: CHECKPOINT_ID})
        at = state.get(AT) if state else None
        return at if isinstance(at, datetime) else None

    async def _save_checkpoint(self, at: datetime | None) -> None:
        """Only forwards ($max): replicas starting together never move it back."""
        if self._state is not None and at is not None:
            await self._state.update_one({ID: CHECKPOINT_ID}, {"$max": {AT: at}}, upsert=True)

    async def _complete_adds(self, cutoff: datetime, report: RecoveryReport) -> int:
        """Write the add record of marked entries (a no-op where it exists), then clear their
        markers with one update."""
        with driver_errors():
            found = self._entries.find({MARKER_AT: {"$lte": cutoff}}, RECORD_FIELDS)
            rows = [row async for row in found.limit(BATCH)]
            if not rows:
                return 0
            written = await self._audit.write([add_record(row) for row in rows])
            await unset_each(self._entries, [row[ID] for row in rows], ENTRY_MARKER)
        report.markers += len(rows)
        report.add_records += len(written)
        report.lines.extend(f"add record of entry {r[ENTRY_ID]} completed" for r in written)
        return len(rows)

    async def _complete_ends(
        self, cutoff: datetime, report: RecoveryReport, clear: bool, skip: int
    ) -> int:
        """Delete the entries of pending remove and expire records (a no-op where done), then
        (with `clear`) settle the records in one round trip."""
        with driver_errors():
            found = self._audit.collection.find(
                {PENDING: True, AT: {"$lte": cutoff}}, {ENTRY_ID: 1, ORG_ID: 1}
            )
            records = [record async for record in found.skip(skip).limit(BATCH)]
            if not records:
                return 0
            left = []
            for record in records:
                # By `_id` alone, as EntryWrites.end deletes (the record names the entry).
                gone = await self._entries.delete_one({ID: record[ENTRY_ID]})
                if gone.deleted_count:
                    left.append(record[ENTRY_ID])
            if clear:
                await unset_each(self._audit.collection, [r[ID] for r in records], PENDING)
                report.settled += len(records)
        report.deleted += len(left)
        report.lines.extend(f"removal of entry {entry_id} completed" for entry_id in left)
        return len(records)


async def _batches(cursor: AsyncCursor[Document]) -> AsyncIterator[list[Document]]:
    """The cursor's documents in lists of BATCH, at most MAX_BATCHES of them."""
    rows: list[Document] = []
    async for row in cursor.limit(BATCH * MAX_BATCHES):
        rows.append(row)
        if len(rows) == BATCH:
            yield rows
            rows = []
    if rows:
        yield rows


async def unset_each(
    collection: AsyncCollection[Document], ids: Sequence[ObjectId], name: str
) -> None:
    """Unset `name` on documents by `_id`: one update per document by its id, UNSET_CHUNK per
    round trip, rather than one update_many with `$in`, because FerretDB (v1) finds `_id`
    equality through its primary key but scans the whole collection for `$in`, and stalls on
    an update command of a hundred statements."""
    for start in range(0, len(ids), UNSET_CHUNK):
        await collection.bulk_write(
            [
                UpdateOne({ID: each}, {"$unset": {name: ""}})
                for each in ids[start : start + UNSET_CHUNK]
            ],
            ordered=False,
        )
