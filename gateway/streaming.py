"""Server-streaming RPCs over HTTP: NDJSON by default, CSV when the client accepts text/csv.

Each message becomes one line as it arrives, so memory stays flat whatever the stream's length:
gRPC flow control holds the service back while aiohttp's writes wait for the client to read.

Headers go out only with the first message (or the stream's end), so a call refused at once
(401, 400, 503...) is an ordinary error envelope. A failure after that cannot change the status:
NDJSON ends with one last line holding the error envelope; CSV, which has no room for one, is
cut off (no final chunk), so a truncated file is never mistaken for a complete one.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import orjson
from aiohttp import web
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from .errors import GatewayError
from .visibility import rest_visible

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


def content_type(output: Format) -> str:
    return "text/csv; charset=utf-8" if output is Format.CSV else output.value


def columns(descriptor: Descriptor) -> tuple[str, ...]:
    """CSV columns: the message's REST-visible JSON names in field-number order."""
    fields = sorted(filter(rest_visible, descriptor.fields), key=lambda field: field.number)
    return tuple(field.json_name for field in fields)


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


@dataclass
class Outcome:
    """How a relayed stream ended, for the access log and metrics."""

    messages: int = 0
    # The gRPC code that broke the stream after its headers were sent; None when it ended well.
    error: grpc.StatusCode | None = None
    client_gone: bool = False


async def _no_failure() -> GatewayError | None:
    return None


async def relay(
    request: web.Request,
    messages: AsyncIterator[Message],
    writer_for: Callable[[web.StreamResponse], StreamWriter],
    output: Format,
    error_line: Callable[[GatewayError], bytes],
    outcome: Outcome,
    ending: Callable[[], Awaitable[GatewayError | None]] = _no_failure,
) -> web.StreamResponse:
    """Copy the stream to the client; an AioRpcError before the first message propagates.

    `ending`, awaited once the messages end, is a failure the stream ends with though the
    call succeeded (a streamed request body that broke off): raised if nothing was sent yet.
    """
    first = await anext(messages, None)
    if first is None and (failure := await ending()) is not None:
        raise failure
    response = web.StreamResponse(
        headers={"Content-Type": content_type(output), "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    writer = writer_for(response)
    try:
        message = first
        while message is not None:
            await writer.write(message)
            outcome.messages += 1
            message = await anext(messages, None)
        await writer.flush()
        failure = await ending() if first is not None else None
    except grpc.aio.AioRpcError as error:
        outcome.error = error.code()
        failure = GatewayError.from_rpc(error)
    except ConnectionError:  # the client went away; aiohttp closes the connection
        outcome.client_gone = True
        return response
    if failure is not None:
        if output is Format.CSV:
            _cut_off(request)
            return response
        try:
            await writer.flush()
            await response.write(error_line(failure) + b"\n")
        except ConnectionError:
            outcome.client_gone = True
            return response
    await response.write_eof()
    return response


async def items(messages: AsyncIterator[Message], field: str) -> AsyncIterator[Message]:
    """Each item of each message's repeated `field`, in order: one line per item."""
    async for message in messages:
        for item in getattr(message, field):
            yield item


def _cut_off(request: web.Request) -> None:
    """Close the connection without the chunked body's last chunk: the client sees an error."""
    transport = request.transport
    if transport is not None:
        transport.close()
