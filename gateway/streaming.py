"""Server-streaming RPCs over HTTP: NDJSON by default, CSV when the client accepts text/csv.

Each message becomes one line as it arrives, so memory stays flat whatever the stream's length:
gRPC flow control holds the service back while aiohttp's writes wait for the client to read.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web
from google.protobuf.message import Message

# Lines are gathered into chunks of about this size before a write: one syscall per chunk.
CHUNK_BYTES = 64 * 1024
# A CSV cell starting with one of these is read as a formula by spreadsheets (OWASP: CSV
# injection); such cells get a leading apostrophe. Phone-like cells ("+1 212...") are left alone.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Format(enum.Enum):
    """How a stream is written."""

    NDJSON = "application/x-ndjson"
    CSV = "text/csv"


def negotiate(accept: str | None) -> Format:
    """CSV only when the client asks for text/csv; NDJSON otherwise."""
    if accept and any(
        part.split(";", 1)[0].strip().lower() == "text/csv" for part in accept.split(",")
    ):
        return Format.CSV
    return Format.NDJSON


def csv_cell(value: Any) -> str:
    """One value as CSV text, safe to open in a spreadsheet."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if text.startswith(_FORMULA_STARTS) and not _phone_like(text):
        return "'" + text
    return text


def _phone_like(text: str) -> bool:
    return text[0] == "+" and all(char.isdigit() or char in " ().-" for char in text[1:])


class StreamWriter:
    """Renders messages into lines of one format and writes them in chunks."""

    def __init__(
        self,
        response: web.StreamResponse,
        output: Format,
        to_dict: Callable[[Message], dict[str, Any]],
        columns: Sequence[str],
    ) -> None:
        self._response = response
        self._format = output
        self._to_dict = to_dict
        self._columns = columns
        self._buffer = io.BytesIO()
        if output is Format.CSV:
            self._lines(self._columns)

    async def write(self, message: Message) -> None:
        data = self._to_dict(message)
        if self._format is Format.CSV:
            self._lines([csv_cell(data.get(column)) for column in self._columns])
        else:
            self._buffer.write(orjson.dumps(data) + b"\n")
        if self._buffer.tell() >= CHUNK_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._buffer.tell():
            await self._response.write(self._buffer.getvalue())
            self._buffer = io.BytesIO()

    def _lines(self, cells: Sequence[str]) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerow(cells)
        self._buffer.write(text.getvalue().encode())
