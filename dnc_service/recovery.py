"""The audit's recovery and the expiry sweep, run three ways: once at start-up before the
service reports SERVING, every DNC_AUDIT_SWEEP_SECONDS in the background, and on demand as
`python -m dnc_service recover`. What a run does and why it is safe to race is
store/audit_recovery.py's docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TextIO

from .errors import DncError
from .settings import Settings
from .store import RecoveryReport, Store

logger = logging.getLogger(__name__)

# The command prints at most this many completed items one by one, then the totals.
MAX_LINES = 100


def summary(report: RecoveryReport) -> str:
    return (
        f"recover: {report.add_records} missing add record(s) written, {report.deleted} "
        f"removal(s) completed, {report.expired} entr(ies) expired ({report.markers} "
        f"marker(s) and {report.settled} pending record(s) cleared)"
    )


async def run_logged(
    store: Store, grace_seconds: float, when: str, clear: bool = True
) -> RecoveryReport:
    """One run, logged with its counts (WARNING when it completed a change a call left
    half-done, INFO when it expired entries or at start-up)."""
    report = await store.recovery.run(grace_seconds, clear)
    logger.log(
        logging.WARNING if report.add_records or report.deleted else
        logging.INFO if report.expired or when == "start-up" else logging.DEBUG,
        "audit recovery (%s): %s", when, summary(report).removeprefix("recover: "),
        extra={"add_records": report.add_records, "removals": report.deleted,
               "expired": report.expired},
    )  # fmt: skip
    return report


async def sweep(store: Store, settings: Settings, stop: asyncio.Event) -> None:
    """Every DNC_AUDIT_SWEEP_SECONDS until `stop`: complete what is older than the grace, and
    expire what is due. A database error waits for the next round."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.audit_sweep_seconds)
        if stop.is_set():
            return
        try:
            await run_logged(store, settings.audit_sweep_grace_seconds, "sweep")
        except DncError as error:
            logger.warning("audit sweep failed, retried in %ss: %s",
                           settings.audit_sweep_seconds, error.message)  # fmt: skip


async def recover(settings: Settings, out: TextIO) -> int:
    """`python -m dnc_service recover`: one run with no grace; prints what it completed."""
    store = Store(settings)
    try:
        if settings.ensure_indexes:
            await store.ensure_indexes()
        report = await store.recovery.run(0.0)
    except DncError as error:
        print(f"recover failed: {error.message}", file=out)
        return 1
    finally:
        await store.close()
    for line in report.lines[:MAX_LINES]:
        print(line, file=out)
    if len(report.lines) > MAX_LINES:
        print(f"... and {len(report.lines) - MAX_LINES} more", file=out)
    print(summary(report), file=out)
    return 0
