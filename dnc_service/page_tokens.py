"""Opaque page tokens (AIP-158): a keyset cursor after a page's last entry, bound to its search.

A token resumes right after the last entry it saw: at index cost however deep the page, and
stable when entries are inserted meanwhile. Tampering can only move a caller within their own
organization (the filter always carries the caller's orgId), so tokens are not signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from bson import ObjectId
from bson.errors import InvalidId

from .errors import InvalidArgument

MAX_TOKEN_LENGTH = 256
_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: right after (created_at, last_id) when known, else at `offset`."""

    page: int
    offset: int
    last_id: ObjectId | None = None
    created_at: datetime | None = None

    @property
    def keyset(self) -> bool:
        return self.last_id is not None

    def filter(self) -> dict[str, Any] | None:
        """Entries strictly after the cursor in (createdAt desc, _id desc) order."""
        if self.last_id is None:
            return None
        if self.created_at is None:  # missing createdAt sorts last: only such rows remain
            return {"createdAt": None, "_id": {"$lt": self.last_id}}
        return {
            "$or": [
                {"createdAt": {"$lt": self.created_at}},
                {"createdAt": self.created_at, "_id": {"$lt": self.last_id}},
                # Missing, null and (outside the contract) non-Date values sort after Dates.
                {"createdAt": {"$not": {"$type": "date"}}},
            ]
        }


def next_token(page: int, offset: int, last: dict[str, Any], search: str) -> str:
    """The token of page `page + 1`, starting at `offset`, after the document `last`."""
    body: dict[str, Any] = {"v": _VERSION, "p": page + 1, "n": offset, "q": _digest(search)}
    created_at = last.get("createdAt")
    if isinstance(last.get("_id"), ObjectId) and (
        created_at is None or isinstance(created_at, datetime)
    ):
        body["i"] = str(last["_id"])
        if created_at is not None:
            body["c"] = _milliseconds(created_at)
    # Otherwise a row outside the contract (createdAt not a Date): keyset order is not
    # defined across BSON types, so the token falls back to the offset alone.
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def parse_token(token: str, search: str) -> Cursor:
    """Decode and check a token; anything unexpected is INVALID_ARGUMENT, never a crash."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidArgument("page_token is not valid")
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(body, dict) or body.get("v") != _VERSION:
            raise ValueError(token)
        page = _positive_int(body["p"])
        offset = _positive_int(body["n"], minimum=0)
        created = body.get("c")
        cursor = Cursor(
            page,
            offset,
            last_id=ObjectId(body["i"]) if "i" in body else None,
            created_at=None if created is None else _from_milliseconds(created),
        )
        digest = body["q"]
    except (ValueError, KeyError, TypeError, InvalidId, binascii.Error, OverflowError):
        raise InvalidArgument("page_token is not valid") from None
    if digest != _digest(search):
        raise InvalidArgument("page_token was issued for a different search")
    return cursor


def _digest(search: str) -> str:
    return hashlib.sha256(search.encode()).hexdigest()[:16]


def _milliseconds(moment: datetime) -> int:
    """Exact integer milliseconds (BSON dates have no finer precision)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def _from_milliseconds(value: object) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(value)
    return _EPOCH + value * _MILLISECOND


def _positive_int(value: object, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value < 2**31:
        raise ValueError(value)
    return value
