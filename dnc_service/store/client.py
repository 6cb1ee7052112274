"""The MongoDB client, its short timeouts, deadlines, and the translation of driver errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError

from ..errors import DeadlineExceeded, DncError, Unavailable
from ..metrics import DATABASE_ERRORS
from ..settings import Settings

Document = dict[str, Any]


def connect(settings: Settings) -> AsyncMongoClient[Document]:
    """Create the one client of the process; it connects lazily, so this never blocks."""
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        connect=False,
        appname="dnc-service",
        serverSelectionTimeoutMS=int(settings.server_selection_timeout_seconds * 1000),
        connectTimeoutMS=int(settings.connect_timeout_seconds * 1000),
        retryReads=True,
        # Other systems write these collections: a string that is not UTF-8 renders with
        # U+FFFD rather than failing the whole page.
        unicode_decode_error_handler="replace",
    )


@contextmanager
def driver_errors() -> Iterator[None]:
    """Turn pymongo's exceptions into domain errors at the store's edge."""
    try:
        yield
    except ServerSelectionTimeoutError:
        DATABASE_ERRORS.labels("unavailable").inc()
        raise Unavailable("the database is unavailable, try again later") from None
    except PyMongoError as error:
        DATABASE_ERRORS.labels("timeout" if error.timeout else type(error).__name__).inc()
        if error.timeout:
            raise DeadlineExceeded("the database did not answer within the deadline") from None
        if isinstance(error, ConnectionFailure):
            raise Unavailable("the database is unavailable, try again later") from None
        raise DncError("database error") from error


@asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """Cancel the database work inside when `seconds` pass, as DeadlineExceeded.

    pymongo's own `pymongo.timeout` (CSOT) would also bound server selection by the whole
    deadline, ignoring serverSelectionTimeoutMS: a database outage would then look like a
    hang until the caller's deadline instead of a prompt UNAVAILABLE. So the deadline is
    enforced here, server selection keeps its own short timeout, and queries carry maxTimeMS.
    """
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        DATABASE_ERRORS.labels("deadline").inc()
        raise DeadlineExceeded("the database did not answer within the deadline") from None


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Round trip to the server; raises Unavailable or DeadlineExceeded when it cannot."""
    async with deadline(client.options.server_selection_timeout + 1):
        with driver_errors():
            await client.admin.command("ping")
