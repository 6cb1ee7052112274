"""The listing order is defined once; the sort, the index and the keyset filter follow it."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from dnc_service.store import order
from dnc_service.store.order import SortKey

ID = "64e5f12345abcdef98765432"


def test_newest_first_then_id_and_the_index_behind_it() -> None:
    assert order.SORT == [("createdAt", -1), ("_id", -1)]
    assert order.LISTING_INDEX == [("orgId", 1), ("createdAt", -1), ("_id", -1)]
    # MongoDB's own name for that key pattern: an existing index is recognised, not duplicated.
    assert order.LISTING_INDEX_NAME == "orgId_1_createdAt_-1__id_-1"


def test_the_keyset_filter_continues_after_the_last_entry() -> None:
    moment = datetime(2025, 5, 15, tzinfo=UTC)
    assert order.after(SortKey(ID, moment)) == {
        "$or": [
            {"createdAt": {"$lt": moment}},
            {"createdAt": moment, "_id": {"$lt": ObjectId(ID)}},
            {"createdAt": {"$not": {"$type": "date"}}},
        ]
    }
    assert order.after(SortKey(ID, None)) == {"createdAt": None, "_id": {"$lt": ObjectId(ID)}}
    assert order.after(None) is None


def test_the_position_of_a_row_inside_the_contract() -> None:
    moment = datetime(2025, 5, 15, tzinfo=UTC)
    assert order.key_of({"_id": ObjectId(ID), "createdAt": moment}) == SortKey(ID, moment)
    assert order.key_of({"_id": ObjectId(ID)}) == SortKey(ID, None)


def test_a_row_outside_the_contract_has_no_keyset_position() -> None:
    # Keyset order is not defined across BSON types: such a page continues by offset.
    assert order.key_of({"_id": ObjectId(ID), "createdAt": "2020-01-01"}) is None
    assert order.key_of({"_id": "not-an-object-id", "createdAt": None}) is None
