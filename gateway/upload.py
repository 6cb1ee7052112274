"""Streamed request bodies (client- and bidi-streaming routes): read as they arrive, never whole.

The body is NDJSON (one request message per line, grpc-gateway's convention for client streams)
or CSV with a header row (csv_upload.py), chosen by Content-Type. Each line is bounded (the
one-body limit applies per line), UTF-8 checked and parsed by the same JSON body parser as unary
calls; a body that sends nothing for the body idle time (settings.py) is ended.
`send` writes each message to the gRPC call and awaits the write, so the call's flow control
holds the HTTP reader back: memory stays flat whatever the body's size.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from aiohttp.http_exceptions import HttpProcessingError
from google.protobuf.message import Message

from . import transcoding
from .csv_upload import CsvReader
from .errors import GatewayError
from .routes import Route

# Content types read as NDJSON; a missing Content-Type is NDJSON too (one JSON object is one line).
NDJSON_MEDIA_TYPES = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/json", "application/octet-stream"}
)
CSV_MEDIA_TYPE = "text/csv"
_BOM = "\ufeff"


class BodyFormat(enum.Enum):
    NDJSON = "application/x-ndjson"
    CSV = "text/csv"


def body_format(content_type: str | None, route: Route) -> BodyFormat:
    """NDJSON or CSV by Content-Type; 415 for others, or for CSV where no field takes rows."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not media_type or media_type in NDJSON_MEDIA_TYPES:
        return BodyFormat.NDJSON
    if media_type == CSV_MEDIA_TYPE and route.upload_field is not None:
        return BodyFormat.CSV
    accepted = "application/x-ndjson" + (" or text/csv" if route.upload_field else "")
    raise GatewayError.refusal(
        415, f"Content-Type {media_type[:64]!r} is not accepted: send {accepted}."
    )


@dataclass
class Progress:
    """How far a streamed body got: for the error texts and the access log."""

    lines: int = 0  # physical lines read, header included
    messages: int = 0  # request messages written to the call
    items: int = 0  # items of their repeated field (rows, numbers) written


class Body(Protocol):
    """Where a body's bytes come from: aiohttp's request.content."""

    async def readany(self) -> bytes: ...


class LineReader:
    """The body's lines, decoded, in batches (one per chunk received): bounded, idle-limited."""

    def __init__(
        self, content: Body, max_line_bytes: int, idle_seconds: float, progress: Progress
    ) -> None:
        self._content = content
        self._max = self.max_line_bytes = max_line_bytes
        self._idle = idle_seconds
        self._progress = progress

    async def batches(self) -> AsyncIterator[list[str]]:
        pending = b""
        while chunk := await self._chunk():
            data = pending + chunk
            end = data.rfind(b"\n") + 1
            pending = data[end:]
            if len(pending) > self._max:
                raise self._too_long(self._progress.lines + data[:end].count(b"\n") + 1)
            if end:
                yield self._decode(data[: end - 1])
        if pending:
            yield self._decode(pending)

    async def _chunk(self) -> bytes:
        try:
            async with asyncio.timeout(self._idle):
                return await self._content.readany()
        except TimeoutError:
            raise GatewayError.refusal(
                408, f"The request body sent nothing for {self._idle:g} s after line "
                f"{self._progress.lines}; it was ended there.",
            ) from None  # fmt: skip
        except HttpProcessingError:
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"The request body's framing broke after line {self._progress.lines}.",
            ) from None

    def _decode(self, data: bytes) -> list[str]:
        """Complete lines (no final newline), UTF-8 checked, CR of CRLF removed, length checked."""
        start = self._progress.lines
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = start + data.count(b"\n", 0, error.start) + 1
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT, f"line {line}: the body is not UTF-8 text"
            ) from None
        if start == 0 and text.startswith(_BOM):
            text = text[1:]
        lines = text.split("\n")
        if len(data) > self._max:
            for number, text_line in enumerate(lines, start + 1):
                if len(text_line) > self._max:  # characters: at most the bytes' count
                    raise self._too_long(number)
        self._progress.lines += len(lines)
        return [line[:-1] if line.endswith("\r") else line for line in lines]

    def _too_long(self, line: int) -> GatewayError:
        return GatewayError.refusal(
            413, f"line {line} is longer than {self._max} bytes (each line is one message)."
        )


def messages(
    route: Route, template: Message, lines: LineReader, form: BodyFormat, progress: Progress
) -> AsyncIterator[Message]:
    """The body's request messages, each with the query's values (`template`) merged in."""
    if form is BodyFormat.CSV:
        return _csv_messages(route, template, lines, progress)
    return _ndjson_messages(route, template, lines, progress)


async def _csv_messages(
    route: Route, template: Message, lines: LineReader, progress: Progress
) -> AsyncIterator[Message]:
    assert route.upload_field is not None  # body_format allows CSV only then
    reader = CsvReader(
        route.request_class, route.method.input_type, route.upload_field, lines.max_line_bytes
    )
    try:
        async for batch in lines.batches():
            for message in reader.feed(batch, progress.lines - len(batch) + 1):
                message.MergeFrom(template)
                yield message
    except GatewayError:
        # The body broke off (idle, not UTF-8, too long): its complete rows still count.
        for message in reader.flush():
            message.MergeFrom(template)
            yield message
        raise
    for message in reader.close():
        message.MergeFrom(template)
        yield message


async def _ndjson_messages(
    route: Route, template: Message, lines: LineReader, progress: Progress
) -> AsyncIterator[Message]:
    descriptor = route.method.input_type
    async for batch in lines.batches():
        number = progress.lines - len(batch)
        for line in batch:
            number += 1
            if not line.strip():
                continue
            message = route.request_class()
            try:
                transcoding.merge_json_body(message, line, descriptor)
            except GatewayError as error:
                raise GatewayError(
                    error.code, f"line {number}: {error.details}", http_status=error.status
                ) from None
            message.MergeFrom(template)
            yield message


async def send(
    call: grpc.aio.StreamStreamCall[Message, Any] | grpc.aio.StreamUnaryCall[Message, Any],
    source: AsyncIterator[Message],
    progress: Progress,
    field: str | None,
) -> GatewayError | None:
    """Write every message, awaiting each (backpressure), then half-close.

    A bad line or an idle body also half-closes, so the service answers for what came before
    it and the caller reports both (never a silently partial success); the error is returned.
    A client gone mid-body cancels the call: nobody is left to read an answer. None when the
    body was sent whole, or when the call ended first (its status is then the answer).
    """
    try:
        async for message in source:
            await call.write(message)
            progress.messages += 1
            progress.items += len(getattr(message, field)) if field else 1
    except GatewayError as error:
        await call.done_writing()
        return error
    except ConnectionError:
        call.cancel()
        return GatewayError(grpc.StatusCode.CANCELLED, "the client went away", http_status=499)
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        if await call.code() == grpc.StatusCode.OK:
            return GatewayError(
                grpc.StatusCode.INTERNAL, "the service answered before the body was sent whole"
            )
        return None
    await call.done_writing()
    return None
