"""What the write and check RPCs accept: each refusal names its field, batches are bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.phones import Phone
from dnc_service.slicing import SLICE_ITEMS
from dnc_service.store import NewEntry
from dnc_service.validation.requests import (
    parse_add,
    parse_batch,
    parse_check,
    parse_remove,
)
from dnc_service.writes import first_occurrences

MAX_BATCH_ITEMS = 1000  # the proto's rule on BatchAddDncRequest.entries and CheckDnc's numbers

UUID = "550e8400-e29b-41d4-a716-446655440000"
NOW = datetime(2026, 5, 15, 10, 30, tzinfo=UTC)


def test_a_full_request_becomes_the_stored_forms() -> None:
    request = dnc_pb2.AddDncRequest(
        phone_number="+1 (212) 555-1234", batch_id="64E5F12345ABCDEF87650001",
        request_uuid=UUID.upper(), type="  customer_request ",
    )  # fmt: skip
    assert parse_add(request, NOW) == NewEntry(
        "+12125551234", "64e5f12345abcdef87650001", UUID, "customer_request"
    )


def test_absent_and_blank_optional_fields_are_none() -> None:
    assert parse_add(dnc_pb2.AddDncRequest(phone_number="12125551234", type=" "), NOW) == NewEntry(
        "+12125551234"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone_number": "911"}, "phone_number"),
        ({"phone_number": "12125551234", "batch_id": "64e5f12345abcdef8765000"}, "batch_id"),
        ({"phone_number": "12125551234", "batch_id": "64e5f12345abcdef8765000g"}, "batch_id"),
        ({"phone_number": "12125551234", "request_uuid": ""}, "request_uuid"),
        ({"phone_number": "12125551234", "request_uuid": f"{UUID}-{UUID}"}, "request_uuid"),
        # "A UUID" (the contract) is its 8-4-4-4-12 form, as the OpenAPI format says.
        ({"phone_number": "12125551234", "request_uuid": f"urn:uuid:{UUID}"}, "request_uuid"),
        ({"phone_number": "12125551234", "request_uuid": f"{{{UUID}}}"}, "request_uuid"),
        ({"phone_number": ""}, "phone_number"),
        ({"phone_number": "1" * 33}, "phone_number"),
        ({"phone_number": "12125551234", "type": "t" * 65}, "type"),
        ({"phone_number": "12125551234", "type": "a\nb"}, "type"),
    ],
)
def test_each_refusal_names_its_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_add(dnc_pb2.AddDncRequest(**fields), NOW)
    assert raised.value.field == field
    with pytest.raises(InvalidArgument) as in_batch:
        parse_add(dnc_pb2.AddDncRequest(**fields), NOW, prefix="entries[3].")
    assert in_batch.value.field == f"entries[3].{field}"


def test_a_batch_answers_each_item() -> None:
    request = dnc_pb2.BatchAddDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number=p) for p in ("12125551234", "911")]
    )
    items = asyncio.run(parse_batch(request, NOW))
    assert items.valid == {0: NewEntry("+12125551234")}
    assert list(items.invalid) == [1]
    assert items.invalid[1].field == "entries[1].phone_number"


@pytest.mark.parametrize("count", [0, MAX_BATCH_ITEMS + 1])
def test_batch_and_check_sizes_are_bounded(count: int) -> None:
    batch = dnc_pb2.BatchAddDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number="12125551234")] * count
    )
    with pytest.raises(InvalidArgument) as raised:
        asyncio.run(parse_batch(batch, NOW))
    assert raised.value.field == "entries"
    with pytest.raises(InvalidArgument) as raised:
        asyncio.run(parse_check(dnc_pb2.CheckDncRequest(phone_numbers=["12125551234"] * count)))
    assert raised.value.field == "phone_numbers"


def test_check_items_fail_alone() -> None:
    parsed = asyncio.run(
        parse_check(dnc_pb2.CheckDncRequest(phone_numbers=["x", "+1 212 555 1234"]))
    )
    assert parsed.invalid[0].field == "phone_numbers[0]"
    assert parsed.valid == {1: Phone("+12125551234")}


@pytest.mark.parametrize(
    "raw", ["", "64e5f12345abcdef1234567", "64e5f12345abcdef123456789", "x" * 24]
)
def test_ids_are_24_hex(raw: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_remove(dnc_pb2.RemoveDncRequest(id=raw))
    assert raised.value.field == "id"


def test_ids_come_back_lowercase() -> None:
    request = dnc_pb2.RemoveDncRequest(id="64E5F12345ABCDEF12345678")
    assert parse_remove(request) == "64e5f12345abcdef12345678"


def test_the_first_occurrence_of_each_number_wins() -> None:
    a, b = NewEntry("+12125551234"), NewEntry("+442079460000")
    assert first_occurrences({1: a, 2: b, 3: a, 5: b}) == {a.phone_e164: 1, b.phone_e164: 2}


def test_a_long_check_lets_the_event_loop_run_between_slices() -> None:
    """Another task (a health check, another tenant's call) runs while 1,000 numbers parse."""
    ticks: list[int] = []

    async def other_task() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0)

    async def parse_while_another_task_runs() -> int:
        other = asyncio.create_task(other_task())
        await asyncio.sleep(0)  # let it start
        ticks.clear()
        parsed = await parse_check(dnc_pb2.CheckDncRequest(phone_numbers=["+" + "1" * 31] * 1000))
        other.cancel()
        assert len(parsed.invalid) + len(parsed.valid) == 1000
        return len(ticks)

    assert asyncio.run(parse_while_another_task_runs()) >= 1000 // SLICE_ITEMS - 1
