"""What tests put in the database and the tokens that reach it: entries, organizations, JWTs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from dnc_service.store.order import LISTING_ORDER
from support import JWT_SECRET

Document = dict[str, Any]
BASE_TIME = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)


def make_token(user_id: str, key: Any = JWT_SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    """A token valid for ten minutes for `user_id`; `claims` override (None removes a claim)."""
    payload: dict[str, Any] = {"sub": user_id, "exp": int(time.time()) + 600, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm)


TokenFactory = Callable[..., str]


@dataclass
class Org:
    """An organization seeded for one test: its user, a token, and its entries newest first."""

    org_id: ObjectId
    user_id: ObjectId
    token: str
    entries: list[Document]

    @property
    def metadata(self) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.token}"),)


OrgFactory = Callable[..., Org]


def make_entry(org_id: ObjectId, n: int, created_at: datetime, **fields: Any) -> Document:
    """A complete, well-formed entry; `fields` override (None removes a field)."""
    entry: Document = {
        "_id": ObjectId(),
        "phoneNumber": f"1212555{n:04d}",
        "type": "customer_request",
        "orgId": org_id,
        "batchId": ObjectId(),
        "requestUUID": str(uuid.uuid4()),
        "callRecording": f"https://example.com/recordings/{n}.mp3",
        "transcription": "Customer requested to be removed from calling list",
        "createdAt": created_at,
    }
    entry.update(fields)
    return {name: value for name, value in entry.items() if value is not None}


# The field names come from the service's one definition of the order.
(CREATED_FIELD, _), (ID_FIELD, _) = LISTING_ORDER


def newest_first(entries: list[Document]) -> list[Document]:
    """The service's order, in Python: createdAt descending in BSON order (Dates, then
    strings, then missing; naive Dates as UTC), then _id descending."""

    def key(entry: Document) -> tuple[int, Any, ObjectId]:
        created = entry.get(CREATED_FIELD)
        if isinstance(created, datetime):
            return 2, created if created.tzinfo else created.replace(tzinfo=UTC), entry[ID_FIELD]
        if isinstance(created, str):
            return 1, created, entry[ID_FIELD]
        return 0, 0, entry[ID_FIELD]

    return sorted(entries, key=key, reverse=True)


def seed_org(
    db: Database[Document], entries: int | list[Document] = 0, org_id: ObjectId | None = None
) -> Org:
    """The one way tests seed an organization: a user of it (and a token), and its entries:
    `entries` complete ones a minute apart, or the given documents (in that organization
    unless they name another)."""
    org_id = org_id or ObjectId()
    user_id = db.users.insert_one({"orgId": org_id, "name": "test user"}).inserted_id
    if isinstance(entries, int):
        docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n)) for n in range(entries)]
    else:
        docs = [{"orgId": org_id, "_id": ObjectId(), **doc} for doc in entries]
    if docs:
        db.dnc_entries.insert_many(docs)
    return Org(org_id, user_id, make_token(str(user_id)), newest_first(docs))


def seed_user(mongo_uri: str, database: str, entries: int) -> ObjectId:
    """seed_org in a test's own database; returns the user's id."""
    with MongoClient[Document](mongo_uri) as client:
        return seed_org(client[database], entries).user_id
