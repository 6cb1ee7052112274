"""HTTP to request message: query parameters, path variables and JSON bodies, each value
refused with INVALID_ARGUMENT when its field's type cannot hold it (grpc-gateway's rules)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import grpc
import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from multidict import MultiMapping

from . import json_shape
from .errors import GatewayError

_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Go's strconv.ParseBool, as grpc-gateway accepts it.
_BOOLEANS = {
    **dict.fromkeys(("true", "True", "TRUE", "t", "T", "1"), True),
    **dict.fromkeys(("false", "False", "FALSE", "f", "F", "0"), False),
}
_FLOAT32_MAX = 3.4028234663852886e38
_PYTHON_TYPES = {
    "'int'": "a number",
    "'float'": "a number",
    "'bool'": "a boolean",
    "'str'": "a string",
    "'dict'": "an object",
    "'list'": "an array",
    "'NoneType'": "null",
}
_PYTHON_TYPE = re.compile("|".join(map(re.escape, _PYTHON_TYPES)))
Parser = Callable[[FieldDescriptor, str, str], Any]


def merge_query(
    message: Message, fields: Mapping[str, FieldDescriptor], query: MultiMapping[str]
) -> None:
    """Query parameters by proto or JSON name; unknown ones are ignored, as grpc-gateway does."""
    values: dict[str, tuple[FieldDescriptor, list[str]]] = {}
    for key, value in query.items():
        known = fields.get(key)
        if known is not None:
            values.setdefault(known.name, (known, []))[1].append(value)
    oneofs: dict[str, str] = {}
    for name, (descriptor, texts) in values.items():
        if len(texts) > 1 and not descriptor.is_repeated:
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"query parameter {name!r} is given more than once",
            )
        _claim_oneof(oneofs, descriptor, name)
        _set(message, descriptor, [parse_scalar(descriptor, name, text) for text in texts])


def _claim_oneof(claimed: dict[str, str], descriptor: FieldDescriptor, name: str) -> None:
    """At most one parameter per oneof (a synthetic oneof of one optional field is no limit)."""
    oneof = descriptor.containing_oneof
    if oneof is None or len(oneof.fields) < 2:
        return
    if oneof.name in claimed:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"query parameters {claimed[oneof.name]!r} and {name!r} exclude each other",
        )
    claimed[oneof.name] = name


def merge_path(
    message: Message, fields: Mapping[str, FieldDescriptor], params: Mapping[str, str]
) -> None:
    """The path template's variables (`fields` by name), each a scalar field."""
    for name in fields:
        _set(message, fields[name], [parse_scalar(fields[name], name, params.get(name, ""))])


def merge_json_body(message: Message, body: bytes | str, descriptor: Descriptor) -> None:
    """A JSON object into the message by JSON or proto names, unknown keys ignored (as
    grpc-gateway does); an empty body is an empty object (grpc-gateway reads EOF as no fields)."""
    if not body.strip():
        return
    try:
        parsed = orjson.loads(body)  # strict RFC 8259: no NaN, valid UTF-8, bounded depth
    except orjson.JSONDecodeError as error:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"the request body is not valid JSON: {error}"
        ) from None
    if not isinstance(parsed, dict):
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request body must be a JSON object, not {json_shape.json_kind(parsed)}",
        )
    refuse_repeated_keys(body)
    merge_json_object(message, parsed, descriptor)


def merge_json_object(message: Message, parsed: dict[str, Any], descriptor: Descriptor) -> None:
    """A parsed JSON object into the message, with merge_json_body's checks and texts (CSV rows
    of streamed bodies arrive this way)."""
    visible = json_shape.checked(parsed, descriptor)
    try:
        json_format.ParseDict(visible, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as error:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"invalid request body: {_parse_error_text(error)}"
        ) from None


def refuse_repeated_keys(body: bytes | str) -> None:
    """INVALID_ARGUMENT for an object, at any depth, with a key twice.

    orjson keeps the last of repeated keys silently, so a reader of the body and the gateway
    could disagree on its value; the standard parser hands each object's pairs to a hook.
    Called once orjson has accepted the body, so only the repeats are looked for here.
    """
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, "the request body is nested too deeply"
        ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> None:
    """Nothing is built: the hook only looks (its result becomes the parent's value)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            shown = key if len(key) <= 64 else key[:64] + "..."
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT, f"the request body repeats the key {shown!r}"
            )
        seen.add(key)


def _parse_error_text(error: Exception) -> str:
    """json_format's text in JSON's words: no Python type names, no doubled prefixes."""
    text = str(error) or type(error).__name__
    text = text.replace("Failed to parse ", "").replace("string or bytes-like object", "a string")
    text = _PYTHON_TYPE.sub(lambda match: _PYTHON_TYPES[match[0]], text)
    text = text.replace("..", ".").rstrip(".")
    return text if len(text) <= 300 else text[:300] + "..."


def _set(message: Message, descriptor: FieldDescriptor, values: list[Any]) -> None:
    if descriptor.is_repeated:
        getattr(message, descriptor.name).extend(values)
    else:
        setattr(message, descriptor.name, values[0])


def parse_scalar(descriptor: FieldDescriptor, name: str, text: str) -> Any:
    """One query or path value as its field's type, refusing what the type cannot hold."""
    kind = descriptor.type
    if kind == FieldDescriptor.TYPE_STRING:
        return text
    parser = _PARSERS.get(kind)
    if parser is None:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"field {name!r} cannot be set from a query parameter",
        )
    return parser(descriptor, name, text)


def _integer(descriptor: FieldDescriptor, name: str, text: str) -> int:
    low, high, type_name = json_shape.INT_RANGES[descriptor.type]
    if not _INTEGER.fullmatch(text):
        raise _invalid(name, text, f"expected an integer ({type_name})")
    # Bound the digits before int(): a huge number is out of range whatever its value.
    number = int(text) if len(text) <= 24 else high + 1
    if not low <= number <= high:
        raise _invalid(name, text, f"out of range for {type_name}")
    return number


def _boolean(descriptor: FieldDescriptor, name: str, text: str) -> bool:
    if text not in _BOOLEANS:
        raise _invalid(name, text, "expected true or false")
    return _BOOLEANS[text]


def _real(descriptor: FieldDescriptor, name: str, text: str) -> float:
    if not _FLOAT.fullmatch(text):
        raise _invalid(name, text, "expected a number")
    real = float(text)
    if descriptor.type == FieldDescriptor.TYPE_FLOAT and abs(real) > _FLOAT32_MAX:
        raise _invalid(name, text, "out of range for float")
    if math.isinf(real):
        raise _invalid(name, text, "out of range for double")
    return real


def _enum(descriptor: FieldDescriptor, name: str, text: str) -> int:
    enum_type: Any = descriptor.enum_type
    values = enum_type.values_by_name
    if text in values:
        return int(values[text].number)
    numbers = enum_type.values_by_number
    if _INTEGER.fullmatch(text) and len(text) <= 12 and int(text) in numbers:
        return int(text)
    raise _invalid(name, text, f"expected one of {', '.join(values)}")


def _bytes(descriptor: FieldDescriptor, name: str, text: str) -> bytes:
    # Standard or URL-safe alphabet, padding optional; a `+` may arrive decoded as a space.
    standard = text.replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(name, text, "expected base64") from None


_PARSERS: Mapping[int, Parser] = {
    **dict.fromkeys(json_shape.INT_RANGES, _integer),
    FieldDescriptor.TYPE_BOOL: _boolean,
    FieldDescriptor.TYPE_DOUBLE: _real,
    FieldDescriptor.TYPE_FLOAT: _real,
    FieldDescriptor.TYPE_ENUM: _enum,
    FieldDescriptor.TYPE_BYTES: _bytes,
}


def _invalid(name: str, text: str, reason: str) -> GatewayError:
    shown = text if len(text) <= 32 else text[:32] + "..."
    return GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT, f"invalid value {shown!r} for {name!r}: {reason}"
    )
