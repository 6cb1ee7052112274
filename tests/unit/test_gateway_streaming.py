"""Streams as NDJSON or CSV: negotiation, spreadsheet-safe cells, chunked writes."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from google.protobuf.message import Message

from dnc.v1 import dnc_pb2
from gateway.streaming import (
    CHUNK_BYTES,
    Format,
    StreamWriter,
    csv_cell,
    ndjson_line,
    negotiate,
    response_headers,
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, Format.NDJSON),
        ("", Format.NDJSON),
        ("application/json", Format.NDJSON),
        ("application/x-ndjson", Format.NDJSON),
        ("text/csv", Format.CSV),
        ("TEXT/CSV; charset=utf-8", Format.CSV),
        ("application/json, text/csv;q=0.5", Format.CSV),
        ("text/csvx", Format.NDJSON),
    ],
)
def test_negotiation(accept: str | None, expected: Format) -> None:
    assert negotiate(accept) is expected


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        ("plain", "plain"),
        ("12125551234", "12125551234"),
        ("+12125551234", "+12125551234"),
        ("+1 (212) 555-1234", "'+1 (212) 555-1234"),
        ("+1-1", "'+1-1"),
        ("+(1)-(2)", "'+(1)-(2)"),
        ("-1", "'-1"),
        ("\rx", "'\rx"),
        ("a\x00b", "ab"),
        ("\x00@x", "'@x"),
        (-5, "-5"),
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        (7, "7"),
        (True, "true"),
    ],
)
def test_csv_cells_are_spreadsheet_safe(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


class _Sink:
    """Collects what a StreamWriter writes, as aiohttp's StreamResponse would send it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.writes.append(data)


def _dict(message: Message) -> dict[str, Any]:
    assert isinstance(message, dnc_pb2.DncEntry)
    out: dict[str, Any] = {"_id": message.id}
    if message.HasField("phone_number"):
        out["phoneNumber"] = message.phone_number
    return out


async def _written(output: Format, count: int) -> bytes:
    sink = _Sink()
    writer = StreamWriter(sink, output, _dict, ["_id", "phoneNumber"])  # type: ignore[arg-type]
    for n in range(count):
        entry = dnc_pb2.DncEntry(id=f"{n:024x}")
        if n % 2 == 0:
            entry.phone_number = f"1212555{n:04d}"
        await writer.write(entry)
    await writer.flush()
    return b"".join(sink.writes)


@pytest.mark.asyncio
async def test_ndjson_is_one_object_per_line() -> None:
    lines = (await _written(Format.NDJSON, 3)).splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"_id": f"{0:024x}", "phoneNumber": "12125550000"},
        {"_id": f"{1:024x}"},
        {"_id": f"{2:024x}", "phoneNumber": "12125550002"},
    ]


@pytest.mark.asyncio
async def test_csv_has_a_header_and_empty_cells_for_absent_fields() -> None:
    rows = list(csv.reader(io.StringIO((await _written(Format.CSV, 2)).decode())))
    assert rows == [["_id", "phoneNumber"], [f"{0:024x}", "12125550000"], [f"{1:024x}", ""]]


@pytest.mark.asyncio
async def test_writes_are_chunked_not_per_line() -> None:
    sink = _Sink()
    writer = StreamWriter(sink, Format.NDJSON, _dict, ["_id"])  # type: ignore[arg-type]
    for n in range(5000):
        await writer.write(dnc_pb2.DncEntry(id=f"{n:024x}"))
    await writer.flush()
    assert 1 < len(sink.writes) < 20
    assert all(len(chunk) < CHUNK_BYTES + 200 for chunk in sink.writes)
    assert b"".join(sink.writes).count(b"\n") == 5000


@pytest.mark.parametrize(
    ("document", "line"),
    [
        (b'{"a":"x"}', b'{"a":"x"}\n'),
        ('{"a":"1\u20282\u2029"}'.encode(), b'{"a":"1\\u20282\\u2029"}\n'),
        ('{"a":"\u20ac\u2027"}'.encode(), '{"a":"\u20ac\u2027"}\n'.encode()),  # neighbours kept
    ],
)
def test_ndjson_lines_escape_the_unicode_line_separators(document: bytes, line: bytes) -> None:
    assert ndjson_line(document) == line


def test_streams_are_not_sniffed_and_csv_is_an_attachment() -> None:
    ndjson = response_headers(Format.NDJSON, "things")
    assert ndjson["X-Content-Type-Options"] == "nosniff"
    assert "Content-Disposition" not in ndjson
    csv_headers = response_headers(Format.CSV, "things")
    assert csv_headers["X-Content-Type-Options"] == "nosniff"
    assert csv_headers["Content-Disposition"] == 'attachment; filename="things.csv"'
