"""What ScrubDnc and ImportDnc messages accept: rows numbered over the stream, regions checked once
per message, and the import's tally bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.imports import MAX_ERRORS, Tally
from dnc_service.validation.requests import parse_add, parse_check, parse_import
from dnc_service.writes import ADDED, ALREADY_LISTED

NOW = datetime(2026, 5, 15, 10, 30, tzinfo=UTC)


def rows(*numbers: str, region: str | None = None) -> dnc_pb2.ImportDncRequest:
    return dnc_pb2.ImportDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number=number) for number in numbers], region=region
    )


def test_import_rows_are_numbered_from_the_chunks_first_row() -> None:
    items = asyncio.run(
        parse_import(rows("12125551234", "911", "(212) 555-1235", region="US"), 2000, NOW)
    )
    assert {row: entry.phone_e164 for row, entry in items.valid.items()} == {
        2000: "+12125551234",
        2002: "+12125551235",
    }
    assert list(items.invalid) == [2001]


def test_a_rows_own_region_wins_and_an_unknown_one_refuses_only_that_row() -> None:
    request = rows("020 7946 0000", "020 7946 0001", region="US")
    request.entries[0].region = "gb"
    request.entries[1].region = "ZZ"
    items = asyncio.run(parse_import(request, 0, NOW))
    assert items.valid[0].phone_e164 == "+442079460000"
    assert items.invalid[1].field == "region"
    assert "unknown region" in items.invalid[1].message


@pytest.mark.parametrize(
    "request_",
    [
        rows(region="US"),
        rows("12125551234", region="ZZ"),
        rows("12125551234", region="U"),
        dnc_pb2.ImportDncRequest(entries=[dnc_pb2.AddDncRequest(phone_number="1")] * 1001),
    ],
)
def test_a_bad_import_message_is_refused_whole(request_: dnc_pb2.ImportDncRequest) -> None:
    with pytest.raises(InvalidArgument) as raised:
        asyncio.run(parse_import(request_, 0, NOW))
    assert raised.value.field in ("entries", "region")


def test_a_scrub_message_reads_as_a_check_with_its_region() -> None:
    request = dnc_pb2.ScrubDncRequest(phone_numbers=["(212) 555-1234", "911"], region="us")
    items = asyncio.run(parse_check(request))
    assert items.valid[0].e164 == "+12125551234"
    assert items.invalid[1].field == "phone_numbers[1]"
    assert items.invalid[1].__traceback__ is None  # held by the thousand: no frames kept
    with pytest.raises(InvalidArgument, match="region"):
        asyncio.run(parse_check(dnc_pb2.ScrubDncRequest(phone_numbers=["1"], region="ZZ")))


def test_add_takes_a_region() -> None:
    request = dnc_pb2.AddDncRequest(phone_number="(212) 555-1234", region="US")
    assert parse_add(request, NOW).phone_e164 == "+12125551234"
    with pytest.raises(InvalidArgument) as raised:
        parse_add(dnc_pb2.AddDncRequest(phone_number="(212) 555-1234", region="ZZ"), NOW)
    assert raised.value.field == "region"


def test_the_tally_keeps_the_first_errors_only() -> None:
    tally = Tally()
    for first_row in (0, 1000):
        tally.refused(asyncio.run(parse_import(rows(*["911"] * 1000), first_row, NOW)))
    tally.count([
        dnc_pb2.BatchAddResult(index=1500, status=ADDED),
        dnc_pb2.BatchAddResult(index=1501, status=ALREADY_LISTED),
    ])  # fmt: skip
    response = tally.response()
    assert (response.added, response.already_listed, response.invalid) == (1, 1, 2000)
    assert [error.row for error in response.errors] == list(range(MAX_ERRORS))
    assert "not a possible" in response.errors[0].error


def test_an_import_row_is_judged_by_the_given_clock() -> None:
    request = rows("12125551234", "12125551235")
    request.entries[0].expires_at.FromDatetime(NOW)  # expired at the import's now
    request.entries[1].expires_at.FromDatetime(datetime(2026, 5, 15, 10, 31, tzinfo=UTC))
    items = asyncio.run(parse_import(request, 0, NOW))
    assert list(items.valid) == [1]
    assert items.invalid[0].field == "expires_at"


@pytest.mark.parametrize(
    "parsing",
    [
        lambda: parse_check(dnc_pb2.ScrubDncRequest(phone_numbers=["1"], region="ZZ")),
        lambda: parse_import(rows("12125551234", region="ZZ"), 0, NOW),
    ],
    ids=["scrub", "import"],
)
def test_a_messages_unknown_region_is_refused_naming_the_region_field(parsing: Any) -> None:
    with pytest.raises(InvalidArgument) as raised:
        asyncio.run(parsing())
    assert raised.value.field == "region"
    assert raised.value.message.startswith("region: unknown region 'ZZ'")
