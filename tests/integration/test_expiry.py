"""Expiry on every read, at its boundary: an entry lists its number while now < expiresAt and
not from that instant on (CheckDnc, ListDnc and its total, ExportDnc). The service runs in the
test's process with a clock the test sets (service_support.clocked_service): time moves, nobody
waits. Requests' requested_at and expires_at are judged by that clock too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from service_support import SetClock, clocked_service

# Years from the system time on purpose: a rule judged by the system clock would disagree.
EXPIRY = datetime(2020, 3, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
ADDED = dnc_pb2.BATCH_ADD_STATUS_ADDED
INVALID = dnc_pb2.BATCH_ADD_STATUS_INVALID


@pytest_asyncio.fixture
async def clocked(
    mongo_uri: str, mongo_db: Database[Document]
) -> AsyncIterator[tuple[SetClock, dnc_pb2_grpc.DncServiceAsyncStub]]:
    clock = SetClock(EXPIRY - MS)
    async with clocked_service(mongo_uri, mongo_db.name, clock) as stub:
        yield clock, stub


def stamp(moment: datetime) -> Timestamp:
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def expiring_org(new_org: OrgFactory) -> Org:
    """Three entries: one expiring at EXPIRY, one a second later, one never."""
    return new_org(
        entries=[
            {"phoneNumber": "12125556001", "phoneE164": "+12125556001", "expiresAt": EXPIRY,
             "type": "sms_stop", "createdAt": BASE_TIME},
            {"phoneNumber": "12125556002", "phoneE164": "+12125556002",
             "expiresAt": EXPIRY + timedelta(seconds=1), "createdAt": BASE_TIME},
            {"phoneNumber": "12125556003", "phoneE164": "+12125556003", "createdAt": BASE_TIME},
        ]
    )  # fmt: skip


async def seen(
    stub: dnc_pb2_grpc.DncServiceAsyncStub, org: Org, search: str = ""
) -> dict[str, Any]:
    """What each read answers: the numbers CheckDnc lists, ListDnc's page and total, the export."""
    numbers = ["+12125556001", "+12125556002", "+12125556003"]
    checked = await stub.CheckDnc(
        dnc_pb2.CheckDncRequest(phone_numbers=numbers), metadata=org.metadata
    )
    page = await stub.ListDnc(dnc_pb2.ListDncRequest(search=search), metadata=org.metadata)
    exported = [
        entry.phone_number
        async for entry in stub.ExportDnc(
            dnc_pb2.ExportDncRequest(search=search), metadata=org.metadata
        )
    ]
    return {
        "checked": [r.phone_e164 for r in checked.results if r.listed],
        "listed": sorted(entry.phone_number for entry in page.dnc_list),
        "total": page.pagination.total,
        "exported": sorted(exported),
    }


def everything(*suffixes: str) -> dict[str, Any]:
    return {
        "checked": [f"+1212555600{s}" for s in suffixes],
        "listed": [f"1212555600{s}" for s in suffixes],
        "total": len(suffixes),
        "exported": [f"1212555600{s}" for s in suffixes],
    }


@pytest.mark.asyncio
async def test_an_entry_stops_listing_at_its_expiry_instant(
    clocked: tuple[SetClock, dnc_pb2_grpc.DncServiceAsyncStub], new_org: OrgFactory
) -> None:
    clock, stub = clocked
    org = expiring_org(new_org)
    assert await seen(stub, org) == everything("1", "2", "3")  # 1 ms before
    clock.now = EXPIRY  # at the instant: expired
    assert await seen(stub, org) == everything("2", "3")
    assert await seen(stub, org, "555") == everything("2", "3")  # with a search too
    clock.now = EXPIRY + timedelta(seconds=1)
    assert await seen(stub, org) == everything("3")
    clock.now = EXPIRY - timedelta(days=1)  # the rows themselves are untouched
    assert await seen(stub, org) == everything("1", "2", "3")


@pytest.mark.asyncio
async def test_other_organizations_are_unaffected(
    clocked: tuple[SetClock, dnc_pb2_grpc.DncServiceAsyncStub],
    new_org: OrgFactory,
    mongo_db: Database[Document],
) -> None:
    clock, stub = clocked
    org, other = expiring_org(new_org), expiring_org(new_org)
    clock.now = EXPIRY + timedelta(hours=1)
    assert await seen(stub, org) == everything("3")
    assert mongo_db.dnc_entries.count_documents({"orgId": other.org_id}) == 3
    clock.now = EXPIRY - MS
    assert await seen(stub, other) == everything("1", "2", "3")


def bad_request(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    """The BadRequest field violations in the status details trailer."""
    trailer: dict[str, Any] = dict(error.trailing_metadata() or ())  # type: ignore[arg-type]  # aio Metadata: typed as a tuple
    details = trailer["grpc-status-details-bin"]
    assert isinstance(details, bytes)
    status = status_pb2.Status.FromString(details)
    [packed] = status.details
    violations = error_details_pb2.BadRequest()
    assert packed.Unpack(violations)
    return [(v.field, v.description) for v in violations.field_violations]


@pytest.mark.asyncio
async def test_added_times_are_judged_by_the_service_clock(
    clocked: tuple[SetClock, dnc_pb2_grpc.DncServiceAsyncStub], new_org: OrgFactory
) -> None:
    clock, stub = clocked
    clock.now = now = EXPIRY
    org = new_org()
    request = dnc_pb2.AddDncRequest(
        phone_number="12125556010", source="web_form", reason="asked online",
        requested_at=stamp(now + timedelta(minutes=5)), expires_at=stamp(now + MS),
    )  # fmt: skip
    entry = (await stub.AddDnc(request, metadata=org.metadata)).entry
    assert entry.expires_at == stamp(now + MS)
    assert entry.requested_at == stamp(now + timedelta(minutes=5))
    assert (entry.source, entry.reason, entry.added_by) == (
        "web_form", "asked online", str(org.user_id),
    )  # fmt: skip
    for field, moment in (("expires_at", now), ("requested_at", now + timedelta(minutes=5) + MS)):
        refused = dnc_pb2.AddDncRequest(phone_number="12125556011")
        getattr(refused, field).CopyFrom(stamp(moment))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.AddDnc(refused, metadata=org.metadata)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        [(named, text)] = bad_request(raised.value)
        assert named == field
        assert "2020-03-01T12:00:00.000Z" in text
    clock.now = now + MS  # the entry just added expires: the number is no longer listed
    check = dnc_pb2.CheckDncRequest(phone_numbers=["12125556010"])
    [result] = (await stub.CheckDnc(check, metadata=org.metadata)).results
    assert not result.listed


@pytest.mark.asyncio
async def test_a_batch_item_with_a_past_expiry_is_invalid_alone(
    clocked: tuple[SetClock, dnc_pb2_grpc.DncServiceAsyncStub], new_org: OrgFactory
) -> None:
    clock, stub = clocked
    clock.now = EXPIRY
    org = new_org()
    batch = dnc_pb2.BatchAddDncRequest(
        entries=[
            dnc_pb2.AddDncRequest(phone_number="12125556020", expires_at=stamp(EXPIRY + MS)),
            dnc_pb2.AddDncRequest(phone_number="12125556021", expires_at=stamp(EXPIRY)),
            dnc_pb2.AddDncRequest(
                phone_number="12125556022", requested_at=stamp(EXPIRY + timedelta(hours=1))
            ),
        ]
    )
    results = (await stub.BatchAddDnc(batch, metadata=org.metadata)).results
    assert [r.status for r in results] == [ADDED, INVALID, INVALID]
    assert results[1].error.startswith("entries[1].expires_at must be in the future")
    assert results[2].error.startswith("entries[2].requested_at must not be more than 5 minutes")


@pytest.mark.asyncio
async def test_another_systems_row_answers_once_the_services_entry_expired(
    clocked: tuple[SetClock, dnc_pb2_grpc.DncServiceAsyncStub], new_org: OrgFactory
) -> None:
    """An expired entry keeps its number in the unique index, so another system's row of that
    number cannot take it (it is marked conflicted): it must still list the number."""
    clock, stub = clocked
    org = new_org(
        entries=[
            {"phoneNumber": "12125556030", "phoneE164": "+12125556030", "expiresAt": EXPIRY,
             "createdAt": BASE_TIME},
            {"phoneNumber": "+1 (212) 555-6030", "createdAt": BASE_TIME},
        ]
    )  # fmt: skip
    [mine] = [str(row["_id"]) for row in org.entries if "expiresAt" in row]
    [theirs] = [str(row["_id"]) for row in org.entries if "expiresAt" not in row]
    check = dnc_pb2.CheckDncRequest(phone_numbers=["12125556030"])
    [before] = (await stub.CheckDnc(check, metadata=org.metadata)).results
    assert (before.listed, before.entry_id) == (True, mine)
    clock.now = EXPIRY
    for _ in range(2):  # and again, once the row is marked
        [after] = (await stub.CheckDnc(check, metadata=org.metadata)).results
        assert (after.listed, after.entry_id) == (True, theirs)
    add = dnc_pb2.AddDncRequest(phone_number="12125556030")
    results = (
        await stub.BatchAddDnc(dnc_pb2.BatchAddDncRequest(entries=[add]), metadata=org.metadata)
    ).results
    assert (results[0].status, results[0].entry_id) == (
        dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED, theirs,
    )  # fmt: skip
