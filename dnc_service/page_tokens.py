"""Opaque page tokens (AIP-158): where the next page starts, bound to the search it was made for.

A token resumes right after the last entry it saw (keyset): at index cost however deep the
page, and stable when entries are inserted meanwhile. Tampering can only move a caller within
their own organization (every query carries the caller's organization), so tokens are not
signed. This module knows positions, not databases: store/order.py turns a cursor into a filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .errors import InvalidArgument

MAX_PAGE_TOKEN_CHARS = 256
_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_ID = re.compile(r"[0-9a-f]{24}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: `offset` entries into the listing, right after `last_id` if known.

    `last_id` (24 lowercase hex) and `created_at` are the sort key of the previous page's
    last entry; `created_at` is None when that entry had none.
    """

    page: int
    offset: int
    last_id: str | None = None
    created_at: datetime | None = None

    @classmethod
    def at_page(cls, page: int, limit: int) -> Cursor:
        """Page `page` of `limit` entries each, reached by offset."""
        return cls(page, (page - 1) * limit)

    @property
    def skip(self) -> int:
        """Entries the database passes over: none after a keyset position, which is past them."""
        return 0 if self.last_id is not None else self.offset

    def next(
        self, limit: int, last_id: str | None = None, created_at: datetime | None = None
    ) -> Cursor:
        """The page after this one of `limit` entries, after the entry (`last_id`, `created_at`)."""
        return Cursor(self.page + 1, self.offset + limit, last_id, created_at)


def encode(cursor: Cursor, search: str) -> str:
    """The opaque token of `cursor`, valid only with the same `search`."""
    body: dict[str, Any] = {"v": _VERSION, "p": cursor.page, "n": cursor.offset}
    body["q"] = _digest(search)
    if cursor.last_id is not None:
        body["i"] = cursor.last_id
        if cursor.created_at is not None:
            body["c"] = _milliseconds(cursor.created_at)
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def decode(token: str, search: str) -> Cursor:
    """Decode and check a token; anything unexpected is INVALID_ARGUMENT, never a crash."""
    if len(token) > MAX_PAGE_TOKEN_CHARS:
        raise InvalidArgument("page_token is not valid")
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(body, dict) or body.get("v") != _VERSION:
            raise ValueError(token)
        created = body.get("c")
        cursor = Cursor(
            _positive_int(body["p"]),
            _positive_int(body["n"], minimum=0),
            last_id=_id(body["i"]) if "i" in body else None,
            created_at=None if created is None else _from_milliseconds(created),
        )
        digest = body["q"]
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        raise InvalidArgument("page_token is not valid") from None
    if digest != _digest(search):
        raise InvalidArgument("page_token was issued for a different search")
    return cursor


def _digest(search: str) -> str:
    return hashlib.sha256(search.encode()).hexdigest()[:16]


def _id(value: object) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value.lower()):
        raise ValueError(value)
    return value.lower()


def _milliseconds(moment: datetime) -> int:
    """Exact integer milliseconds (stored dates have no finer precision)."""
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
