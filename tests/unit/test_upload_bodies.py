"""gateway/upload.py without a server: the body format chosen by Content-Type (and the 415's
text), the line reader's framing error, BOM and CRLF rules, NDJSON and CSV bodies turned into
messages with the query's values and each line's number, and `send` against a recorded call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc
import pytest
from aiohttp.http_exceptions import HttpProcessingError
from google.protobuf.message import Message

from dnc.v1 import dnc_pb2
from gateway import upload
from gateway.errors import GatewayError
from gateway.routes import Route, routes_from_files
from gateway.upload import BodyFormat, LineReader, Progress, body_format


def route(name: str) -> Route:
    (found,) = [
        each for each in routes_from_files([dnc_pb2.DESCRIPTOR]) if each.method.name == name
    ]
    return found


def unary_route() -> Route:
    return route("AddDnc")


class Chunks:
    """A body: the chunks, then the end; an exception in the list is raised when reached."""

    def __init__(self, chunks: Iterable[bytes | Exception]) -> None:
        self.chunks = list(chunks)

    async def readany(self) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if isinstance(chunk, Exception):
            raise chunk
        return chunk


def batches(chunks: Iterable[bytes | Exception], max_line: int = 100) -> list[list[str]]:
    reader = LineReader(Chunks(chunks), max_line, 1.0, Progress())

    async def read() -> list[list[str]]:
        return [batch async for batch in reader.batches()]

    return asyncio.run(read())


def refusal(chunks: Iterable[bytes | Exception], max_line: int = 100) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        batches(chunks, max_line)
    return caught.value


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/x-ndjson",
        "application/jsonl",
        "application/json; charset=utf-8",
        "application/octet-stream",
        " Application/X-NDJSON ; x=1",
    ],
)
def test_ndjson_is_the_default_and_its_spellings(content_type: str | None) -> None:
    assert body_format(content_type, route("ImportDnc")) is BodyFormat.NDJSON


@pytest.mark.parametrize("content_type", ["text/csv", "TEXT/CSV; charset=utf-8", "text/csv;"])
def test_csv_where_a_field_takes_rows(content_type: str) -> None:
    assert body_format(content_type, route("ImportDnc")) is BodyFormat.CSV
    assert body_format(content_type, route("ScrubDnc")) is BodyFormat.CSV


def test_the_format_values_are_their_media_types() -> None:
    assert (BodyFormat.NDJSON.value, BodyFormat.CSV.value) == ("application/x-ndjson", "text/csv")
    assert upload.CSV_MEDIA_TYPE == "text/csv"
    assert sorted(upload.NDJSON_MEDIA_TYPES) == [
        "application/json",
        "application/jsonl",
        "application/octet-stream",
        "application/x-ndjson",
    ]


NDJSON_OR_CSV = "is not accepted: send application/x-ndjson or text/csv."


@pytest.mark.parametrize(
    ("content_type", "name", "text"),
    [
        ("text/plain", "ImportDnc", f"'text/plain' {NDJSON_OR_CSV}"),
        ("text/csv", "AddDnc", "'text/csv' is not accepted: send application/x-ndjson."),
        ("x/" + "y" * 80, "ScrubDnc", f"{('x/' + 'y' * 62)!r} {NDJSON_OR_CSV}"),
    ],
)
def test_another_content_type_is_415_saying_what_to_send(
    content_type: str, name: str, text: str
) -> None:
    with pytest.raises(GatewayError) as caught:
        body_format(content_type, route(name))
    assert (caught.value.status, caught.value.details) == (415, f"Content-Type {text}")


def test_a_progress_starts_at_zero() -> None:
    assert (Progress().lines, Progress().messages, Progress().items) == (0, 0, 0)


def test_lines_come_in_one_batch_per_chunk_the_last_without_a_newline() -> None:
    assert batches([b"a\nb", b"c\nd\n", b"e"]) == [["a"], ["bc", "d"], ["e"]]
    assert batches([b"a\n", b""]) == [["a"]]


def test_only_a_final_carriage_return_is_removed() -> None:
    assert batches([b"a\r\nb\rc\r\n\r\n"]) == [["a", "b\rc", ""]]


def test_a_bom_is_dropped_only_at_the_start_of_the_body() -> None:
    assert batches([b"\xef\xbb\xbfa\n", b"\xef\xbb\xbfb\n"]) == [["a"], ["\ufeffb"]]


def test_a_broken_framing_is_invalid_argument_after_the_last_line_read() -> None:
    error = refusal([b"a\nb\n", HttpProcessingError(message="bad chunk")])
    assert (error.code, error.status, error.details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "The request body's framing broke after line 2.",
    )


def test_a_long_line_inside_a_chunk_is_413_naming_it_exactly() -> None:
    error = refusal([b"ok\nok\n" + b"y" * 11 + b"\nok\n"], max_line=10)
    assert (error.status, error.details) == (
        413,
        "line 3 is longer than 10 bytes (each line is one message).",
    )
    error = refusal([b"ok\n", b"z" * 11], max_line=10)
    assert error.details.startswith("line 2 is longer")


def test_a_line_of_exactly_the_limit_is_read() -> None:
    assert batches([b"x" * 10 + b"\n" + b"y" * 10, b"\n" + b"z" * 10], max_line=10) == [
        ["x" * 10],
        ["y" * 10],
        ["z" * 10],
    ]
    assert batches(["é".encode() * 6 + b"\n"], max_line=10) == [["é" * 6]]


def test_the_line_of_bad_utf8_is_counted_across_batches() -> None:
    error = refusal([b"a\nb\n", b"c\nd\xff\n"])
    assert error.details == "line 4: the body is not UTF-8 text"


async def collect(source: AsyncIterator[Message]) -> list[Any]:
    return [message async for message in source]


def body_messages(
    name: str, chunks: list[bytes], form: BodyFormat, template: Message | None = None
) -> tuple[list[Any], Progress]:
    found = route(name)
    progress = Progress()
    lines = LineReader(Chunks(chunks), 1000, 1.0, progress)
    made = upload.messages(found, template or found.request_class(), lines, form, progress)
    return asyncio.run(collect(made)), progress


def test_ndjson_lines_are_messages_with_the_querys_values() -> None:
    template = dnc_pb2.ScrubDncRequest(region="US")
    chunks = [b'{"phoneNumbers": ["1"]}\n\n', b'  \n{"phoneNumbers": ["2"], "region": "CA"}']
    found, progress = body_messages("ScrubDnc", chunks, BodyFormat.NDJSON, template)
    assert [(list(each.phone_numbers), each.region) for each in found] == [
        (["1"], "US"),
        (["2"], "US"),
    ]
    assert progress.lines == 4


def test_a_bad_ndjson_line_is_refused_with_its_number() -> None:
    chunks = [b'{"phoneNumbers": ["1"]}\n\n', b'{"phoneNumbers": 7}\n']
    with pytest.raises(GatewayError) as caught:
        body_messages("ScrubDnc", chunks, BodyFormat.NDJSON)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.status == 400
    assert caught.value.details.startswith("line 3: ")


def test_csv_rows_are_messages_with_the_querys_values() -> None:
    template = dnc_pb2.ScrubDncRequest(region="GB")
    chunks = [b"phoneNumber\n1\n", b"2\n3"]
    found, _ = body_messages("ScrubDnc", chunks, BodyFormat.CSV, template)
    assert [(list(each.phone_numbers), each.region) for each in found] == [(["1", "2", "3"], "GB")]


def test_csv_rows_before_a_broken_body_are_still_sent_then_the_error() -> None:
    template = dnc_pb2.ScrubDncRequest(region="GB")
    found = route("ScrubDnc")
    progress = Progress()
    chunks: list[bytes | Exception] = [b"phoneNumber\n1\n2\n", HttpProcessingError()]
    lines = LineReader(Chunks(chunks), 1000, 1.0, progress)
    got: list[Any] = []

    async def read() -> None:
        async for message in upload.messages(found, template, lines, BodyFormat.CSV, progress):
            got.append(message)

    with pytest.raises(GatewayError, match="framing broke after line 3"):
        asyncio.run(read())
    assert [(list(each.phone_numbers), each.region) for each in got] == [(["1", "2"], "GB")]


def test_csv_rows_are_numbered_across_chunks() -> None:
    chunks = [b"phoneNumber,type\n+12125550001,a\n", b"+12125550002,b\n+1,c\n"]
    found, progress = body_messages("ImportDnc", chunks, BodyFormat.CSV)
    assert [entry.type for each in found for entry in each.entries] == ["a", "b", "c"]
    assert progress.lines == 4
    chunks = [b"phoneNumber,expiresAt\n+12125550001,\n", b"+12125550002,\n+1,tomorrow\n"]
    with pytest.raises(GatewayError) as caught:
        body_messages("ImportDnc", chunks, BodyFormat.CSV)
    assert caught.value.details.startswith("line 4: invalid request body")


class Call:
    """A recorded client-streaming call."""

    def __init__(self, fail_write: BaseException | None = None, code: Any = None) -> None:
        self.written: list[Message] = []
        self.events: list[str] = []
        self._fail = fail_write
        self._code = code

    async def write(self, message: Message) -> None:
        if self._fail is not None:
            raise self._fail
        self.written.append(message)

    async def done_writing(self) -> None:
        self.events.append("done_writing")

    def cancel(self) -> None:
        self.events.append("cancel")

    async def code(self) -> Any:
        return self._code


async def source_of(*items: Message | GatewayError | BaseException) -> AsyncIterator[Message]:
    for item in items:
        if isinstance(item, BaseException):
            raise item
        yield item


def send(call: Call, source: AsyncIterator[Message], field: str | None) -> tuple[Any, Progress]:
    progress = Progress()
    answer = asyncio.run(upload.send(call, source, progress, field))  # type: ignore[arg-type]
    return answer, progress


def test_send_writes_every_message_counts_items_and_half_closes() -> None:
    call = Call()
    one = dnc_pb2.ScrubDncRequest(phone_numbers=["1", "2"])
    two = dnc_pb2.ScrubDncRequest(phone_numbers=["3"])
    answer, progress = send(call, source_of(one, two), "phone_numbers")
    assert answer is None
    assert call.written == [one, two]
    assert call.events == ["done_writing"]
    assert (progress.messages, progress.items) == (2, 3)


def test_without_a_field_each_message_is_one_item() -> None:
    call = Call()
    answer, progress = send(call, source_of(dnc_pb2.AddDncRequest(), dnc_pb2.AddDncRequest()), None)
    assert (answer, progress.messages, progress.items) == (None, 2, 2)


def test_a_bad_body_half_closes_and_is_returned() -> None:
    call = Call()
    bad = GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "line 2: bad")
    answer, progress = send(call, source_of(dnc_pb2.ScrubDncRequest(), bad), "phone_numbers")
    assert answer is bad
    assert call.events == ["done_writing"]
    assert progress.messages == 1


def test_a_client_gone_cancels_the_call_as_499() -> None:
    call = Call()
    answer, _ = send(call, source_of(ConnectionResetError()), None)
    assert call.events == ["cancel"]
    assert (answer.code, answer.status, answer.details) == (
        grpc.StatusCode.CANCELLED,
        499,
        "the client went away",
    )


def test_a_call_that_ended_first_answers_with_its_status() -> None:
    call = Call(fail_write=asyncio.InvalidStateError(), code=grpc.StatusCode.PERMISSION_DENIED)
    answer, _ = send(call, source_of(dnc_pb2.AddDncRequest()), None)
    assert answer is None
    assert call.events == []


def test_a_call_that_ended_ok_before_the_whole_body_is_internal() -> None:
    call = Call(fail_write=asyncio.InvalidStateError(), code=grpc.StatusCode.OK)
    answer, _ = send(call, source_of(dnc_pb2.AddDncRequest()), None)
    assert (answer.code, answer.status, answer.details) == (
        grpc.StatusCode.INTERNAL,
        500,
        "the service answered before the body was sent whole",
    )


def test_a_parameter_after_the_csv_media_type_may_hold_more_semicolons() -> None:
    assert body_format("text/csv; a=1; b=2", route("ScrubDnc")) is BodyFormat.CSV


def test_a_too_long_line_is_numbered_after_the_chunks_own_lines() -> None:
    error = refusal([b"ok\n", b"a\nb\n" + b"z" * 11], max_line=10)
    assert error.details == "line 4 is longer than 10 bytes (each line is one message)."


def test_a_line_of_exactly_the_limit_in_a_longer_batch_is_read() -> None:
    assert batches([b"x" * 10 + b"\n" + b"yyy\n"], max_line=10) == [["x" * 10, "yyy"]]


@pytest.mark.parametrize(
    ("chunks", "line"),
    [
        ([b"a\nb\xff\nc\nd\n"], 2),
        ([b"\na\xff\n"], 2),
        ([b"\xff\n\n\n"], 1),
        ([b"a\n", b"b\n\nc\xffd\ne\n"], 4),
    ],
)
def test_the_line_of_bad_utf8_is_the_one_holding_the_byte(
    chunks: list[bytes | Exception], line: int
) -> None:
    assert refusal(chunks).details == f"line {line}: the body is not UTF-8 text"


def test_blank_ndjson_lines_between_messages_are_skipped() -> None:
    chunks = [b'{"phoneNumbers": ["1"]}\n\n \n{"phoneNumbers": ["2"]}\n']
    found, _ = body_messages("ScrubDnc", chunks, BodyFormat.NDJSON)
    assert [list(each.phone_numbers) for each in found] == [["1"], ["2"]]


def test_a_full_csv_group_is_sent_with_the_querys_values_before_the_body_ends() -> None:
    template = dnc_pb2.ScrubDncRequest(region="GB")
    rows = b"".join(b"+1212555%04d\n" % index for index in range(1001))
    found, _ = body_messages("ScrubDnc", [b"phoneNumber\n" + rows], BodyFormat.CSV, template)
    assert [(len(each.phone_numbers), each.region) for each in found] == [(1000, "GB"), (1, "GB")]


def test_a_csv_record_is_bounded_by_the_line_limit() -> None:
    found = route("ScrubDnc")
    progress = Progress()
    chunks: list[bytes | Exception] = [
        b'phoneNumber\n"+1\n' + b"2" * 10 + b"\n" + b"2" * 5 + b'"\n'
    ]
    lines = LineReader(Chunks(chunks), 16, 1.0, progress)
    made = upload.messages(found, found.request_class(), lines, BodyFormat.CSV, progress)
    with pytest.raises(GatewayError) as caught:
        asyncio.run(collect(made))
    assert (caught.value.status, caught.value.details) == (
        413,
        "line 2: a CSV row is longer than 16 bytes",
    )
