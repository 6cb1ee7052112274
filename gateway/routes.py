"""The route table: one Route per google.api.http binding of the API's descriptors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

# googleapis-common-protos ships .pyi files but no py.typed marker.
from google.api import annotations_pb2, http_pb2  # type: ignore[import-untyped]
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from multidict import MultiMapping

from . import transcoding
from .visibility import rest_fields, rest_visible

_VERBS = ("get", "put", "post", "delete", "patch")
_TEMPLATE_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LITERAL_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC: unary, server-, client- or bidirectionally streaming."""

    http_method: str
    path: str
    method: MethodDescriptor
    body: str = ""
    path_fields: tuple[str, ...] = ()
    # The fields path variables and the query may set, by name (the query's by JSON name too).
    path_bound: Mapping[str, FieldDescriptor] = field(default_factory=dict)
    query_fields: Mapping[str, FieldDescriptor] = field(default_factory=dict)
    # The response field whose value is the HTTP payload; "" for the whole response message.
    response_body: str = ""
    # A streamed response message that is only a batch (its one REST-visible field is a
    # repeated message): that field, whose items are the stream's lines; "" otherwise.
    response_items: str = ""
    # A streamed request's one repeated REST-visible field: what a CSV row is an item of.
    upload_field: FieldDescriptor | None = None

    @property
    def streaming(self) -> bool:
        """A server-streaming RPC: each message of the stream is one item of the payload."""
        return bool(self.method.server_streaming)

    @property
    def uploading(self) -> bool:
        """A client- or bidi-streaming RPC: the body is a stream of request messages."""
        return bool(self.method.client_streaming)

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
            transcoding.merge_json_body(message, body, self.method.input_type)
        else:
            transcoding.merge_query(message, self.query_fields, query)
        transcoding.merge_path(message, self.path_bound, path_params or {})
        return message

    def stream_template(
        self, query: MultiMapping[str], path_params: Mapping[str, str] | None = None
    ) -> Message:
        """What the query and path set on every message of a streamed body (they override
        the line's values); GatewayError (INVALID_ARGUMENT) before any byte of the body is read."""
        message = self.request_class()
        transcoding.merge_query(message, self.query_fields, query)
        transcoding.merge_path(message, self.path_bound, path_params or {})
        return message


def routes_from_files(files: Iterable[FileDescriptor]) -> list[Route]:
    """Every google.api.http binding (additional_bindings too) of every RPC."""
    routes: list[Route] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                if not options.HasExtension(annotations_pb2.http):
                    continue
                rule = options.Extensions[annotations_pb2.http]
                routes.append(_route(method, rule))
                routes.extend(_route(method, extra) for extra in rule.additional_bindings)
    return routes


def _route(method: MethodDescriptor, rule: http_pb2.HttpRule) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind not in _VERBS:
        raise ValueError(f"{method.full_name}: HTTP pattern {kind!r} is not supported")
    if rule.body not in ("", "*"):
        raise ValueError(f'{method.full_name}: only body "" or "*" is supported')
    if rule.response_body:
        _check_response_body(method, rule.response_body)
    if method.client_streaming and rule.body != "*":
        raise ValueError(f'{method.full_name}: a client stream needs body "*" (one per line)')
    path: str = getattr(rule, kind)
    path_fields = _path_fields(method, path)
    query_fields = rest_fields(method.input_type, exclude=path_fields)
    upload_field = None
    if method.client_streaming:
        upload_field = _only_repeated(method.input_type)
        query_fields = _scalars(query_fields)
    return Route(
        http_method=kind.upper(),
        path=path,
        method=method,
        body=rule.body,
        path_fields=path_fields,
        path_bound={name: method.input_type.fields_by_name[name] for name in path_fields},
        query_fields=query_fields,
        response_body=rule.response_body,
        response_items=_batch_field(method, rule.response_body),
        upload_field=upload_field,
    )


def _scalars(fields: Mapping[str, FieldDescriptor]) -> dict[str, FieldDescriptor]:
    """A streamed body's query fields: every message gets their values, so scalars only (never
    the body's list)."""
    return {
        name: field
        for name, field in fields.items()
        if not field.is_repeated and field.message_type is None
    }


def _only_repeated(message: Descriptor) -> FieldDescriptor | None:
    """The message's one repeated REST-visible field; None when it has none or several."""
    repeated = [field for field in message.fields if field.is_repeated and rest_visible(field)]
    return repeated[0] if len(repeated) == 1 else None


def _batch_field(method: MethodDescriptor, response_body: str) -> str:
    """For a stream whose messages only carry a batch of items (a scrub's results): the
    batch's field, so that REST streams one line per item rather than one per message."""
    if not method.server_streaming or response_body:
        return ""
    visible = [field for field in method.output_type.fields if rest_visible(field)]
    if len(visible) != 1 or not visible[0].is_repeated or visible[0].message_type is None:
        return ""
    return "" if visible[0].message_type.GetOptions().map_entry else str(visible[0].name)


def _check_response_body(method: MethodDescriptor, name: str) -> None:
    chosen = method.output_type.fields_by_name.get(name)
    if chosen is None or not rest_visible(chosen):
        raise ValueError(
            f"{method.full_name}: response_body {name!r} must name a field "
            f"of {method.output_type.full_name}"
        )
    if method.server_streaming and (chosen.message_type is None or chosen.is_repeated):
        raise ValueError(
            f"{method.full_name}: a stream's response_body must name a singular message "
            "field (each message is one NDJSON line or CSV row)"
        )


def _path_fields(method: MethodDescriptor, path: str) -> tuple[str, ...]:
    """The template's variables: literal segments and whole-segment {field} variables only
    (not {f=pattern}, ** or :verb), each naming a scalar request field."""
    segments = path.split("/")
    if segments[0] or not all(
        _LITERAL_SEGMENT.fullmatch(part) or _TEMPLATE_VARIABLE.fullmatch(part)
        for part in segments[1:]
    ):
        raise ValueError(f"{method.full_name}: path template {path!r} is not supported")
    names = tuple(_TEMPLATE_VARIABLE.findall(path))
    for name in names:
        bound = method.input_type.fields_by_name.get(name)
        if bound is None or bound.is_repeated or bound.type == FieldDescriptor.TYPE_MESSAGE:
            raise ValueError(f"{method.full_name}: {{{name}}} must name a scalar request field")
    return names
