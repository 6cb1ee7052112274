"""Every query the repository sends is one MongoDB answers from the listing index.

FerretDB sorts in memory, so its timings prove nothing; the shape is what makes MongoDB fast:
equality on orgId, then a sort exactly along {orgId: 1, createdAt: -1, _id: -1}. Against a real
MongoDB (MONGODB_URI), the plan itself is checked too: an index scan and no blocking SORT stage.
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
from dnc_service.store import NewEntry, SortKey
from dnc_service.store.entries import EntriesStore
from dnc_service.store.filters import listing_filter
from dnc_service.store.indexes import NUMBER_INDEX, NUMBER_INDEX_NAME
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
    assert set(query) <= {"orgId", "$or", "$and"}


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
            await EntriesStore(client[mongo_db.name].dnc_entries).list_page(
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
    assert match == listing_filter(str(org.org_id), search)  # the count ignores the position


def test_real_mongodb_plans_use_the_index_without_a_blocking_sort(
    mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    cursor = mongo_db.dnc_entries.find(listing_filter(str(org.org_id), "555")).sort(SORT)
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
    """Check and batch add look numbers up along {orgId, phoneE164} (the unique index); the
    export sorts along the listing index; remove names the organization with the id."""
    org = new_org(entries=3)
    recorder = Recorder()
    numbers = ["+12125550800", "+12125550801"]

    async def run() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, event_listeners=[recorder])
        collection = client[mongo_db.name].dnc_entries
        try:
            await EntriesStore(collection).check(str(org.org_id), numbers, 5000)
            await EntryWrites(collection).add_many(
                str(org.org_id), [NewEntry(number) for number in numbers]
            )
            _ = [e async for e in EntriesStore(collection).export(str(org.org_id), "555", 5000)]
            await EntryWrites(collection).remove(str(org.org_id), str(org.entries[0]["_id"]))
        finally:
            await client.close()

    asyncio.run(run())
    check, batch_lookup, export = [c for c in recorder.commands if "find" in c]
    for lookup in (check, batch_lookup):
        # Equality on orgId, then $in on phoneE164: point lookups in the unique index.
        assert lookup["filter"] == {"orgId": org.org_id, "phoneE164": {"$in": numbers}}
        assert list(lookup["filter"]) == [key for key, _ in NUMBER_INDEX]
    assert_index_prefix(export["filter"], org.org_id)
    assert export["filter"] == listing_filter(str(org.org_id), "555")
    assert list(export["sort"].items()) == [
        (key, direction) for key, direction in LISTING_INDEX[1:]
    ]
    [remove] = [c for c in recorder.commands if "findAndModify" in c]
    assert remove["query"] == {"_id": org.entries[0]["_id"], "orgId": org.org_id}
    assert remove["remove"] is True


def test_real_mongodb_checks_numbers_in_the_partial_unique_index(
    mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    where = {"orgId": org.org_id, "phoneE164": {"$in": ["+12125550800", "+12125550801"]}}
    plan = mongo_db.dnc_entries.find(where).explain()
    if "ferretdbVersion" in plan.get("serverInfo", {}):
        pytest.skip("FerretDB, not MongoDB: no index plan (and no partial index) to check")
    # The partial index serves the lookup only because $in implies its $exists filter.
    assert NUMBER_INDEX_NAME in str(plan["queryPlanner"]["winningPlan"])
