"""Routes from the google.api.http annotations, and HTTP requests to request messages."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import grpc

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
    """One HTTP binding of one unary RPC."""

    http_method: str
    path: str
    method: MethodDescriptor
    body: str = ""
    path_fields: tuple[str, ...] = ()
    query_fields: Mapping[str, FieldDescriptor] = field(default_factory=dict)

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
            _merge_json_body(message, body)
        else:
            _merge_query(message, self.query_fields, query)
        fields = self.method.input_type.fields_by_name
        for name in self.path_fields:
            value = (path_params or {}).get(name, "")
            _set(message, fields[name], [_parse_scalar(fields[name], name, value)])
        return message


def routes_from_files(files: Iterable[FileDescriptor]) -> list[Route]:
    """Every google.api.http binding (additional_bindings too) of every unary RPC."""
    routes: list[Route] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                if not options.HasExtension(annotations_pb2.http):
                    continue
                if method.client_streaming or method.server_streaming:
                    raise ValueError(f"{method.full_name}: streaming RPCs are not transcoded")
                rule = options.Extensions[annotations_pb2.http]
                routes.append(_route(method, rule))
                routes.extend(_route(method, extra) for extra in rule.additional_bindings)
    return routes


def _route(method: MethodDescriptor, rule: http_pb2.HttpRule) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind not in _VERBS:
        raise ValueError(f"{method.full_name}: HTTP pattern {kind!r} is not supported")
    path: str = getattr(rule, kind)
    if rule.body not in ("", "*") or rule.response_body:
        raise ValueError(f'{method.full_name}: only body "" or "*" and no response_body')
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


def _merge_json_body(message: Message, body: bytes) -> None:
    if not body.strip():
        return
    try:
        json_format.Parse(body, message, ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError) as error:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"invalid JSON body: {error}"
        ) from None


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
