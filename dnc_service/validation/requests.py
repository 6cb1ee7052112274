"""What each request asks for, validated: the proto's rules, then the forms the service uses.

The bounds (page and limit, search, phone length, id and UUID shapes, batch sizes) are the
proto's buf.validate rules, checked by `rules.check`; this module adds what no rule states:
defaults, trimming, page tokens, phone parsing, lowercase ids, canonical UUIDs, and items of a
batch answered one by one. Every refusal names the request field at fault (`field=`, e.g.
`entries[3].phone_number`); nothing here touches the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from dnc.v1 import dnc_pb2

from .. import phones
from ..errors import InvalidArgument
from ..page_tokens import PagePosition, PageTokens
from ..phones import Phone
from ..slicing import SLICER
from ..store.schema import NewEntry
from . import rules

DEFAULT_PAGE = 1
DEFAULT_LIMIT = 10
DEFAULT_HISTORY_LIMIT = 20
# A history token's purpose (see page_tokens.py): it opens for ListDncHistory only.
HISTORY_TOKEN_PURPOSE = "history"
HISTORY_TOKEN_INVALID = (
    "page_token is not valid: pass next_page_token as given, with the same phone_number"
)
Item = TypeVar("Item")
Raw = TypeVar("Raw")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated page request: how many entries, matching what, starting where."""

    limit: int = DEFAULT_LIMIT
    search: str = ""
    position: PagePosition = field(
        default_factory=lambda: PagePosition.at_page(DEFAULT_PAGE, DEFAULT_LIMIT)
    )

    @classmethod
    def at_page(
        cls, page: int = DEFAULT_PAGE, limit: int = DEFAULT_LIMIT, search: str = ""
    ) -> ListQuery:
        """Page `page`, reached by offset (no page token)."""
        return cls(limit, search, PagePosition.at_page(page, limit))

    @property
    def page(self) -> int:
        return self.position.page


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A validated history request: whose number (E.164), how many events, starting where."""

    phone_e164: str
    limit: int = DEFAULT_HISTORY_LIMIT
    position: PagePosition = field(
        default_factory=lambda: PagePosition.at_page(DEFAULT_PAGE, DEFAULT_HISTORY_LIMIT)
    )


@dataclass(frozen=True, slots=True)
class Items(Generic[Item]):
    """The items of a many-item request by index: each valid one, or the error refusing it."""

    valid: dict[int, Item]
    invalid: dict[int, InvalidArgument]

    @classmethod
    async def parse(
        cls, raw: Sequence[Raw], parse: Callable[[int, Raw], Item], start: int = 0
    ) -> Items[Item]:
        """Each item by its index, counted from `start`, parsed in slices (slicing.py), so that
        a 1,000-item request never blocks every other call for its whole parse."""
        valid: dict[int, Item] = {}
        invalid: dict[int, InvalidArgument] = {}
        async with aclosing(SLICER.each(raw, len(raw))) as pairs:
            async for offset, item in pairs:
                index = start + offset
                try:
                    valid[index] = parse(index, item)
                except InvalidArgument as error:
                    # Kept without its traceback and context: a stream holds a thousand such
                    # errors per message, and their frames would make each collection crawl.
                    invalid[index] = error.with_traceback(None)
                    error.__context__ = None
        return cls(valid, invalid)


def parse_list(request: dnc_pb2.ListDncRequest, org_id: str, tokens: PageTokens) -> ListQuery:
    """Check the proto's rules, then apply defaults; InvalidArgument names the field at fault.

    A page token opens only for the organization (`org_id`) and search it was made for.
    """
    rules.check(request)
    limit = request.limit if request.HasField("limit") else DEFAULT_LIMIT
    # Surrounding blanks are ignored (the rules refuse control characters, not spaces).
    search = request.search.strip()
    if request.page_token:  # the rules refuse a page alongside it
        return ListQuery(limit, search, tokens.decode(request.page_token, org_id, search))
    page = request.page if request.HasField("page") else DEFAULT_PAGE
    return ListQuery.at_page(page, limit, search)


def parse_history(
    request: dnc_pb2.ListDncHistoryRequest, org_id: str, tokens: PageTokens
) -> HistoryQuery:
    """The number normalized as CheckDnc's, the limit's default, and the page token, which
    opens only for the organization and number it was made for (any limit, as AIP-158 allows)."""
    rules.check(request)
    number = _phone(request.phone_number, None, "phone_number").e164
    limit = request.limit if request.HasField("limit") else DEFAULT_HISTORY_LIMIT
    if not request.page_token:
        return HistoryQuery(number, limit, PagePosition.at_page(DEFAULT_PAGE, limit))
    position = tokens.decode(
        request.page_token, org_id, number, HISTORY_TOKEN_PURPOSE, HISTORY_TOKEN_INVALID
    )
    return HistoryQuery(number, limit, position)


def parse_export(request: dnc_pb2.ExportDncRequest | dnc_pb2.ExportDncBatchesRequest) -> str:
    """The export's search (the proto's rules, as ListDnc's), trimmed as ListDnc trims it."""
    rules.check(request)
    return request.search.strip()


def parse_add(
    request: dnc_pb2.AddDncRequest, now: datetime, prefix: str = "", region: str | None = None
) -> NewEntry:
    """Validate one AddDnc request (or batch item, its fields named under `prefix`); `now`, the
    service clock's, judges requested_at and expires_at; its own region, else `region` (the
    enclosing request's, a value of phones.region_code), reads a national number."""
    rules.check(request, prefix, now)
    if request.HasField("region"):
        region = _region(request.region, f"{prefix}region")
    phone = _phone(request.phone_number, region, f"{prefix}phone_number")
    batch_id = request.batch_id.lower() if request.HasField("batch_id") else None
    # The rule admits the 8-4-4-4-12 form in either case; it is stored lowercase.
    request_uuid = (
        str(uuid.UUID(request.request_uuid)) if request.HasField("request_uuid") else None
    )
    # The rules refuse control characters; surrounding blanks are trimmed, blank means none.
    entry_type = request.type.strip() or None
    return NewEntry(
        phone.e164, batch_id, request_uuid, entry_type,
        source=request.source.strip() or None,
        reason=request.reason.strip() or None,
        requested_at=(
            rules.stored_moment(request.requested_at)
            if request.HasField("requested_at") else None
        ),
        expires_at=(
            rules.stored_moment(request.expires_at) if request.HasField("expires_at") else None
        ),
    )  # fmt: skip


async def parse_batch(request: dnc_pb2.BatchAddDncRequest, now: datetime) -> Items[NewEntry]:
    """Each item validated on its own; only the item count (the proto's rule on `entries`)
    refuses the batch as a whole."""
    rules.check(request)
    return await Items.parse(
        request.entries, lambda index, item: parse_add(item, now, prefix=f"entries[{index}].")
    )


async def parse_check(
    request: dnc_pb2.CheckDncRequest | dnc_pb2.ScrubDncRequest,
) -> Items[Phone]:
    """Each number parsed on its own: its Phone, or why it can't be checked. A ScrubDnc
    message is read exactly as a CheckDnc request."""
    rules.check(request)
    region = _region(request.region, "region") if request.HasField("region") else None
    return await Items.parse(request.phone_numbers, lambda index, raw: _number(raw, region, index))


async def parse_import(
    request: dnc_pb2.ImportDncRequest, first_row: int, now: datetime
) -> Items[NewEntry]:
    """One chunk of an import: each row as a batch item, indexed by its row over the whole
    stream (`first_row` is this chunk's first); only the row count or the request's region
    refuses the chunk."""
    rules.check(request)
    region = _region(request.region, "region") if request.HasField("region") else None
    return await Items.parse(
        request.entries, lambda _, item: parse_add(item, now, "", region), first_row
    )


def parse_remove(request: dnc_pb2.RemoveDncRequest) -> str:
    """The entry id to remove (the proto's rule: 24 hex characters), lowercase."""
    rules.check(request)
    return request.id.lower()


def _phone(raw: str, region: str | None, field_path: str) -> Phone:
    """`raw` as a number; InvalidArgument naming `field_path` when it is none."""
    try:
        return phones.normalize(raw, region)
    except InvalidArgument as error:
        raise InvalidArgument(error.message, field=field_path) from None


def _number(raw: str, region: str | None, index: int) -> Phone:
    """Item `index` of `phone_numbers`; its field path is made only when it is refused."""
    try:
        return phones.normalize(raw, region)
    except InvalidArgument as error:
        raise InvalidArgument(error.message, field=f"phone_numbers[{index}]") from None


def _region(value: str, field_path: str) -> str | None:
    try:
        return phones.region_code(value)
    except InvalidArgument as error:
        raise InvalidArgument(f"{field_path}: {error.message}", field=field_path) from None
