"""The audit trail: one document per change to a list, written next to the change itself.

An audit document names the organization and the number as an entry does (schema.ORG_ID,
schema.PHONE_E164); its other fields exist only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from ..clock import Clock, system_clock
from .client import Document, driver_errors
from .schema import ORG_ID, PHONE_E164


@dataclass(frozen=True, slots=True)
class Change:
    """Who changed what: an entry added or removed in an organization's list."""

    org_id: str
    action: Literal["add", "remove"]
    entry_id: str
    phone_e164: str | None
    actor: str
    request_id: str | None


class AuditLog:
    """Appends changes to the audit collection (never read by the service itself).

    Entry and audit document are two writes (no multi-document transactions on a standalone
    MongoDB or FerretDB): the change comes first, so a failed audit write fails the call but
    can never record a change that did not happen.
    """

    def __init__(self, audit: AsyncCollection[Document], clock: Clock = system_clock) -> None:
        self._audit = audit
        self._clock = clock

    async def record(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        at = self._clock()
        documents = [
            {
                ORG_ID: ObjectId(change.org_id),
                "action": change.action,
                "entryId": ObjectId(change.entry_id),
                PHONE_E164: change.phone_e164,
                "actor": change.actor,
                "requestId": change.request_id,
                "at": at,
            }
            for change in changes
        ]
        with driver_errors():
            await self._audit.insert_many(documents, ordered=False)
