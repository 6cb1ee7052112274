"""The listing order, defined once: the sort, the index that serves it and "after this key".

Newest first: `createdAt` descending, then `_id` descending, so pages never repeat or skip an
entry. Every query shape of the listing is derived from `LISTING_ORDER` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING

from .schema import CREATED_AT, ID, ORG_ID

TENANT_FIELD = ORG_ID
LISTING_ORDER: tuple[tuple[str, int], ...] = ((CREATED_AT, DESCENDING), (ID, DESCENDING))
SORT = list(LISTING_ORDER)
# Equality on the tenant first, then the sort: one index range, no in-memory sort.
LISTING_INDEX = [(TENANT_FIELD, 1), *LISTING_ORDER]
LISTING_INDEX_NAME = "_".join(f"{field}_{direction}" for field, direction in LISTING_INDEX)

(_CREATED, _), (_ID, _) = LISTING_ORDER
# Both keys descend: "later in the listing" is "less than".
_LATER = "$lt"


@dataclass(frozen=True, slots=True)
class SortKey:
    """An entry's place in the listing order: its id (24 lowercase hex) and its createdAt."""

    entry_id: str
    created_at: datetime | None = None


def after(key: SortKey | None) -> dict[str, Any] | None:
    """Entries strictly after the entry at `key` in listing order; None without a key."""
    if key is None:
        return None
    last_id = ObjectId(key.entry_id)
    if key.created_at is None:  # a missing createdAt sorts last: only such rows remain
        return {_CREATED: None, _ID: {_LATER: last_id}}
    return {
        "$or": [
            {_CREATED: {_LATER: key.created_at}},
            {_CREATED: key.created_at, _ID: {_LATER: last_id}},
            # Missing, null and (outside the contract) non-Date values sort after Dates.
            {_CREATED: {"$not": {"$type": "date"}}},
        ]
    }


def key_of(document: dict[str, Any]) -> SortKey | None:
    """The key a next page resumes after, or None when keyset order can't.

    A row outside the contract (createdAt neither a Date nor missing) has no defined keyset
    order across BSON types, so the next page falls back to the offset alone.
    """
    last_id, created_at = document.get(_ID), document.get(_CREATED)
    if isinstance(last_id, ObjectId) and (created_at is None or isinstance(created_at, datetime)):
        return SortKey(str(last_id), created_at)
    return None
