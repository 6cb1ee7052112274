"""The indexes the service relies on: the listing order, one entry per organization and number,
and a number's history in the audit trail (store/history.py's HISTORY_INDEX).

`{orgId: 1, phoneE164: 1}` is unique: it is what keeps concurrent adds of one number from
listing it twice (an insert that would repeat it fails with a duplicate-key error), and it
serves every lookup by number (CheckDnc, BatchAddDnc) with equality on orgId first.

Rows written before the write RPCs have no phoneE164 until `migrate` backfills it, and
MongoDB indexes a missing field as null, so a plain unique index would refuse the second such
row of an organization. On MongoDB the index is therefore partial, over rows that have the
field. The filter is `$exists: true` rather than `$type: "string"` (the service only ever
writes strings) because MongoDB's planner proves `{phoneE164: {$in: [...]}}` implies `$exists`
but not `$type`, and a partial index is used only for queries that imply its filter.

FerretDB (v1.24, the local and test server) refuses partial indexes (NotImplemented); there the
index is a plain unique one, which is equivalent, because its SQLite backend does not treat
rows lacking the field as equal to each other (tests/integration/test_management.py checks it).
"""

from __future__ import annotations

import logging

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from ..errors import DncError
from .client import Document, driver_errors
from .history import HISTORY_INDEX, HISTORY_INDEX_NAME
from .order import LISTING_INDEX, LISTING_INDEX_NAME
from .schema import ORG_ID, PHONE_E164

logger = logging.getLogger(__name__)

NUMBER_INDEX = [(ORG_ID, 1), (PHONE_E164, 1)]
NUMBER_INDEX_NAME = "_".join(f"{field}_{direction}" for field, direction in NUMBER_INDEX)
NUMBER_INDEX_FILTER = {PHONE_E164: {"$exists": True}}
_NOT_IMPLEMENTED = 238
_DUPLICATE_KEY = 11000


async def ensure_indexes(
    entries: AsyncCollection[Document], audit: AsyncCollection[Document]
) -> None:
    """Create the listing, the unique number and the history index if missing (idempotent)."""
    with driver_errors():
        await audit.create_index(HISTORY_INDEX, name=HISTORY_INDEX_NAME)
        await entries.create_index(LISTING_INDEX, name=LISTING_INDEX_NAME)
        try:
            await entries.create_index(
                NUMBER_INDEX, name=NUMBER_INDEX_NAME, unique=True,
                partialFilterExpression=NUMBER_INDEX_FILTER,
            )  # fmt: skip
        except OperationFailure as error:
            if error.code == _DUPLICATE_KEY:
                raise DncError(
                    f"cannot build the unique index {NUMBER_INDEX_NAME}: some organization has "
                    f"two rows with the same {PHONE_E164}; remove one of each pair"
                ) from None
            if error.code != _NOT_IMPLEMENTED:
                raise
            logger.info("partial indexes not supported by this server: plain unique index")
            await entries.create_index(NUMBER_INDEX, name=NUMBER_INDEX_NAME, unique=True)
