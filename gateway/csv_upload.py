"""CSV bodies of streamed routes: a header row, then one row per item of the request message's
one repeated field, grouped into messages of up to that field's max_items (1,000 when unset).

Columns are named generically from the descriptors. For a repeated message field (an import's
`entries`) each column is one of the item's fields, by JSON or proto name. For a repeated scalar
field (a scrub's `phoneNumbers`) the column is the field's JSON name in the singular: a final
"s" dropped (`phoneNumber`); the plural is accepted too. Other columns are ignored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from buf.validate import validate_pb2

from . import transcoding
from .errors import GatewayError
from .visibility import rest_fields

DEFAULT_GROUP = 1000


def singular(name: str) -> str:
    """A list's column name: `phoneNumbers` -> `phoneNumber`."""
    return name[:-1] if name.endswith("s") and len(name) > 1 else name


def _group_size(field: FieldDescriptor) -> int:
    rules = field.GetOptions().Extensions[validate_pb2.field].repeated
    return rules.max_items if rules.HasField("max_items") and rules.max_items else DEFAULT_GROUP


def _required(field: FieldDescriptor) -> bool:
    return bool(field.GetOptions().Extensions[validate_pb2.field].required)


class _Columns:
    """Which cell of a row feeds which field of the item, from the header row."""

    def __init__(self, field: FieldDescriptor, header: list[str]) -> None:
        names = [cell.strip() for cell in header]
        if field.message_type is None:
            self.cells = _scalar_cells(field, names)
        else:
            self.cells = _message_cells(field.message_type, names)

    def item(self, row: list[str]) -> dict[str, Any]:
        """One row as a JSON-ready dict; empty cells are absent fields."""
        out: dict[str, Any] = {}
        for index, field in self.cells:
            cell = row[index] if index < len(row) else ""
            if not cell:
                continue
            if field.type == FieldDescriptor.TYPE_STRING or field.message_type is not None:
                out[field.json_name] = cell  # a message here is JSON text (a Timestamp)
            else:
                out[field.json_name] = transcoding.parse_scalar(field, field.json_name, cell)
        return out


def _scalar_cells(field: FieldDescriptor, names: list[str]) -> list[tuple[int, FieldDescriptor]]:
    """A repeated scalar's one column: its JSON or proto name, singular or as is."""
    wanted = {singular(field.json_name), field.json_name, singular(field.name), field.name}
    found = [index for index, name in enumerate(names) if name in wanted]
    if not found:
        raise _header_error(f"the CSV header has no {singular(field.json_name)!r} column")
    return [(found[0], field)]


def _message_cells(item: Descriptor, names: list[str]) -> list[tuple[int, FieldDescriptor]]:
    """A repeated message's columns: its fields by JSON or proto name, required ones present."""
    cells = _named_cells(rest_fields(item), names)
    chosen = {id(field) for _, field in cells}
    missing = [field for field in item.fields if _required(field) and id(field) not in chosen]
    if missing:
        raise _header_error(f"the CSV header has no {missing[0].json_name!r} column")
    if not cells:
        listed = ", ".join(field.json_name for field in item.fields)
        raise _header_error(f"the CSV header names none of the columns {listed}")
    return cells


def _named_cells(
    known: dict[str, FieldDescriptor], names: list[str]
) -> list[tuple[int, FieldDescriptor]]:
    cells: list[tuple[int, FieldDescriptor]] = []
    for index, name in enumerate(names):
        if name not in known:
            continue
        if any(chosen is known[name] for _, chosen in cells):
            raise _header_error(f"the CSV header names {known[name].json_name!r} twice")
        cells.append((index, known[name]))
    return cells


def _unfinished(text: str) -> bool:
    """Whether `text` ends inside a quoted cell (a literal quote in a bare cell does not)."""
    try:
        for _ in csv.reader([text], strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _rows(records: list[str], numbers: list[int]) -> list[list[str]]:
    """Each record's cells. A record csv cannot read as one row (a cell past its field limit,
    a bare carriage return inside a row) is a 400 naming its line."""
    try:
        rows = list(csv.reader(records))
        if len(rows) == len(records):
            return rows
    except csv.Error:
        pass
    # One by one: a record whose quote is still open at its end (`"a"b,"c`) ran on into the next
    # record above, but alone it is one row, as it is at the end of a batch.
    rows = []
    for record, number in zip(records, numbers, strict=True):
        try:
            one = list(csv.reader([record]))
        except csv.Error as error:
            raise _row_error(number, _csv_words(str(error))) from None
        if len(one) != 1:
            raise _row_error(number, "a carriage return inside the row")
        rows.extend(one)
    return rows


def _csv_words(text: str) -> str:
    """The csv module's complaint in a client's words."""
    if "new-line character" in text:
        return "a carriage return inside the row"
    if "field limit" in text:
        return f"a cell longer than {csv.field_size_limit():,} characters"
    return text


def _row_error(line: int, why: str) -> GatewayError:
    return GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT, f"line {line}: not CSV the gateway reads ({why})"
    )


def _header_error(text: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, text)


class CsvReader:
    """Rows in, request messages out: the header first, quoted newlines joined, rows grouped."""

    def __init__(
        self,
        request_class: type[Message],
        descriptor: Descriptor,
        field: FieldDescriptor,
        max_record: int,
    ) -> None:
        self._request_class = request_class
        self._descriptor = descriptor
        self._max_record = max_record
        self._field = field
        self._group = _group_size(field)
        self._columns: _Columns | None = None
        # A record whose quoted cell spans lines, until it closes: its first line, its lines,
        # their quotes and their size.
        self._open: tuple[int, list[str], int, int] | None = None
        self._items: list[Any] = []
        self._item_lines: list[int] = []

    def feed(self, lines: list[str], first_line: int) -> list[Message]:
        """The messages these lines complete (each holding a full group)."""
        records, numbers = self._records(lines, first_line)
        done: list[Message] = []
        for number, row in zip(numbers, _rows(records, numbers), strict=True):
            if self._columns is None:
                self._columns = _Columns(self._field, row)
                continue
            if not any(row):
                continue
            self._items.append(self._value(row, number))
            self._item_lines.append(number)
            if len(self._items) >= self._group:
                done.append(self._message())
        return done

    def close(self) -> list[Message]:
        """The last, partial group; a quoted cell left open is an error."""
        if self._open is not None:
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"line {self._open[0]}: a quoted CSV cell is never closed",
            )
        return self.flush()

    def flush(self) -> list[Message]:
        """The rows read so far, as a last message."""
        return [self._message()] if self._items else []

    def _records(self, lines: Iterable[str], number: int) -> tuple[list[str], list[int]]:
        """Whole CSV records (a quoted cell may hold newlines) and each one's first line."""
        records: list[str] = []
        numbers: list[int] = []
        for line in lines:
            if self._open is not None:
                record = self._continue(line)
                if record is not None:
                    records.append(record)
                    numbers.append(self._open[0])
                    self._open = None
            elif '"' in line and _unfinished(line):
                self._open = (number, [line], line.count('"'), len(line))
            elif line:
                records.append(line)
                numbers.append(number)
            number += 1
        return records, numbers

    def _continue(self, line: str) -> str | None:
        """The open record with `line` added: the whole record once its quoted cell closes."""
        assert self._open is not None
        start, parts, quotes, size = self._open
        parts.append(line)
        quotes += line.count('"')
        size += len(line) + 1
        if size > self._max_record:
            raise GatewayError.refusal(
                413, f"line {start}: a CSV row is longer than {self._max_record} bytes"
            )
        self._open = (start, parts, quotes, size)
        # Only an even count can close it; then the strict parse says whether it did.
        if quotes % 2 or _unfinished(record := "\n".join(parts)):
            return None
        return record

    def _value(self, row: list[str], number: int) -> Any:
        assert self._columns is not None
        if self._field.message_type is None:
            ((index, field),) = self._columns.cells
            cell = row[index] if index < len(row) else ""
            if field.type == FieldDescriptor.TYPE_STRING:
                return cell
            return self._checked(number, transcoding.parse_scalar, field, field.json_name, cell)
        return self._checked(number, self._columns.item, row)

    def _message(self) -> Message:
        message = self._request_class()
        if self._field.message_type is None:
            getattr(message, self._field.name).extend(self._items)
        else:
            body = {self._field.json_name: self._items}
            try:
                transcoding.merge_json_object(message, body, self._descriptor)
            except GatewayError:
                self._locate_bad_row()
                raise
        self._items = []
        self._item_lines = []
        return message

    def _locate_bad_row(self) -> None:
        """Parse the group's rows one by one to name the line that broke it."""
        for item, number in zip(self._items, self._item_lines, strict=True):
            probe = self._request_class()
            body = {self._field.json_name: [item]}
            self._checked(number, transcoding.merge_json_object, probe, body, self._descriptor)

    @staticmethod
    def _checked(number: int, parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except GatewayError as error:
            raise GatewayError(
                error.code, f"line {number}: {error.details}", http_status=error.status
            ) from None
