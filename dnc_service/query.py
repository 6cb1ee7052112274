"""What a ListDnc request asks for, validated, and the MongoDB filter that answers it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from dnc.v1 import dnc_pb2

from .errors import InvalidArgument
from .page_tokens import Cursor, parse_token

DEFAULT_PAGE = 1
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_SEARCH_LENGTH = 128
SEARCH_FIELDS = ("phoneNumber", "type", "requestUUID")
# Newest first; _id breaks ties so pages never repeat or skip an entry.
SORT = [("createdAt", -1), ("_id", -1)]

_PHONE_SEARCH = re.compile(r"[0-9+\-(). ]+")
_NON_DIGITS = re.compile(r"[^0-9]")
# Legacy rows store the number as int64/double; a double holds 15 digits exactly.
_MAX_NUMERIC_DIGITS = 15


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated page request."""

    page: int = DEFAULT_PAGE
    limit: int = DEFAULT_LIMIT
    search: str = ""
    cursor: Cursor | None = None

    @property
    def offset(self) -> int:
        """How many entries come before this page."""
        return self.cursor.offset if self.cursor else (self.page - 1) * self.limit

    @property
    def skip(self) -> int:
        """Entries to pass over: none after a keyset cursor, which already points past them."""
        return 0 if self.cursor and self.cursor.keyset else self.offset


def parse_request(request: dnc_pb2.ListDncRequest) -> ListQuery:
    """Apply defaults and bounds; raise InvalidArgument with a message the caller can act on."""
    page = request.page if request.HasField("page") else DEFAULT_PAGE
    if page < 1:
        raise InvalidArgument(f"page must be an integer >= 1, got {page}")
    limit = request.limit if request.HasField("limit") else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit}")
    search = parse_search(request.search)
    if not request.page_token:
        return ListQuery(page=page, limit=limit, search=search)
    if request.HasField("page"):
        raise InvalidArgument("give page or page_token, not both")
    cursor = parse_token(request.page_token, search)
    return ListQuery(page=cursor.page, limit=limit, search=search, cursor=cursor)


def parse_search(raw: str) -> str:
    """Trim surrounding blanks and refuse what no phone, type or UUID can contain."""
    if len(raw) > MAX_SEARCH_LENGTH:
        raise InvalidArgument(
            f"search must be at most {MAX_SEARCH_LENGTH} characters, got {len(raw)}"
        )
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in raw):
        raise InvalidArgument("search must not contain control characters")
    return raw.strip()


def build_filter(org_id: ObjectId, search: str, cursor: Cursor | None = None) -> dict[str, Any]:
    """Equality on orgId first (the index prefix), then the search and the cursor, if any."""
    conditions: list[dict[str, Any]] = []
    if search:
        conditions.append({"$or": search_clauses(search)})
    after = cursor.filter() if cursor else None
    if after:
        conditions.append(after)
    query: dict[str, Any] = {"orgId": org_id}
    if len(conditions) == 1:
        query.update(conditions[0])
    elif conditions:
        query["$and"] = conditions
    return query


def search_clauses(search: str) -> list[dict[str, Any]]:
    """Case-insensitive literal substring over each field, plus phone-digit variants."""
    pattern = re.escape(search)
    clauses: list[dict[str, Any]] = [
        {field: {"$regex": pattern, "$options": "i"}} for field in SEARCH_FIELDS
    ]
    digits = phone_digits(search)
    if digits is not None:
        if digits != search:
            clauses.append({"phoneNumber": {"$regex": digits}})
        if len(digits) <= _MAX_NUMERIC_DIGITS and not digits.startswith("0"):
            # Legacy numeric rows cannot match a regex; they match on the whole number.
            clauses.append({"phoneNumber": int(digits)})
    return clauses


def phone_digits(search: str) -> str | None:
    """The digits of a search made only of digits and phone punctuation, else None."""
    if not _PHONE_SEARCH.fullmatch(search):
        return None
    digits = _NON_DIGITS.sub("", search)
    return digits or None
