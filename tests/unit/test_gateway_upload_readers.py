"""The streamed-body readers: lines (bounded, idle-limited, UTF-8, CRLF, BOM) and CSV rows
(quoting, header, grouping into messages of up to the field's max_items)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnc.v1 import dnc_pb2
from gateway.csv_upload import CsvReader, singular
from gateway.errors import GatewayError
from gateway.upload import LineReader, Progress

SCRUB = dnc_pb2.ScrubDncRequest
IMPORT = dnc_pb2.ImportDncRequest


class Chunks:
    """A body arriving in the given chunks; then it waits forever when `stall`, else ends."""

    def __init__(self, chunks: Iterable[bytes], stall: bool = False) -> None:
        self._chunks = list(chunks)
        self._stall = stall

    async def readany(self) -> bytes:
        if self._chunks:
            return self._chunks.pop(0)
        if self._stall:
            await asyncio.Event().wait()
        return b""


async def read_lines(
    chunks: Iterable[bytes], max_line: int = 100, stall: bool = False
) -> list[str]:
    reader = LineReader(Chunks(chunks, stall), max_line, 0.05, Progress())
    return [line async for batch in reader.batches() for line in batch]


async def refusal(
    chunks: Iterable[bytes], max_line: int = 100, stall: bool = False
) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await read_lines(chunks, max_line, stall)
    return caught.value


@pytest.mark.asyncio
async def test_lines_split_across_chunks_with_crlf_and_a_bom() -> None:
    body = "\ufeffa,b\r\n1,2\r\n\r\n3,4".encode()
    pieces = [body[i : i + 3] for i in range(0, len(body), 3)]  # the BOM itself is cut in two
    assert await read_lines(pieces) == ["a,b", "1,2", "", "3,4"]


@pytest.mark.asyncio
async def test_a_bom_before_a_single_line_without_newline_is_dropped() -> None:
    assert await read_lines(["\ufeffphoneNumber".encode()]) == ["phoneNumber"]


@pytest.mark.asyncio
async def test_a_multibyte_character_cut_by_a_chunk_is_whole() -> None:
    assert await read_lines([b"caf\xc3", b"\xa9\n"]) == ["café"]


@pytest.mark.asyncio
async def test_a_line_longer_than_the_limit_is_413_even_before_it_ends() -> None:
    error = await refusal([b"ok\n", b"x" * 60, b"x" * 60])  # never a newline
    assert (error.status, error.details) == (
        413,
        "line 2 is longer than 100 bytes (each line is one message).",
    )
    error = await refusal([b"ok\n" + b"y" * 101 + b"\nok\n"])
    assert (error.status, error.details.split(" is")[0]) == (413, "line 2")


@pytest.mark.asyncio
async def test_a_body_that_is_not_utf8_names_its_line() -> None:
    error = await refusal([b"one\ntwo\nth\xffree\n"])
    assert (error.code, error.details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "line 3: the body is not UTF-8 text",
    )


@pytest.mark.asyncio
async def test_a_body_that_stops_sending_is_408() -> None:
    error = await refusal([b"one\n", b"tw"], stall=True)
    assert error.status == 408
    assert "sent nothing for 0.05 s after line 1" in error.details


def csv_messages(
    request_class: type[Message], lines: list[str], max_record: int = 10_000
) -> list[Any]:
    descriptor: Any = request_class.DESCRIPTOR
    field = descriptor.fields_by_name["phone_numbers" if request_class is SCRUB else "entries"]
    reader = CsvReader(request_class, descriptor, field, max_record)
    half = len(lines) // 2  # fed in two batches, as chunks would arrive
    out = reader.feed(lines[:half], 1) + reader.feed(lines[half:], half + 1)
    return [*out, *reader.close()]


def test_scrub_rows_are_grouped_into_messages_of_1000() -> None:
    rows = [f"+1212555{index:04d}" for index in range(2500)]
    messages = csv_messages(SCRUB, ["phoneNumber", *rows])
    assert [len(m.phone_numbers) for m in messages] == [1000, 1000, 500]
    assert [n for m in messages for n in m.phone_numbers] == rows


def test_the_scalar_column_is_the_singular_json_name_and_others_are_ignored() -> None:
    assert singular("phoneNumbers") == "phoneNumber"
    (message,) = csv_messages(SCRUB, ["id,phoneNumbers", "1,+12125550001"])
    assert list(message.phone_numbers) == ["+12125550001"]


def test_quoted_cells_with_commas_quotes_and_newlines() -> None:
    lines = [
        "phoneNumber,reason,type",
        '+12125550001,"said ""stop"", twice",customer_request',
        '+12125550002,"line one',
        'line two",',
        "",
        "+12125550003,,",
    ]
    (message,) = csv_messages(IMPORT, lines)
    entries = message.entries
    assert [entry.reason for entry in entries] == ['said "stop", twice', "line one\nline two", ""]
    assert [entry.HasField("type") for entry in entries] == [True, False, False]


def test_import_columns_by_json_or_proto_name_and_typed_cells() -> None:
    lines = ["phone_number,requestedAt", "+12125550001,2025-05-15T10:30:00Z"]
    (message,) = csv_messages(IMPORT, lines)
    entry = message.entries[0]
    assert (entry.phone_number, entry.requested_at.seconds) == ("+12125550001", 1747305000)


def test_a_bad_typed_cell_names_its_line() -> None:
    lines = ["phoneNumber,expiresAt", "+12125550001,", "+12125550002,tomorrow"]
    with pytest.raises(GatewayError) as caught:
        csv_messages(IMPORT, lines)
    assert caught.value.details.startswith("line 3: invalid request body")


@pytest.mark.parametrize(
    ("request_class", "header", "text"),
    [
        (SCRUB, "number", "the CSV header has no 'phoneNumber' column"),
        (IMPORT, "type,reason", "the CSV header has no 'phoneNumber' column"),
        (IMPORT, "phoneNumber,phone_number", "the CSV header names 'phoneNumber' twice"),
    ],
)
def test_a_header_without_the_needed_column_is_400_naming_it(
    request_class: type[Message], header: str, text: str
) -> None:
    with pytest.raises(GatewayError) as caught:
        csv_messages(request_class, [header, "1"])
    assert (caught.value.status, caught.value.details) == (400, text)


def test_a_quoted_cell_never_closed_is_an_error_and_bounded() -> None:
    with pytest.raises(GatewayError) as caught:
        csv_messages(SCRUB, ["phoneNumber", '"+1212', "555"])
    assert caught.value.details == "line 2: a quoted CSV cell is never closed"
    with pytest.raises(GatewayError) as caught:
        csv_messages(SCRUB, ["phoneNumber", '"+1212', *["5" * 50] * 10], max_record=200)
    assert caught.value.status == 413


def test_a_quote_inside_a_bare_cell_is_a_character_not_a_quoted_cell() -> None:
    lines = ["phoneNumber,reason", '+12125550001,O"Brien asked', '+12125550002,D"Arcy too']
    (message,) = csv_messages(IMPORT, lines)
    assert [entry.reason for entry in message.entries] == ['O"Brien asked', 'D"Arcy too']


def test_a_cell_past_the_csv_field_limit_is_400_naming_its_line() -> None:
    lines = ["phoneNumber,reason", "+12125550001,ok", "+12125550002," + "r" * 200_000]
    with pytest.raises(GatewayError) as caught:
        csv_messages(IMPORT, lines, max_record=1_000_000)
    assert caught.value.status == 400
    assert caught.value.details == (
        "line 3: not CSV the gateway reads (a cell longer than 131,072 characters)"
    )


def test_a_bare_carriage_return_inside_a_row_is_400_naming_its_line() -> None:
    with pytest.raises(GatewayError) as caught:
        csv_messages(SCRUB, ["phoneNumber", "+12125550001", "+1212\r5550002"])
    assert (
        caught.value.details
        == "line 3: not CSV the gateway reads (a carriage return inside the row)"
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=4))
def test_any_bytes_in_any_chunks_are_messages_or_a_clear_refusal(
    body: bytes, cuts: list[int]
) -> None:
    """Hostile bodies: whatever arrives, the readers answer messages or a GatewayError (a 4xx),
    never another exception (a 500)."""
    edges = sorted({min(cut, len(body)) for cut in cuts})
    pieces = [body[a:b] for a, b in zip([0, *edges], [*edges, len(body)], strict=True)]
    descriptor: Any = IMPORT.DESCRIPTOR

    async def run() -> None:
        progress = Progress()
        lines = LineReader(Chunks([b"phoneNumber,type,requestedAt\n", *pieces]), 200, 1.0, progress)
        reader = CsvReader(IMPORT, descriptor, descriptor.fields_by_name["entries"], 200)
        async for batch in lines.batches():
            reader.feed(batch, progress.lines - len(batch) + 1)
        reader.close()

    refused: GatewayError | None = None
    try:
        asyncio.run(run())
    except GatewayError as error:
        refused = error
    assert refused is None or 400 <= refused.status < 500
