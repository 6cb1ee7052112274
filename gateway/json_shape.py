"""A request body's JSON types against its message, before json_format reads it.

json_format judges the values (ranges, enum names, timestamps), but its type errors speak
Python ("expected string or bytes-like object, got 'int'") and it accepts some wrong shapes
(a string as a message); this check answers those in JSON's words, naming the key. It never
changes its input: gRPC-only keys are left out of the copy it returns.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from .errors import GatewayError
from .visibility import rest_fields, rest_visible

# Deeper JSON than this is refused before it can exhaust the stack (json_format stops at 100).
MAX_BODY_DEPTH = 64
INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1, "uint32"),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1, "uint32"),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1, "uint64"),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1, "uint64"),
}
_JSON_KINDS: dict[int, tuple[tuple[type, ...], str]] = {
    FieldDescriptor.TYPE_STRING: ((str,), "a string"),
    FieldDescriptor.TYPE_BYTES: ((str,), "a base64 string"),
    FieldDescriptor.TYPE_BOOL: ((bool,), "true or false"),
    FieldDescriptor.TYPE_ENUM: ((str, int), "an enum name or number"),
    FieldDescriptor.TYPE_DOUBLE: ((int, float, str), "a number"),
    FieldDescriptor.TYPE_FLOAT: ((int, float, str), "a number"),
    **{kind: ((int, str), "an integer") for kind in INT_RANGES},
}


def checked(value: dict[str, Any], descriptor: Descriptor, path: str = "", depth: int = 0) -> Any:
    """A copy of `value` for json_format once every known key has its field's JSON type,
    without the gRPC-only keys (they cannot be set over REST, like any unknown key)."""
    if depth > MAX_BODY_DEPTH:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, "the request body is nested too deeply"
        )
    fields = _fields_by_any_name(descriptor)
    hidden = _hidden_names(descriptor)
    _refuse_aliases(value, fields, path)
    return {
        key: _checked_item(fields.get(key), item, f"{path}.{key}" if path else key, depth)
        for key, item in value.items()
        if key not in hidden
    }


def _refuse_aliases(value: dict[str, Any], fields: dict[str, FieldDescriptor], path: str) -> None:
    """A field given twice, by its proto name and its JSON name (`phone_number`, `phoneNumber`):
    which one won would be the parser's choice, not the client's."""
    named: dict[str, str] = {}
    for key in value:
        field = fields.get(key)
        if field is None:
            continue
        first = named.setdefault(field.name, key)
        if first != key:
            where = f"{path}." if path else ""
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"invalid request body: {where + first!r} and {where + key!r} name the same field",
            )


def _checked_item(field: FieldDescriptor | None, item: Any, where: str, depth: int) -> Any:
    """Unknown keys are json_format's to ignore; null leaves a field unset."""
    if field is None or item is None:
        return item
    return _checked_field(field, item, where, depth)


def _checked_field(field: FieldDescriptor, item: Any, where: str, depth: int) -> Any:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        if not isinstance(item, dict):
            raise _wrong_type(where, "an object", item)
        value_field = entry.fields_by_name["value"]
        return {
            key: _value(value_field, each, f"{where}.{key}", depth) for key, each in item.items()
        }
    if field.is_repeated:
        if not isinstance(item, list):
            raise _wrong_type(where, "an array", item)
        return [_value(field, each, f"{where}[{index}]", depth) for index, each in enumerate(item)]
    return _value(field, item, where, depth)


def _value(field: FieldDescriptor, value: Any, where: str, depth: int) -> Any:
    if value is None:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"invalid request body: {where!r} must not be null"
        )
    message_type = field.message_type
    if message_type is not None:
        # Well-known types (Timestamp, wrappers, Struct...) have their own JSON forms.
        if message_type.full_name.startswith("google.protobuf."):
            return value
        if not isinstance(value, dict):
            raise _wrong_type(where, "an object", value)
        return checked(value, message_type, where, depth + 1)
    accepted, expected = _JSON_KINDS.get(field.type, ((object,), ""))
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        raise _wrong_type(where, expected, value)
    return value


def _wrong_type(where: str, expected: str, value: Any) -> GatewayError:
    return GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"invalid request body: {where!r} must be {expected}, not {json_kind(value)}",
    )


@cache
def _fields_by_any_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    return rest_fields(descriptor)


@cache
def _hidden_names(descriptor: Descriptor) -> frozenset[str]:
    return frozenset(
        name
        for field in descriptor.fields
        if not rest_visible(field)
        for name in (field.name, field.json_name)
    )


def json_kind(value: Any) -> str:
    """A JSON value's kind in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    return "an array"
