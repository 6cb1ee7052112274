"""Reading the audit trail: one number's recorded changes in an organization, newest first.

The write side is store/audit.py's; this only reads. The query is equality on orgId and
phoneE164, then the sort (`at` desc, `_id` desc) exactly along HISTORY_INDEX: one index range,
no in-memory sort, and pages resume after the last record's key (store/order.py's keyset).
`_id` only breaks ties: new records' ids are derived, old ones random. A record's `pending`
flag (a change being made crash-safe) is never read: a pending record is shown as decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from dnc.v1 import dnc_pb2

from . import order
from .client import Document, driver_errors
from .order import SortKey
from .schema import ID, ORG_ID, PHONE_E164, stored_timestamp

AT = "at"
ACTION = "action"
ENTRY_ID = "entryId"
ACTOR = "actor"
REQUEST_ID = "requestId"
SOURCE = "source"
REASON = "reason"

HISTORY_ORDER: tuple[tuple[str, int], ...] = ((AT, DESCENDING), (ID, DESCENDING))
# Equality on the tenant and the number first, then the sort.
HISTORY_INDEX = [(ORG_ID, 1), (PHONE_E164, 1), *HISTORY_ORDER]
HISTORY_INDEX_NAME = "_".join(f"{field}_{direction}" for field, direction in HISTORY_INDEX)
# Only what a DncEvent shows: never `pending` or anything a writer may add later.
PROJECTION = dict.fromkeys((ACTION, ENTRY_ID, PHONE_E164, ACTOR, REQUEST_ID, AT, SOURCE, REASON), 1)
# Stored text field -> DncEvent field; absent or not text: left unset (empty).
_TEXT = {
    ACTION: "action",
    PHONE_E164: "phone_e164",
    ACTOR: "actor",
    REQUEST_ID: "request_id",
    SOURCE: "source",
    REASON: "reason",
}


@dataclass(frozen=True, slots=True)
class EventPage:
    """The events of one page, whether more follow and, when they do, the key of the page's
    last record (None when keyset order can't resume: offset alone)."""

    events: list[dnc_pb2.DncEvent]
    more: bool = False
    last: SortKey | None = None


def history_filter(org_id: str, phone_e164: str, after: SortKey | None = None) -> Document:
    """orgId first, then the number, then (on a later page) the keyset clause."""
    where: Document = {ORG_ID: ObjectId(org_id), PHONE_E164: phone_e164}
    clause = order.after_by(AT, after)
    if clause is not None:
        where.update(clause)
    return where


class HistoryReader:
    """Org-scoped reads of the audit collection, along HISTORY_INDEX."""

    def __init__(self, audit: AsyncCollection[Document]) -> None:
        self._audit = audit

    async def page(
        self,
        org_id: str,
        phone_e164: str,
        limit: int,
        *,
        skip: int = 0,
        after: SortKey | None = None,
        max_time_ms: int,
    ) -> EventPage:
        """`limit` events after `after` (and `skip` more), one more to know if another follows."""
        found = self._audit.find(
            history_filter(org_id, phone_e164, after), PROJECTION,
            sort=list(HISTORY_ORDER), skip=skip, limit=limit + 1, max_time_ms=max_time_ms,
        )  # fmt: skip
        with driver_errors():
            documents = await found.to_list()
        if len(documents) <= limit:
            return EventPage([to_event(document) for document in documents])
        documents = documents[:limit]
        return EventPage(
            [to_event(document) for document in documents], True, order.key_by(AT, documents[-1])
        )


def to_event(document: Document) -> dnc_pb2.DncEvent:
    """Render one audit record; a field absent or of an unexpected type is left unset."""
    fields: dict[str, Any] = {
        field: document[key] for key, field in _TEXT.items() if isinstance(document.get(key), str)
    }
    entry_id = document.get(ENTRY_ID)
    if isinstance(entry_id, ObjectId | str):
        fields["entry_id"] = str(entry_id)
    at = stored_timestamp(document.get(AT))
    if at is not None:
        fields["at"] = at
    return dnc_pb2.DncEvent(**fields)
