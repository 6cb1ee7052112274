"""The benchmark dataset: many organizations of ordinary size, and one deep one for deep pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import MongoClient

from dnc_service.store.order import LISTING_INDEX, LISTING_INDEX_NAME

BASE_TIME = datetime(2025, 5, 15, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Dataset:
    """`entries` spread evenly over `orgs` organizations (numbered from `first_org`)."""

    entries: int
    orgs: int
    first_org: int = 0

    @property
    def tag(self) -> str:
        return f"{self.entries}x{self.orgs}@{self.first_org}"


def org_id(n: int) -> ObjectId:
    return ObjectId(f"{0xBE0C0000 + n:08x}{'0' * 16}")


def user_id(n: int) -> ObjectId:
    return ObjectId(f"{0xBE0C0000 + n:08x}{'1' * 16}")


DEEP_ORG = 999


def seed(uri: str, database: str, dataset: Dataset) -> bool:
    """Insert the dataset unless this exact one is already there; True if it was inserted."""
    client: MongoClient[dict[str, object]] = MongoClient(uri, tz_aware=True)
    try:
        db = client[database]
        meta = db.bench_meta.find_one({"_id": "dataset"})
        if meta is not None and meta.get("tag") == dataset.tag:
            return False
        db.dnc_entries.drop()
        db.users.drop()
        db.bench_meta.drop()
        db.dnc_entries.create_index(LISTING_INDEX, name=LISTING_INDEX_NAME)
        orgs = range(dataset.first_org, dataset.first_org + dataset.orgs)
        db.users.insert_many([{"_id": user_id(n), "orgId": org_id(n)} for n in orgs])
        for n in orgs:
            batch = [_entry(n, i) for i in range(dataset.entries // dataset.orgs)]
            for start in range(0, len(batch), 2000):
                db.dnc_entries.insert_many(batch[start : start + 2000], ordered=False)
        db.bench_meta.insert_one({"_id": "dataset", "tag": dataset.tag})
        return True
    finally:
        client.close()


def _entry(org: int, i: int) -> dict[str, object]:
    return {
        "phoneNumber": f"1{(org * 7919 + i * 104729) % 10**10:010d}",
        "type": ("customer_request", "complaint", "regulatory")[i % 3],
        "orgId": org_id(org),
        "batchId": ObjectId(),
        "requestUUID": str(uuid.UUID(int=org << 64 | i)),
        "callRecording": f"https://example.com/recordings/{org}/{i}.mp3",
        "transcription": "Customer requested to be removed from calling list",
        "createdAt": BASE_TIME - timedelta(seconds=i),
    }
