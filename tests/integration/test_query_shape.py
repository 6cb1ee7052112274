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
from dnc_service.page_tokens import Cursor
from dnc_service.store.entries import EntriesStore
from dnc_service.store.filters import listing_filter
from dnc_service.store.order import LISTING_INDEX, LISTING_INDEX_NAME, SORT
from dnc_service.validation import ListQuery


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "aggregate"):
            self.commands.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


QUERIES = [
    ListQuery(),
    ListQuery.at_page(3, 5, "+1 (212) 555"),
    ListQuery(
        limit=5,
        search="customer",
        cursor=Cursor(2, 5, str(ObjectId()), datetime(2025, 5, 15, tzinfo=UTC)),
    ),
]


def assert_index_prefix(query: dict[str, Any], org_id: ObjectId) -> None:
    assert next(iter(query)) == "orgId"
    assert query["orgId"] == org_id  # equality, not an operator: one index range
    assert set(query) <= {"orgId", "$or", "$and"}


@pytest.mark.parametrize("query", QUERIES)
def test_queries_follow_the_index(
    mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory, query: ListQuery
) -> None:
    org = new_org(entries=3)
    recorder = Recorder()

    async def run() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, event_listeners=[recorder])
        try:
            await EntriesStore(client[mongo_db.name].dnc_entries).list_page(
                str(org.org_id), query, 5000
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
    assert match == listing_filter(str(org.org_id), query.search)  # the count ignores the cursor


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
