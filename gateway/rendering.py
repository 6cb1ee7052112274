"""Proto messages to JSON-ready dicts the seed's way: field-descriptor driven, no MessageToDict.

The envelope around them is envelope.py's.
"""

from __future__ import annotations

import base64
import enum
import math
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from .visibility import rest_visible

Converter = Callable[[Any], Any]
_EPOCH = date(1970, 1, 1)
_TIMESTAMP = "google.protobuf.Timestamp"
# proto3 JSON writes 64-bit integers as strings, since JSON numbers lose precision past 2**53.
_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def timestamp_text(seconds: int, nanos: int) -> str:
    """UTC with exactly three fraction digits, truncated: 2025-05-15T10:30:00.000Z."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{_date_text(days)}T{hours:02d}:{minutes:02d}:{secs:02d}.{nanos // 1_000_000:03d}Z"


@lru_cache(maxsize=4096)
def _date_text(days_since_epoch: int) -> str:
    """Calendar arithmetic once per day seen: the slow part of formatting a timestamp."""
    return (_EPOCH + timedelta(days=days_since_epoch)).isoformat()


def message_to_dict(message: Message) -> dict[str, Any]:
    """Fields in number order under their json_name; see `written_when` for which are left out."""
    out: dict[str, Any] = {}
    when_set = _when_set_plan(message.DESCRIPTOR)
    if when_set is not None:
        # Protobuf's own list of the set fields, in number order, is then exactly what is written.
        for field, value in message.ListFields():
            planned = when_set.get(field.number)
            if planned is not None:
                json_name, convert = planned
                out[json_name] = value if convert is None else convert(value)
        return out
    for name, json_name, when, convert in _plan(message.DESCRIPTOR):
        if when is Written.IF_SET and not message.HasField(name):
            continue
        value = getattr(message, name)
        if when is Written.IF_NOT_EMPTY and not value:
            continue
        out[json_name] = convert(value)
    return out


def payload(message: Message, field_name: str = "") -> Any:
    """What an HTTP response carries of `message`: the named field's value (google.api.http's
    response_body), else the whole message.

    Generic rule: a message type without REST-visible fields (an empty response such as
    `google.protobuf.Empty`) is `None`, so it renders as JSON null rather than `{}`; so is a
    message field left unset.
    """
    if field_name:
        field: FieldDescriptor = message.DESCRIPTOR.fields_by_name[field_name]  # type: ignore[assignment]
        if field.message_type is not None and not field.is_repeated:
            if not message.HasField(field_name):
                return None
            return payload(getattr(message, field_name))
        return _field_converter(field)(getattr(message, field_name))
    if not _plan(message.DESCRIPTOR):
        return None
    return message_to_dict(message)


class Written(enum.Enum):
    """When message_to_dict writes a field."""

    ALWAYS = "always"
    IF_SET = "if set"
    IF_NOT_EMPTY = "if not empty"


def written_when(field: FieldDescriptor) -> Written:
    """Unset optional fields are left out, and so is empty text without presence (an absent
    cursor); numbers, lists and the rest are always written, as the seed shows `total: 0`."""
    if field.has_presence and not field.is_repeated:
        return Written.IF_SET
    if not field.is_repeated and field.type in (
        FieldDescriptor.TYPE_STRING,
        FieldDescriptor.TYPE_BYTES,
    ):
        return Written.IF_NOT_EMPTY
    return Written.ALWAYS


@cache
def _plan(descriptor: Descriptor) -> tuple[tuple[str, str, Written, Converter], ...]:
    """Per message type, once: each field's names, when it is written, and its converter."""
    fields = sorted(filter(rest_visible, descriptor.fields), key=lambda field: field.number)
    return tuple(
        (field.name, field.json_name, written_when(field), _field_converter(field))
        for field in fields
    )


@cache
def _when_set_plan(descriptor: Descriptor) -> dict[int, tuple[str, Converter | None]] | None:
    """By field number, each field's JSON name and converter (None: the value as it is), when
    every field is written only if set or not empty (as in a list's entries); None when some
    field is always written."""
    plan = _plan(descriptor)
    if any(when is Written.ALWAYS for _, _, when, _ in plan):
        return None
    numbers = {field.name: field.number for field in descriptor.fields}
    return {
        numbers[name]: (json_name, None if convert is _identity else convert)
        for name, json_name, _, convert in plan
    }


def _field_converter(field: FieldDescriptor) -> Converter:
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        convert_value = _value_converter(message_type.fields_by_name["value"])
        return lambda mapping: {str(key): convert_value(mapping[key]) for key in mapping}
    convert = _value_converter(field)
    if field.is_repeated:
        return lambda values: [convert(value) for value in values]
    return convert


def _value_converter(field: FieldDescriptor) -> Converter:
    if field.message_type is not None:
        if field.message_type.full_name == _TIMESTAMP:
            return lambda value: timestamp_text(value.seconds, value.nanos)
        return message_to_dict
    if field.enum_type is not None:
        names = {value.number: value.name for value in field.enum_type.values}
        return lambda number: names.get(number, number)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda data: base64.b64encode(data).decode("ascii")
    if field.type in _INT64_TYPES:
        return str
    if field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return _float
    return _identity


def _identity(value: Any) -> Any:
    return value


def _float(value: float) -> float | str:
    """proto3 JSON spells the non-finite values as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
