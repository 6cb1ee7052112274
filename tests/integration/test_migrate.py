"""`python -m dnc_service migrate` on messy legacy rows: backfills phoneE164, reports what it
could not parse and which rows collide, deletes nothing, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
from bson import Int64, ObjectId
from pymongo import AsyncMongoClient
from pymongo.database import Database

from data_support import BASE_TIME, Document
from dnc_service.store.entries import EntriesStore
from dnc_service.store.indexes import NUMBER_INDEX_NAME, ensure_indexes
from service_support import service_env
from support import ROOT


@pytest.fixture
def legacy_db(mongo_db: Database[Document]) -> Iterator[Database[Document]]:
    """A database of its own: migrate walks a whole collection."""
    db = mongo_db.client[f"{mongo_db.name}_migrate_{ObjectId()}"]
    try:
        yield db
    finally:
        mongo_db.client.drop_database(db.name)


def migrate(mongo_uri: str, db: Database[Document]) -> str:
    env = service_env(mongo_uri, db.name)
    result = subprocess.run(
        [sys.executable, "-m", "dnc_service", "migrate"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_migrate_backfills_reports_and_is_idempotent(
    mongo_uri: str, legacy_db: Database[Document]
) -> None:
    org, other = ObjectId(), ObjectId()
    ids = {name: ObjectId() for name in (
        "punctuated", "int64", "double", "garbage", "short", "missing", "duplicate",
        "already", "collides_with_already", "other_org", "no_org",
    )}  # fmt: skip
    rows: list[Document] = [
        {"_id": ids["punctuated"], "orgId": org, "phoneNumber": "+1 (212) 555-0700"},
        {"_id": ids["int64"], "orgId": org, "phoneNumber": Int64(12125550701)},
        {"_id": ids["double"], "orgId": org, "phoneNumber": 12125550702.0},
        {"_id": ids["garbage"], "orgId": org, "phoneNumber": "call me maybe"},
        {"_id": ids["short"], "orgId": org, "phoneNumber": "911"},
        {"_id": ids["missing"], "orgId": org},
        {"_id": ids["duplicate"], "orgId": org, "phoneNumber": "12125550700"},
        {"_id": ids["already"], "orgId": org, "phoneNumber": "12125550703",
         "phoneE164": "+12125550703"},
        {"_id": ids["collides_with_already"], "orgId": org, "phoneNumber": "1-212-555-0703"},
        {"_id": ids["other_org"], "orgId": other, "phoneNumber": "12125550700"},
        {"_id": ids["no_org"], "phoneNumber": "12125550704"},
    ]  # fmt: skip
    for row in rows:
        row["createdAt"] = BASE_TIME
    legacy_db.dnc_entries.insert_many(rows)
    before = {doc["_id"]: doc for doc in legacy_db.dnc_entries.find()}

    first = migrate(mongo_uri, legacy_db)

    after = {doc["_id"]: doc for doc in legacy_db.dnc_entries.find()}
    assert set(after) == set(before)  # nothing deleted
    e164 = {name: after[ids[name]].get("phoneE164") for name in ids}
    assert e164 == {
        "punctuated": "+12125550700", "int64": "+12125550701", "double": "+12125550702",
        "garbage": None, "short": None, "missing": None, "duplicate": None,
        "already": "+12125550703", "collides_with_already": None,
        "other_org": "+12125550700", "no_org": None,
    }  # fmt: skip
    for _id, doc in after.items():  # only phoneE164 was added
        assert {k: v for k, v in doc.items() if k != "phoneE164"} == {
            k: v for k, v in before[_id].items() if k != "phoneE164"
        }
    assert f"updated 3 row(s) of organization {org}" in first
    assert f"updated 1 row(s) of organization {other}" in first
    for name in ("garbage", "short", "missing", "no_org"):
        assert f"cannot parse entry {ids[name]}" in first, name
    assert f"entry {ids['duplicate']} of organization {org} has the number of entry " \
        f"{ids['punctuated']}" in first  # fmt: skip
    assert f"entry {ids['collides_with_already']} of organization {org} has the number " \
        f"of entry {ids['already']}" in first  # fmt: skip
    assert "4 updated, 4 unparseable, 2 collision(s)" in first
    assert "12125550700" not in first  # numbers are not printed
    assert NUMBER_INDEX_NAME in legacy_db.dnc_entries.index_information()

    second = migrate(mongo_uri, legacy_db)
    assert "0 updated, 4 unparseable, 2 collision(s)" in second
    assert {doc["_id"]: doc for doc in legacy_db.dnc_entries.find()} == after


def test_a_migrated_int64_row_is_found_by_part_of_its_number(
    mongo_uri: str, legacy_db: Database[Document]
) -> None:
    org = ObjectId()
    row = {"orgId": org, "phoneNumber": Int64(12125550705), "createdAt": BASE_TIME}
    legacy_db.dnc_entries.insert_one(row)

    async def found(search: str) -> list[str]:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, tz_aware=True)
        try:
            store = EntriesStore(client[legacy_db.name].dnc_entries)
            page = await store.list_page(str(org), search, 10, max_time_ms=5000)
            return [entry.id for entry in page.entries]
        finally:
            await client.close()

    assert asyncio.run(found("555-0705")) == []  # a number can't match a regex
    migrate(mongo_uri, legacy_db)
    for search in ("555-0705", "2125550705", "(212) 555", "+1 212 555 0705"):
        assert asyncio.run(found(search)) == [str(row["_id"])], search


def test_migrate_after_the_lookup_marked_rows_fills_them_and_clears_the_mark(
    mongo_uri: str, legacy_db: Database[Document]
) -> None:
    """The number lookup (store/lookup.py) marks rows it cannot give a number; migrate still
    reports them, and a row it can fill now (its number's holder is gone) loses the mark."""
    org = ObjectId()
    holder, duplicate, junk = ObjectId(), ObjectId(), ObjectId()
    legacy_db.dnc_entries.insert_many([
        {"_id": holder, "orgId": org, "phoneNumber": 12125550706.0, "createdAt": BASE_TIME},
        {"_id": duplicate, "orgId": org, "phoneNumber": "+1 212 555-0706", "createdAt": BASE_TIME},
        {"_id": junk, "orgId": org, "phoneNumber": "call me", "createdAt": BASE_TIME},
    ])  # fmt: skip

    async def check() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, tz_aware=True)
        db = client[legacy_db.name]
        try:
            await ensure_indexes(db.dnc_entries, db.dnc_audit)  # as the service does at start
            await EntriesStore(db.dnc_entries).check(str(org), ["+12125550706"], 5000)
        finally:
            await client.close()

    asyncio.run(check())
    marks = {doc["_id"]: doc.get("phoneE164Conflict") for doc in legacy_db.dnc_entries.find()}
    assert marks == {holder: None, duplicate: "+12125550706", junk: "unparseable"}
    legacy_db.dnc_entries.delete_one({"_id": holder})  # another system removes the holder
    report = migrate(mongo_uri, legacy_db)
    assert "1 unparseable" in report
    assert str(junk) in report
    rows = {doc["_id"]: doc for doc in legacy_db.dnc_entries.find()}
    assert rows[duplicate]["phoneE164"] == "+12125550706"
    assert "phoneE164Conflict" not in rows[duplicate]
    assert rows[junk]["phoneE164Conflict"] == "unparseable"  # left as it is, reported
