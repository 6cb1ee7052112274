"""Demo data for `make run` and `python -m devtools seed-demo`: a user and fifty entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import MongoClient

from dnc_service.settings import Settings

DEMO_ORG_ID = ObjectId("64e5f12345abcdef12345678")
DEMO_USER_ID = ObjectId("64e5f12345abcdef00000001")
DEMO_ENTRIES = 50
_TYPES = ("customer_request", "complaint", "regulatory", "internal")


def seed_demo(settings: Settings) -> bool:
    """Insert the demo user and entries when the entries collection is empty; True if inserted."""
    client: MongoClient[dict[str, object]] = MongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=10_000, tz_aware=True
    )
    try:
        db = client[settings.database]
        users = db[settings.users_collection]
        if users.find_one({"_id": DEMO_USER_ID}) is None:
            users.insert_one({"_id": DEMO_USER_ID, "orgId": DEMO_ORG_ID, "name": "Demo User"})
        entries = db[settings.entries_collection]
        if entries.find_one({}) is not None:
            return False
        start = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)
        entries.insert_many([_entry(n, start - timedelta(hours=n)) for n in range(DEMO_ENTRIES)])
        return True
    finally:
        client.close()


def _entry(n: int, created_at: datetime) -> dict[str, object]:
    digits = f"1212555{1000 + n:04d}"
    entry: dict[str, object] = {
        "phoneNumber": digits,
        "phoneE164": f"+{digits}",  # as the service writes it (AddDnc) and `migrate` backfills it
        "type": _TYPES[n % len(_TYPES)],
        "orgId": DEMO_ORG_ID,
        "batchId": ObjectId(f"64e5f12345abcdef8765{n:04x}"),
        "requestUUID": f"550e8400-e29b-41d4-a716-4466554400{n:02d}",
        "createdAt": created_at,
    }
    if n % 3 == 0:
        entry["callRecording"] = f"https://example.com/recordings/{n}.mp3"
        entry["transcription"] = "Customer requested to be removed from calling list"
    return entry
