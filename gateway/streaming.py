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
import re
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
# injection); such cells get a leading apostrophe. Only digits with an optional leading + (the
# forms the service writes phone numbers in) are left alone: "+1-1" or "+(1)-(2)" would compute.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"\+?[0-9]+")
# Valid in JSON, but line ends for JavaScript (before ES2019) and for line readers that split
# on Unicode line breaks: escaped in every NDJSON line, so a line is always one record.
_LINE_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


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
    """One value as CSV text, safe to open in a spreadsheet: no NUL, no formula.

    JSON numbers and booleans are written as they are (a negative number is no formula).
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return orjson.dumps(value).decode()
    text = value.replace("\x00", "")  # NUL ends a C string: readers cut or refuse the file
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def ndjson_line(document: bytes) -> bytes:
    """One JSON document as an NDJSON line: U+2028/U+2029 escaped, a newline after.

    Every NDJSON line the gateway writes goes through here (entries and the error line).
    """
    if b"\xe2\x80" in document:  # the first two bytes of both separators in UTF-8
        for raw, escaped in _LINE_SEPARATORS:
            document = document.replace(raw, escaped)
    return document + b"\n"


def response_headers(output: Format, download_name: str) -> dict[str, str]:
    """A stream's headers: its type, never cached or sniffed; CSV as a file to save."""
    headers = {
        "Content-Type": content_type(output),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if output is Format.CSV:
        headers["Content-Disposition"] = f'attachment; filename="{download_name}.csv"'
    return headers


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
            self._buffer.write(ndjson_line(orjson.dumps(data)))
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


async def no_failure() -> GatewayError | None:
    """No failure to end a stream with: the default `ending` of `relay`."""
    return None


async def relay(
    request: web.Request,
    messages: AsyncIterator[Message],
    writer_for: Callable[[web.StreamResponse], StreamWriter],
    output: Format,
    error_line: Callable[[GatewayError], bytes],
    outcome: Outcome,
    download_name: str,
    ending: Callable[[], Awaitable[GatewayError | None]] = no_failure,
) -> web.StreamResponse:
    """Copy the stream to the client; an AioRpcError before the first message propagates.

    `ending`, awaited once the messages end, is a failure the stream ends with though the
    call succeeded (a streamed request body that broke off): raised if nothing was sent yet.
    """
    first = await anext(messages, None)
    if first is None and (failure := await ending()) is not None:
        raise failure
    response = web.StreamResponse(headers=response_headers(output, download_name))
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
            await response.write(ndjson_line(error_line(failure)))
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
