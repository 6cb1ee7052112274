"""Every query the repository sends is one MongoDB answers from an index: the listing's, the
unique number index, the heal index, or (a number's history) the audit trail's.

FerretDB sorts in memory, so its timings prove nothing; the shape is what makes MongoDB fast:
equality on orgId, then a sort exactly along {orgId: 1, createdAt: -1, _id: -1}; lookups by
number along the unique number index, the heal query along the heal index; expiry is a residual
condition beside them. Against a real MongoDB (MONGODB_URI), the plan itself is checked too: an
index scan and no blocking SORT stage.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring
from pymongo.database import Database

from data_support import Document, OrgFactory
from dnc_service.store import AuditLog, Author, NewEntry, SortKey
from dnc_service.store.entries import EntriesStore
from dnc_service.store.filters import listing_filter, unexpired
from dnc_service.store.history import (
    HISTORY_INDEX,
    HISTORY_INDEX_NAME,
    HISTORY_ORDER,
    HistoryReader,
    history_filter,
)
from dnc_service.store.indexes import HEAL_INDEX, HEAL_INDEX_NAME, NUMBER_INDEX, NUMBER_INDEX_NAME
from dnc_service.store.lookup import first_filter, heal_filter, listed_filter, settled_filter
from dnc_service.store.order import LISTING_INDEX, LISTING_INDEX_NAME, SORT
from dnc_service.store.writes import EntryWrites


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "aggregate", "findAndModify"):
            self.commands.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


NOW = datetime(2026, 5, 15, 10, 30, tzinfo=UTC)


def clock() -> datetime:
    return NOW


# (search, limit, entries skipped, the sort key a page resumes after)
Query = tuple[str, int, int, SortKey | None]
QUERIES: list[Query] = [
    ("", 10, 0, None),
    ("+1 (212) 555", 5, 10, None),
    ("customer", 5, 0, SortKey(str(ObjectId()), datetime(2025, 5, 15, tzinfo=UTC))),
]


def assert_index_prefix(query: dict[str, Any], org_id: ObjectId) -> None:
    assert next(iter(query)) == "orgId"
    assert query["orgId"] == org_id  # equality, not an operator: one index range
    assert set(query) <= {"orgId", "expiresAt", "$or", "$and"}
    assert query["expiresAt"] == unexpired(NOW)["expiresAt"]  # residual: never the prefix


@pytest.mark.parametrize("query", QUERIES)
def test_queries_follow_the_index(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory, query: Query
) -> None:
    search, limit, skip, after = query
    org = new_org(entries=3)
    recorder = Recorder()

    async def run() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, event_listeners=[recorder])
        try:
            await EntriesStore(client[mongo_db.name].dnc_entries, clock).list_page(
                str(org.org_id), search, limit, skip=skip, after=after, max_time_ms=5000
            )
        finally:
            await client.close()

    asyncio.run(run())
    [find] = [c for c in recorder.commands if "find" in c]
    [count] = [c for c in recorder.commands if "aggregate" in c]
    assert_index_prefix(find["filter"], org.org_id)
    assert list(find["sort"].items()) == [(key, direction) for key, direction in LISTING_INDEX[1:]]
    match = count["pipeline"][0]["$match"]
    assert_index_prefix(match, org.org_id)
    # The count ignores the position.
    assert match == listing_filter(str(org.org_id), search, NOW)


def test_real_mongodb_plans_use_the_index_without_a_blocking_sort(
    mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    cursor = mongo_db.dnc_entries.find(listing_filter(str(org.org_id), "555", NOW)).sort(SORT)
    plan = cursor.limit(10).explain()
    if "ferretdbVersion" in plan.get("serverInfo", {}):
        pytest.skip(
            "FerretDB, not MongoDB: it filters and sorts in memory, so it has no index plan to "
            "check; test_queries_follow_the_index is the proof here"
        )
    winning = str(plan["queryPlanner"]["winningPlan"])
    assert LISTING_INDEX_NAME in winning
    assert "'SORT'" not in winning


def test_management_queries_are_org_first_and_index_backed(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    """Check and batch add heal along {orgId, phoneE164, phoneE164Conflict} (the heal index),
    then look numbers up along {orgId, phoneE164} (the unique index); the export sorts along
    the listing index; remove finds its entry by id and organization."""
    org = new_org(entries=3)
    recorder = Recorder()
    numbers = ["+12125550800", "+12125550801"]

    async def run() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, event_listeners=[recorder])
        collection = client[mongo_db.name].dnc_entries
        writes = EntryWrites(collection, AuditLog(client[mongo_db.name].dnc_audit), clock)
        author = Author(str(org.user_id), None)
        try:
            await EntriesStore(collection, clock).check(str(org.org_id), numbers, 5000)
            await writes.add_many(str(org.org_id), [NewEntry(number) for number in numbers], author)
            store = EntriesStore(collection, clock)
            _ = [e async for e in store.export(str(org.org_id), "555", 5000)]
            await writes.remove(str(org.org_id), str(org.entries[0]["_id"]), author)
        finally:
            await client.close()

    asyncio.run(run())
    # The org's seeded rows lack phoneE164: the check's first query meets them, heals them and
    # looks the numbers up again; the batch's first query then finds nothing to heal.
    first, heal, lookup, batch_first, export, remove = [c for c in recorder.commands if "find" in c]
    for query in (first, batch_first):
        # One query in steady state: an $or of the two index-backed shapes below.
        assert query["filter"] == first_filter(str(org.org_id), numbers, NOW)
        branches = query["filter"]["$or"]
        assert branches == [
            listed_filter(str(org.org_id), numbers, NOW), heal_filter(str(org.org_id), numbers)
        ]  # fmt: skip
        assert all(next(iter(branch)) == "orgId" for branch in branches)
        assert query["limit"] == len(numbers) + 1
    # Equality on each field of the heal index (null: the rows lacking phoneE164).
    assert heal["filter"] == heal_filter(str(org.org_id), numbers)
    assert heal["filter"]["phoneE164Conflict"] == {"$in": [None, *numbers]}
    assert list(heal["filter"]) == [key for key, _ in HEAL_INDEX]
    # After the heal: the numbers' rows, or the rows conflicted over them.
    assert lookup["filter"] == settled_filter(str(org.org_id), numbers, NOW)
    listing, conflicted = lookup["filter"]["$or"]
    # Equality on orgId, then $in on phoneE164: point lookups in the unique index.
    assert listing == listed_filter(str(org.org_id), numbers, NOW)
    assert listing == {"orgId": org.org_id, "phoneE164": {"$in": numbers}, **unexpired(NOW)}
    assert list(listing)[:2] == [key for key, _ in NUMBER_INDEX]
    # Equality on each field of the heal index, expiry residual.
    assert list(conflicted)[:3] == [key for key, _ in HEAL_INDEX]
    assert conflicted == {
        "orgId": org.org_id, "phoneE164": None, "phoneE164Conflict": {"$in": numbers},
        **unexpired(NOW),
    }  # fmt: skip
    assert_index_prefix(export["filter"], org.org_id)
    assert export["filter"] == listing_filter(str(org.org_id), "555", NOW)
    assert list(export["sort"].items()) == [
        (key, direction) for key, direction in LISTING_INDEX[1:]
    ]
    assert remove["filter"] == {"_id": org.entries[0]["_id"], "orgId": org.org_id}


def test_real_mongodb_checks_numbers_in_the_partial_unique_index(
    mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    numbers = ["+12125550800", "+12125550801"]
    where = {"orgId": org.org_id, "phoneE164": {"$in": numbers}, **unexpired(NOW)}
    plan = mongo_db.dnc_entries.find(where).explain()
    if "ferretdbVersion" in plan.get("serverInfo", {}):
        pytest.skip("FerretDB, not MongoDB: no index plan (and no partial index) to check")
    # The partial index serves the lookup only because $in implies its $exists filter.
    assert NUMBER_INDEX_NAME in str(plan["queryPlanner"]["winningPlan"])
    heal = mongo_db.dnc_entries.find(heal_filter(str(org.org_id), numbers)).explain()
    assert HEAL_INDEX_NAME in str(heal["queryPlanner"]["winningPlan"])
    # The steady-state query: each $or branch on its index, no collection scan.
    first = mongo_db.dnc_entries.find(first_filter(str(org.org_id), numbers, NOW)).explain()
    winning = str(first["queryPlanner"]["winningPlan"])
    assert NUMBER_INDEX_NAME in winning
    assert HEAL_INDEX_NAME in winning
    assert "COLLSCAN" not in winning
    settled = mongo_db.dnc_entries.find(settled_filter(str(org.org_id), numbers, NOW)).explain()
    winning = str(settled["queryPlanner"]["winningPlan"])
    assert NUMBER_INDEX_NAME in winning
    assert HEAL_INDEX_NAME in winning
    assert "COLLSCAN" not in winning


HISTORY_NUMBER = "+12125550950"
LATER_PAGE = SortKey(str(ObjectId()), datetime(2025, 5, 15, tzinfo=UTC))


def test_history_queries_follow_the_history_index(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    """Equality on orgId, then on the number, then the sort exactly along
    {orgId: 1, phoneE164: 1, at: -1, _id: -1}; a later page only adds the keyset clause."""
    org = new_org()
    recorder = Recorder()

    async def run() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, event_listeners=[recorder])
        reader = HistoryReader(client[mongo_db.name].dnc_audit)
        try:
            await reader.page(str(org.org_id), HISTORY_NUMBER, 5, max_time_ms=5000)
            await reader.page(
                str(org.org_id), HISTORY_NUMBER, 5, after=LATER_PAGE, max_time_ms=5000
            )
        finally:
            await client.close()

    asyncio.run(run())
    first, later = [c for c in recorder.commands if "find" in c]
    for find in (first, later):
        query = find["filter"]
        assert list(query)[:2] == [key for key, _ in HISTORY_INDEX[:2]]
        assert (query["orgId"], query["phoneE164"]) == (org.org_id, HISTORY_NUMBER)
        assert set(query) <= {"orgId", "phoneE164", "$or"}
        assert list(find["sort"].items()) == HISTORY_INDEX[2:]
        assert find["limit"] == 6  # one more than the page: whether another follows
        assert "pending" not in find["projection"]
    assert first["filter"] == history_filter(str(org.org_id), HISTORY_NUMBER)
    assert later["filter"] == history_filter(str(org.org_id), HISTORY_NUMBER, LATER_PAGE)


@pytest.mark.parametrize("after", [None, LATER_PAGE])
def test_real_mongodb_plans_history_along_its_index_without_a_blocking_sort(
    mongo_db: Database[Document], new_org: OrgFactory, after: SortKey | None
) -> None:
    org = new_org()
    mongo_db.dnc_audit.create_index(HISTORY_INDEX, name=HISTORY_INDEX_NAME)
    where = history_filter(str(org.org_id), HISTORY_NUMBER, after)
    plan = mongo_db.dnc_audit.find(where).sort(list(HISTORY_ORDER)).limit(6).explain()
    if "ferretdbVersion" in plan.get("serverInfo", {}):
        pytest.skip(
            "FerretDB, not MongoDB: no index plan to check; "
            "test_history_queries_follow_the_history_index is the proof here"
        )
    winning = str(plan["queryPlanner"]["winningPlan"])
    assert HISTORY_INDEX_NAME in winning
    assert "'SORT'" not in winning
