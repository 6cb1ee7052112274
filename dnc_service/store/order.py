"""The listing order, defined once: the sort, the index that serves it and "after this key".

Newest first: `createdAt` descending, then `_id` descending, so pages never repeat or skip an
entry. Every query shape of the listing is derived from `LISTING_ORDER` below. The history of
a number (store/history.py) walks the audit trail the same way by its `at`: `after_by` and
`key_by` take the time field.
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
    """A document's place in a newest-first order: its id (24 lowercase hex) and its time
    (`created_at`: an entry's createdAt, an audit record's at)."""

    entry_id: str
    created_at: datetime | None = None


def after(key: SortKey | None) -> dict[str, Any] | None:
    """Entries strictly after the entry at `key` in listing order; None without a key."""
    return after_by(_CREATED, key)


def after_by(time_field: str, key: SortKey | None) -> dict[str, Any] | None:
    """Documents strictly after `key` in the order (`time_field` desc, `_id` desc)."""
    if key is None:
        return None
    last_id = ObjectId(key.entry_id)
    if key.created_at is None:  # a missing time sorts last: only such rows remain
        return {time_field: None, _ID: {_LATER: last_id}}
    return {
        "$or": [
            {time_field: {_LATER: key.created_at}},
            {time_field: key.created_at, _ID: {_LATER: last_id}},
            # Missing, null and (outside the contract) non-Date values sort after Dates.
            {time_field: {"$not": {"$type": "date"}}},
        ]
    }


def key_of(document: dict[str, Any]) -> SortKey | None:
    """The key a next page resumes after, or None when keyset order can't."""
    return key_by(_CREATED, document)


def key_by(time_field: str, document: dict[str, Any]) -> SortKey | None:
    """The key of `document` in the order (`time_field` desc, `_id` desc), or None.

    A row outside the contract (its time neither a Date nor missing) has no defined keyset
    order across BSON types, so the next page falls back to the offset alone.
    """
    last_id, created_at = document.get(_ID), document.get(time_field)
    if isinstance(last_id, ObjectId) and (created_at is None or isinstance(created_at, datetime)):
        return SortKey(str(last_id), created_at)
    return None
