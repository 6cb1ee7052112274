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

The audit's recovery and the expiry sweep (store/audit_recovery.py) read across organizations,
each with a range on one field: `auditPending.at` (entries whose add record may be missing),
`expiresAt` (entries due to expire) and, on the audit collection, `{pending, at}` (removals
that may be unfinished). The two entry indexes are sparse where the server allows it (only the
few rows with the field are indexed; a range on a Date never matches a missing field, so a
sparse index serves it); a server that refuses sparse indexes gets plain ones.

`{orgId: 1, phoneE164: 1, phoneE164Conflict: 1}` (HEAL_INDEX, not unique, not partial) serves
the number lookup's heal query (store/lookup.py): the organization's rows with no phoneE164,
never seen or conflicted over the numbers asked. The unique index cannot: on MongoDB it is
partial and holds no row lacking phoneE164. In steady state that query's range is empty.
"""

from __future__ import annotations

import logging

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from ..errors import DncError
from .audit_records import AT, MARKER_AT, PENDING
from .client import Document, driver_errors
from .history import HISTORY_INDEX, HISTORY_INDEX_NAME
from .order import LISTING_INDEX, LISTING_INDEX_NAME
from .schema import EXPIRES_AT, ORG_ID, PHONE_E164, PHONE_E164_CONFLICT

logger = logging.getLogger(__name__)

NUMBER_INDEX = [(ORG_ID, 1), (PHONE_E164, 1)]
NUMBER_INDEX_NAME = "_".join(f"{field}_{direction}" for field, direction in NUMBER_INDEX)
NUMBER_INDEX_FILTER = {PHONE_E164: {"$exists": True}}
HEAL_INDEX = [(ORG_ID, 1), (PHONE_E164, 1), (PHONE_E164_CONFLICT, 1)]
HEAL_INDEX_NAME = "_".join(f"{field}_{direction}" for field, direction in HEAL_INDEX)
_NOT_IMPLEMENTED = 238
_DUPLICATE_KEY = 11000
# Entries whose add record may be missing, and entries due to expire (sparse where allowed).
MARKER_INDEX = [(MARKER_AT, 1)]
EXPIRY_INDEX = [(EXPIRES_AT, 1)]
# Remove and expire records whose entry may not be deleted yet.
PENDING_INDEX = [(PENDING, 1), (AT, 1)]


async def ensure_indexes(
    entries: AsyncCollection[Document], audit: AsyncCollection[Document]
) -> None:
    """Create the listing, the unique number, the heal, the history and the audit recovery
    indexes if missing (idempotent)."""
    with driver_errors():
        await audit.create_index(HISTORY_INDEX, name=HISTORY_INDEX_NAME)
        await entries.create_index(LISTING_INDEX, name=LISTING_INDEX_NAME)
        await entries.create_index(HEAL_INDEX, name=HEAL_INDEX_NAME)
        for keys in (MARKER_INDEX, EXPIRY_INDEX):
            await _sparse_index(entries, keys)
        await audit.create_index(PENDING_INDEX, name=_name(PENDING_INDEX))
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


async def _sparse_index(collection: AsyncCollection[Document], keys: list[tuple[str, int]]) -> None:
    try:
        await collection.create_index(keys, name=_name(keys), sparse=True)
    except OperationFailure as error:
        if error.code != _NOT_IMPLEMENTED:
            raise
        await collection.create_index(keys, name=_name(keys))


def _name(keys: list[tuple[str, int]]) -> str:
    return "_".join(f"{field}_{direction}" for field, direction in keys)
