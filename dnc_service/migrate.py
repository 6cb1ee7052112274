"""`python -m dnc_service migrate`: run the phoneE164 backfill and print what it did."""

from __future__ import annotations

from typing import TextIO

from .errors import DncError
from .settings import Settings
from .store import MigrationReport, Store


async def migrate(settings: Settings, out: TextIO) -> int:
    """Backfill, then ensure the indexes (unless DNC_ENSURE_INDEXES=false); 0 when it ran."""
    store = Store(settings)
    try:
        report = await store.migrate()
        print_report(report, out)
        if settings.ensure_indexes:
            await store.ensure_indexes()
            print("indexes ensured", file=out)
    except DncError as error:
        print(f"migrate failed: {error.message}", file=out)
        return 1
    finally:
        await store.close()
    return 0


def print_report(report: MigrationReport, out: TextIO) -> None:
    """One line per organization updated and per row left alone, then a summary."""
    for org_id, count in sorted(report.updated.items()):
        print(f"updated {count} row(s) of organization {org_id}", file=out)
    for row in report.unparseable:
        print(
            f"cannot parse entry {row.entry_id} of organization {row.org_id}: "
            f"phoneNumber ({row.value_type}) is not a possible number; left unchanged",
            file=out,
        )
    for collision in report.collisions:
        print(
            f"collision: entry {collision.entry_id} of organization {collision.org_id} has the "
            f"number of entry {collision.other_entry_id}; left without phoneE164 (remove one)",
            file=out,
        )
    print(
        f"migrate: {sum(report.updated.values())} updated, {len(report.unparseable)} "
        f"unparseable, {len(report.collisions)} collision(s)",
        file=out,
    )
