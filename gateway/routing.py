"""Routes from the google.api.http annotations, and HTTP requests to request messages."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import grpc
import orjson

# googleapis-common-protos ships .pyi files but no py.typed marker.
from google.api import annotations_pb2, http_pb2  # type: ignore[import-untyped]
from google.protobuf import json_format
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from multidict import MultiMapping

from .errors import GatewayError
from .visibility import rest_visible

_VERBS = ("get", "put", "post", "delete", "patch")
_TEMPLATE_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LITERAL_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Go's strconv.ParseBool, as grpc-gateway accepts it.
_BOOLEANS = {
    **dict.fromkeys(("true", "True", "TRUE", "t", "T", "1"), True),
    **dict.fromkeys(("false", "False", "FALSE", "f", "F", "0"), False),
}
_FLOAT32_MAX = 3.4028234663852886e38
_INT_RANGES = {
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


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one unary or server-streaming RPC."""

    http_method: str
    path: str
    method: MethodDescriptor
    body: str = ""
    path_fields: tuple[str, ...] = ()
    query_fields: Mapping[str, FieldDescriptor] = field(default_factory=dict)
    # The response field whose value is the HTTP payload; "" for the whole response message.
    response_body: str = ""

    @property
    def streaming(self) -> bool:
        """A server-streaming RPC: each message of the stream is one item of the payload."""
        return bool(self.method.server_streaming)

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @cached_property
    def request_class(self) -> type[Message]:
        return GetMessageClass(self.method.input_type)

    @cached_property
    def response_class(self) -> type[Message]:
        return GetMessageClass(self.method.output_type)

    def build_request(
        self,
        query: MultiMapping[str],
        path_params: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Message:
        """The request message; GatewayError (INVALID_ARGUMENT) when a value cannot be used."""
        message = self.request_class()
        if self.body == "*":
            _merge_json_body(message, body, self.method.input_type)
        else:
            _merge_query(message, self.query_fields, query)
        fields = self.method.input_type.fields_by_name
        for name in self.path_fields:
            value = (path_params or {}).get(name, "")
            _set(message, fields[name], [_parse_scalar(fields[name], name, value)])
        return message


def routes_from_files(files: Iterable[FileDescriptor]) -> list[Route]:
    """Every google.api.http binding (additional_bindings too) of every unary or
    server-streaming RPC; client streaming has no HTTP/1.1 request shape and fails at start."""
    routes: list[Route] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                if not options.HasExtension(annotations_pb2.http):
                    continue
                if method.client_streaming:
                    raise ValueError(f"{method.full_name}: client streaming is not transcoded")
                rule = options.Extensions[annotations_pb2.http]
                routes.append(_route(method, rule))
                routes.extend(_route(method, extra) for extra in rule.additional_bindings)
    return routes


def _route(method: MethodDescriptor, rule: http_pb2.HttpRule) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind not in _VERBS:
        raise ValueError(f"{method.full_name}: HTTP pattern {kind!r} is not supported")
    path: str = getattr(rule, kind)
    if rule.body not in ("", "*"):
        raise ValueError(f'{method.full_name}: only body "" or "*" is supported')
    if rule.response_body:
        chosen = method.output_type.fields_by_name.get(rule.response_body)
        if chosen is None or not rest_visible(chosen):
            raise ValueError(
                f"{method.full_name}: response_body {rule.response_body!r} must name a field "
                f"of {method.output_type.full_name}"
            )
        if method.server_streaming and (chosen.message_type is None or chosen.is_repeated):
            raise ValueError(
                f"{method.full_name}: a stream's response_body must name a singular message "
                "field (each message is one NDJSON line or CSV row)"
            )
    request = method.input_type
    segments = path.split("/")
    # Literal segments and whole-segment {field} variables; not {f=pattern}, ** or :verb.
    if segments[0] or not all(
        _LITERAL_SEGMENT.fullmatch(part) or _TEMPLATE_VARIABLE.fullmatch(part)
        for part in segments[1:]
    ):
        raise ValueError(f"{method.full_name}: path template {path!r} is not supported")
    path_fields = tuple(_TEMPLATE_VARIABLE.findall(path))
    for name in path_fields:
        bound = request.fields_by_name.get(name)
        if bound is None or bound.is_repeated or bound.type == FieldDescriptor.TYPE_MESSAGE:
            raise ValueError(f"{method.full_name}: {{{name}}} must name a scalar request field")
    return Route(
        http_method=kind.upper(),
        path=path,
        method=method,
        body=rule.body,
        path_fields=path_fields,
        query_fields=_query_fields(request, exclude=path_fields),
        response_body=rule.response_body,
    )


def _query_fields(request: Descriptor, exclude: Iterable[str]) -> dict[str, FieldDescriptor]:
    """Each field settable from the query, under its proto name and its JSON name."""
    by_name: dict[str, FieldDescriptor] = {}
    for descriptor in request.fields:
        if descriptor.name not in exclude and rest_visible(descriptor):
            by_name[descriptor.name] = descriptor
            by_name[descriptor.json_name] = descriptor
    return by_name


def _merge_query(
    message: Message, fields: Mapping[str, FieldDescriptor], query: MultiMapping[str]
) -> None:
    values: dict[str, tuple[FieldDescriptor, list[str]]] = {}
    for key, value in query.items():
        known = fields.get(key)
        if known is not None:  # unknown parameters are ignored, as grpc-gateway does
            values.setdefault(known.name, (known, []))[1].append(value)
    oneofs: dict[str, str] = {}
    for name, (descriptor, texts) in values.items():
        if len(texts) > 1 and not descriptor.is_repeated:
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"query parameter {name!r} is given more than once",
            )
        oneof = descriptor.containing_oneof
        if oneof is not None and len(oneof.fields) > 1:
            if oneof.name in oneofs:
                raise GatewayError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"query parameters {oneofs[oneof.name]!r} and {name!r} exclude each other",
                )
            oneofs[oneof.name] = name
        _set(message, descriptor, [_parse_scalar(descriptor, name, text) for text in texts])


def _merge_json_body(message: Message, body: bytes, descriptor: Descriptor) -> None:
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
            f"the request body must be a JSON object, not {_json_kind(parsed)}",
        )
    _check_shape(parsed, descriptor, "", 0)
    try:
        json_format.ParseDict(parsed, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as error:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"invalid request body: {_parse_error_text(error)}"
        ) from None


# Deeper JSON than this is refused before it can exhaust the stack (json_format stops at 100).
MAX_BODY_DEPTH = 64
_JSON_KINDS: dict[int, tuple[tuple[type, ...], str]] = {
    FieldDescriptor.TYPE_STRING: ((str,), "a string"),
    FieldDescriptor.TYPE_BYTES: ((str,), "a base64 string"),
    FieldDescriptor.TYPE_BOOL: ((bool,), "true or false"),
    FieldDescriptor.TYPE_ENUM: ((str, int), "an enum name or number"),
    FieldDescriptor.TYPE_DOUBLE: ((int, float, str), "a number"),
    FieldDescriptor.TYPE_FLOAT: ((int, float, str), "a number"),
    **{kind: ((int, str), "an integer") for kind in _INT_RANGES},
}


def _check_shape(value: dict[str, Any], descriptor: Descriptor, path: str, depth: int) -> None:
    """Each known key's JSON type against its field, so a wrong type gets a plain answer that
    names the key; values (ranges, enum names, timestamps) are json_format's to judge."""
    if depth > MAX_BODY_DEPTH:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, "the request body is nested too deeply"
        )
    fields = _fields_by_any_name(descriptor)
    for key in _hidden_names(descriptor).intersection(value):
        del value[key]  # gRPC-only fields cannot be set over REST, like any unknown key
    for key, item in value.items():
        known = fields.get(key)
        if known is None or item is None:  # unknown keys are ignored; null leaves a field unset
            continue
        where = f"{path}.{key}" if path else key
        entry = known.message_type
        if entry is not None and entry.GetOptions().map_entry:
            if not isinstance(item, dict):
                raise _wrong_type(where, "an object", item)
            for map_key, map_value in item.items():
                _check_value(entry.fields_by_name["value"], map_value, f"{where}.{map_key}", depth)
        elif known.is_repeated:
            if not isinstance(item, list):
                raise _wrong_type(where, "an array", item)
            for index, element in enumerate(item):
                _check_value(known, element, f"{where}[{index}]", depth)
        else:
            _check_value(known, item, where, depth)


def _check_value(field: FieldDescriptor, value: Any, where: str, depth: int) -> None:
    if value is None:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"invalid request body: {where!r} must not be null"
        )
    message_type = field.message_type
    if message_type is not None:
        # Well-known types (Timestamp, wrappers, Struct...) have their own JSON forms.
        if not message_type.full_name.startswith("google.protobuf."):
            if not isinstance(value, dict):
                raise _wrong_type(where, "an object", value)
            _check_shape(value, message_type, where, depth + 1)
        return
    accepted, expected = _JSON_KINDS.get(field.type, ((object,), ""))
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        raise _wrong_type(where, expected, value)


def _wrong_type(where: str, expected: str, value: Any) -> GatewayError:
    return GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"invalid request body: {where!r} must be {expected}, not {_json_kind(value)}",
    )


@cache
def _fields_by_any_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """A message's REST-visible fields under their JSON and proto names."""
    return _query_fields(descriptor, exclude=())


@cache
def _hidden_names(descriptor: Descriptor) -> frozenset[str]:
    return frozenset(
        name
        for field in descriptor.fields
        if not rest_visible(field)
        for name in (field.name, field.json_name)
    )


def _json_kind(value: Any) -> str:
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


def _parse_scalar(descriptor: FieldDescriptor, name: str, text: str) -> Any:
    """One query or path value as its field's type, refusing what the type cannot hold."""
    kind = descriptor.type
    if kind == FieldDescriptor.TYPE_STRING:
        return text
    if kind in _INT_RANGES:
        low, high, type_name = _INT_RANGES[kind]
        if not _INTEGER.fullmatch(text):
            raise _invalid(name, text, f"expected an integer ({type_name})")
        # Bound the digits before int(): a huge number is out of range whatever its value.
        number = int(text) if len(text) <= 24 else high + 1
        if not low <= number <= high:
            raise _invalid(name, text, f"out of range for {type_name}")
        return number
    if kind == FieldDescriptor.TYPE_BOOL:
        if text not in _BOOLEANS:
            raise _invalid(name, text, "expected true or false")
        return _BOOLEANS[text]
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if not _FLOAT.fullmatch(text):
            raise _invalid(name, text, "expected a number")
        real = float(text)
        if kind == FieldDescriptor.TYPE_FLOAT and abs(real) > _FLOAT32_MAX:
            raise _invalid(name, text, "out of range for float")
        if math.isinf(real):
            raise _invalid(name, text, "out of range for double")
        return real
    if descriptor.enum_type is not None:
        values = descriptor.enum_type.values_by_name
        if text in values:
            return values[text].number
        numbers = descriptor.enum_type.values_by_number
        if _INTEGER.fullmatch(text) and len(text) <= 12 and int(text) in numbers:
            return int(text)
        raise _invalid(name, text, f"expected one of {', '.join(values)}")
    if kind == FieldDescriptor.TYPE_BYTES:
        # Standard or URL-safe alphabet, padding optional; a `+` may arrive decoded as a space.
        standard = text.replace(" ", "+").replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(name, text, "expected base64") from None
    raise GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT, f"field {name!r} cannot be set from a query parameter"
    )


def _invalid(name: str, text: str, reason: str) -> GatewayError:
    shown = text if len(text) <= 32 else text[:32] + "..."
    return GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT, f"invalid value {shown!r} for {name!r}: {reason}"
    )


# grpc-gateway's Grpc-Timeout units (the gRPC wire format): hours down to nanoseconds.
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")


def parse_grpc_timeout(text: str) -> float:
    """`Grpc-Timeout: 5S` / `100m` to seconds; anything else is INVALID_ARGUMENT."""
    match = _TIMEOUT.fullmatch(text.strip())
    if match is None:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"invalid Grpc-Timeout header {text[:32]!r}: expected up to 8 digits and a unit "
            "(H, M, S, m, u, n), e.g. 5S or 100m",
        )
    return int(match[1]) * _TIMEOUT_UNITS[match[2]]
