"""The service's one source of "now", passed explicitly so tests can set the time.

Expiry, requestedAt bounds and audit times all ask the same clock; nothing else in the
service calls datetime.now. Stored Dates keep milliseconds, so now is cut to them: a reply
then equals the row it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, at the millisecond precision a stored Date keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
