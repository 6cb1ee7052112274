"""The MongoDB filters of a listing: the organization, then expiry, the search and the sort key.

Expiry is decided here once (`unexpired`): an entry lists its number while now < expiresAt, so
expiresAt is the first instant it no longer does (at exactly expiresAt it is expired). It is a
residual condition: MongoDB still walks the index the rest of the filter selects (orgId first)
and drops expired rows as it fetches them; no index serves expiry itself, none needs to.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bson import ObjectId

from .schema import EXPIRES_AT, ORG_ID, PHONE_E164, PHONE_NUMBER, REQUEST_UUID, TYPE

SEARCH_FIELDS = (PHONE_NUMBER, TYPE, REQUEST_UUID)

_PHONE_SEARCH = re.compile(r"[0-9+\-(). ]+")
_NON_DIGITS = re.compile(r"[^0-9]")
# Legacy rows store the number as int64/double; a double holds 15 digits exactly.
_MAX_NUMERIC_DIGITS = 15


def unexpired(now: datetime) -> dict[str, Any]:
    """The condition an entry lists its number at `now`: no expiresAt, or one still ahead.

    `$not: {$lte}` rather than `$or` of "missing" and `$gt`: it also keeps rows whose expiresAt
    is null or not a Date (another system's, outside the contract: they never expire), and it
    is one key beside the search's `$or`. FerretDB v1.24 and MongoDB both evaluate it.
    """
    return {EXPIRES_AT: {"$not": {"$lte": now}}}


def listing_filter(
    org_id: str, search: str, now: datetime, after: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Equality on the organization first (the index prefix), then expiry at `now`, the search
    and `after`."""
    conditions: list[dict[str, Any]] = []
    if search:
        conditions.append({"$or": search_clauses(search)})
    if after:
        conditions.append(after)
    query: dict[str, Any] = {ORG_ID: ObjectId(org_id), **unexpired(now)}
    if len(conditions) == 1:
        query.update(conditions[0])
    elif conditions:
        query["$and"] = conditions
    return query


def search_clauses(search: str) -> list[dict[str, Any]]:
    """Case-insensitive literal substring over each field, plus phone-digit variants.

    `phoneE164` joins only for phone-like searches (digits and phone punctuation).
    """
    pattern = re.escape(search)
    clauses: list[dict[str, Any]] = [
        {field: {"$regex": pattern, "$options": "i"}} for field in SEARCH_FIELDS
    ]
    digits = phone_digits(search)
    if digits is not None:
        if digits != search:
            clauses.append({PHONE_NUMBER: {"$regex": digits}})
        # The normalized number (written on add, backfilled by `migrate`): finds legacy
        # int64/double and punctuated rows by any part of their digits.
        clauses.append({PHONE_E164: {"$regex": digits}})
        if len(digits) <= _MAX_NUMERIC_DIGITS and not digits.startswith("0"):
            # Legacy numeric rows cannot match a regex; they match on the whole number.
            clauses.append({PHONE_NUMBER: int(digits)})
    return clauses


def phone_digits(search: str) -> str | None:
    """The digits of a search made only of digits and phone punctuation, else None."""
    if not _PHONE_SEARCH.fullmatch(search):
        return None
    digits = _NON_DIGITS.sub("", search)
    return digits or None
