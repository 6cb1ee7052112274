"""CSV rows on a made-up API whose items have typed cells: ints and booleans parsed per cell (with
the line in the refusal), group sizes from max_items (set, zero, unset), the columns a header may
name, multi-line records numbered by their first line, and the record size bound exactly."""

from __future__ import annotations

from functools import cache
from typing import Any

import grpc
import pytest
from descriptor_support import REPEATED, Field, FileBuilder, ruled_field
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from dnc.v1 import dnc_pb2
from gateway.csv_upload import DEFAULT_GROUP, CsvReader, singular
from gateway.errors import GatewayError


@cache
def rows_file() -> Any:
    file = FileBuilder("gwtest/csvrows/v1/rows.proto", "gwtest.csvrows.v1")
    file.message(
        "Row",
        ("note", Field.TYPE_STRING, {}),
        ("count", Field.TYPE_INT32, {}),
        ("flag", Field.TYPE_BOOL, {}),
    )
    pairs = file.message("Pairs")  # rows grouped by two
    ruled_field(
        pairs, "rows", Field.TYPE_MESSAGE, type_name=file.type_name("Row"), **REPEATED
    ).repeated.max_items = 2
    file.message(
        "Counts",  # a repeated scalar that is not a string, no max_items
        ("counts", Field.TYPE_INT32, REPEATED),
    )
    zero = file.message("ZeroCounts")  # max_items set to 0: the default group
    ruled_field(zero, "counts", Field.TYPE_INT32, **REPEATED).repeated.max_items = 0
    return file.build()


def reader(name: str, max_record: int = 10_000) -> tuple[CsvReader, type[Message]]:
    descriptor: Descriptor = rows_file().message_types_by_name[name]
    request_class = message_factory.GetMessageClass(descriptor)
    field = descriptor.fields[0]
    return CsvReader(request_class, descriptor, field, max_record), request_class


def messages(name: str, lines: list[str], max_record: int = 10_000) -> list[Any]:
    csv, _ = reader(name, max_record)
    return [*csv.feed(lines, 1), *csv.close()]


def refusal(name: str, lines: list[str], max_record: int = 10_000) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        messages(name, lines, max_record)
    return caught.value


def rows_of(found: list[Any]) -> list[list[tuple[str, int, bool]]]:
    return [[(row.note, row.count, row.flag) for row in each.rows] for each in found]


@pytest.mark.parametrize(
    ("name", "column"),
    [("phoneNumbers", "phoneNumber"), ("xs", "x"), ("s", "s"), ("ab", "ab"), ("", "")],
)
def test_singular_drops_one_final_s_from_a_name_longer_than_it(name: str, column: str) -> None:
    assert singular(name) == column


def test_typed_cells_are_parsed_and_rows_grouped_by_max_items() -> None:
    found = messages("Pairs", ["flag,count,note", "true,1,a", "false,-2,b", "1,3,c"])
    assert rows_of(found) == [[("a", 1, True), ("b", -2, False)], [("c", 3, True)]]


def test_empty_and_missing_cells_are_absent_fields() -> None:
    found = messages("Pairs", ["note,count,flag", ",5", "a"])
    assert rows_of(found) == [[("", 5, False), ("a", 0, False)]]
    assert [[field.name for field, _ in row.ListFields()] for row in found[0].rows] == [
        ["count"],
        ["note"],
    ]


def test_a_row_of_empty_cells_is_skipped_and_the_rows_after_it_read() -> None:
    found = messages("Pairs", ["note,count", ",", "a,1", ",,,", "b,2", "c,3"])
    assert rows_of(found) == [[("a", 1, False), ("b", 2, False)], [("c", 3, False)]]


def test_a_header_alone_is_no_message() -> None:
    assert messages("Pairs", ["note,count"]) == []
    csv, _ = reader("Counts")
    assert csv.feed(["counts"], 1) == []
    assert csv.flush() == []


def test_unknown_columns_before_and_between_known_ones_are_ignored() -> None:
    found = messages("Pairs", ["id,count,other,note", "x,7,y,z"])
    assert rows_of(found) == [[("z", 7, False)]]


def test_a_header_naming_no_column_of_the_item_lists_them() -> None:
    error = refusal("Pairs", ["id,other", "1,2"])
    assert (error.code, error.status, error.details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "the CSV header names none of the columns note, count, flag",
    )


@pytest.mark.parametrize(
    ("lines", "details"),
    [
        (
            ["note,count", "a,1", "b,x"],
            "line 3: invalid value 'x' for 'count': expected an integer (int32)",
        ),
        (["flag", "yes"], "line 2: invalid value 'yes' for 'flag': expected true or false"),
    ],
)
def test_a_bad_typed_cell_is_refused_naming_its_line_and_field(
    lines: list[str], details: str
) -> None:
    error = refusal("Pairs", lines)
    assert (error.code, error.status, error.details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        details,
    )


def test_a_repeated_scalar_that_is_not_text_is_parsed_per_row() -> None:
    csv, _ = reader("Counts")
    assert csv._group == DEFAULT_GROUP == 1000
    found: list[Any] = csv.feed(["id,count", "a,1", "b,-20", "c,300"], 1) + csv.close()
    assert [list(each.counts) for each in found] == [[1, -20, 300]]
    error = refusal("Counts", ["count", "1", "2.5"])
    assert (error.code, error.details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "line 3: invalid value '2.5' for 'counts': expected an integer (int32)",
    )


def test_max_items_of_zero_is_the_default_group() -> None:
    csv, _ = reader("ZeroCounts")
    assert csv._group == 1000
    found: list[Any] = csv.feed(["count", "1", "2", "3"], 1) + csv.close()
    assert [list(each.counts) for each in found] == [[1, 2, 3]]


def test_a_short_row_gives_an_empty_scrub_number() -> None:
    descriptor: Any = dnc_pb2.ScrubDncRequest.DESCRIPTOR
    field = descriptor.fields_by_name["phone_numbers"]
    csv = CsvReader(dnc_pb2.ScrubDncRequest, descriptor, field, 1000)
    found: list[Any] = csv.feed(["id,phoneNumber", "7", "8,+12125550001"], 1) + csv.close()
    assert [list(each.phone_numbers) for each in found] == [["", "+12125550001"]]


def test_a_multi_line_record_is_numbered_by_its_first_line() -> None:
    error = refusal("Pairs", ["note,count", "a,1", '"two', 'lines",x'])
    assert error.details == "line 3: invalid value 'x' for 'count': expected an integer (int32)"


def test_a_quoted_cell_closes_when_the_quotes_on_all_its_lines_pair_up() -> None:
    found = messages("Pairs", ["note,count", '"one', 'two"" three', 'four",5'])
    assert rows_of(found) == [[('one\ntwo" three\nfour', 5, False)]]
    found = messages("Pairs", ["note,count", '"one', 'two",6'])
    assert rows_of(found) == [[("one\ntwo", 6, False)]]


def test_a_record_may_be_exactly_the_size_bound_newlines_counted() -> None:
    lines = ["note", '"ab', 'c"']  # the record '"ab\nc"' is 6 characters
    assert rows_of(messages("Pairs", lines, max_record=6)) == [[("ab\nc", 0, False)]]
    error = refusal("Pairs", lines, max_record=5)
    assert (error.status, error.details) == (413, "line 2: a CSV row is longer than 5 bytes")


def test_a_quoted_cell_never_closed_is_invalid_argument() -> None:
    error = refusal("Pairs", ["note", '"open'])
    assert (error.code, error.status, error.details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "line 2: a quoted CSV cell is never closed",
    )


def test_a_record_whose_quote_is_open_at_its_end_is_read_alone_however_the_body_is_cut() -> None:
    """`"+1212555"0001,"x` reads as the cells `+12125550001` and `x`; followed by another record
    in the same batch it was refused as "unreadable" (csv ran on into the next record), cut
    before that record it was accepted: the answer depended on the body's chunks."""
    descriptor: Any = dnc_pb2.ScrubDncRequest.DESCRIPTOR
    field = descriptor.fields_by_name["phone_numbers"]
    lines = ["phoneNumber,note", '"+1212555"0001,"x', "+12125550002,y", "+12125550003,z"]
    for cut in range(len(lines) + 1):
        csv = CsvReader(dnc_pb2.ScrubDncRequest, descriptor, field, 1000)
        found: list[Any] = csv.feed(lines[:cut], 1) + csv.feed(lines[cut:], cut + 1) + csv.close()
        assert [list(each.phone_numbers) for each in found] == [
            ["+12125550001", "+12125550002", "+12125550003"]
        ], cut
