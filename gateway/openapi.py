"""The OpenAPI 3.1 document, generated from the same descriptors and routes as the gateway."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from . import envelope, openapi_upload, rendering, schema_rules, streaming
from .envelope import Schema
from .routes import Route
from .spec import ApiSpec
from .visibility import rest_visible

OPENAPI_VERSION = "3.1.0"
# What the gateway writes: UTC with exactly three fraction digits (rendering.timestamp_text).
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
# What a request may send: any RFC 3339 time json_format reads, 0 to 9 fraction digits and
# "Z" or an offset (an upper-case "T" and "Z", as json_format requires).
TIMESTAMP_INPUT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 429, 500, 503, 504)
# Only routes that read a body answer these: too large, and not JSON.
BODY_ERROR_STATUSES = (413, 415)
NDJSON = "application/x-ndjson"
CSV = "text/csv"
# JSON Schema keywords that bound a list rather than each of its items.
_ARRAY_KEYWORDS = frozenset({"minItems", "maxItems", "uniqueItems"})
_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
_INT64_TEXT = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
_SCALARS: dict[int, Schema] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64_TEXT,
    FieldDescriptor.TYPE_SINT64: _INT64_TEXT,
    FieldDescriptor.TYPE_SFIXED64: _INT64_TEXT,
    FieldDescriptor.TYPE_UINT64: _INT64_TEXT,
    FieldDescriptor.TYPE_FIXED64: _INT64_TEXT,
}


def document(
    routes: Iterable[Route], spec: ApiSpec, comments: Mapping[str, str] | None = None
) -> Schema:
    """Paths for every route and /healthz; schemas for every message they reach.

    `comments` (proto_docs.leading_comments) become descriptions.
    """
    builder = _Builder(spec, comments or {})
    paths: dict[str, dict[str, Schema]] = {}
    bindings: dict[str, int] = {}
    services: dict[str, None] = {}  # in first-seen order
    statuses: tuple[int, ...] = ERROR_STATUSES + BODY_ERROR_STATUSES
    for route in routes:
        if route.uploading and not set(openapi_upload.UPLOAD_ERROR_STATUSES) <= set(statuses):
            statuses += openapi_upload.UPLOAD_ERROR_STATUSES
        services[route.method.containing_service.full_name] = None
        operation = builder.operation(route)
        # Additional bindings of one RPC need their own ids: GetThing, GetThing2, ...
        bindings[route.method.full_name] = count = bindings.get(route.method.full_name, 0) + 1
        if count > 1:
            operation["operationId"] += str(count)
        paths.setdefault(route.path, {})[route.http_method.lower()] = operation
    paths["/healthz"] = {"get": _health_operation(spec)}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": spec.title,
            "version": spec.version,
            "description": f"REST gateway to {', '.join(services)}; "
            "every response is a JSON envelope.",
        },
        "paths": paths,
        "components": {
            "schemas": {"ErrorEnvelope": envelope.error_schema(), **builder.schemas},
            "responses": {str(status): _error_response(status) for status in sorted(statuses)},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearerAuth": []}],
    }


class _Builder:
    """Operations and component schemas, each message's schema made once."""

    def __init__(self, spec: ApiSpec, comments: Mapping[str, str]) -> None:
        self.spec = spec
        self.comments = comments
        self.schemas: dict[str, Schema] = {}

    def operation(self, route: Route) -> Schema:
        method = route.method
        statuses = ERROR_STATUSES + (BODY_ERROR_STATUSES if route.body == "*" else ())
        if route.uploading:
            statuses += openapi_upload.UPLOAD_ERROR_STATUSES
        operation: Schema = {
            "operationId": method.name,
            "summary": f"{method.containing_service.full_name}/{method.name}",
            "tags": [method.containing_service.name],
            "parameters": self.parameters(route),
            "responses": {
                "200": self.stream_response(route) if route.streaming else self.success(route),
                **{
                    str(status): {"$ref": f"#/components/responses/{status}"}
                    for status in sorted(statuses)
                },
            },
        }
        if method.full_name in self.comments:
            operation["description"] = self.comments[method.full_name]
        if route.uploading:
            line = self.input_schema(method.input_type)
            operation["requestBody"] = openapi_upload.request_body(route, line)
        elif route.body == "*":
            body = self.input_schema(method.input_type)
            operation["requestBody"] = {
                "required": True,
                "description": "JSON object; keys by JSON or proto name, unknown keys ignored.",
                "content": {"application/json": {"schema": body}},
            }
        return operation

    def parameters(self, route: Route) -> list[Schema]:
        """The path's variables, the query's scalar fields (unless the body takes them all), and
        the request-id header."""
        fields = route.method.input_type.fields_by_name
        parameters = [self.parameter(fields[name], "path") for name in route.path_fields]
        if route.body != "*" or route.uploading:
            # query_fields holds each field twice (proto and JSON name); list it once.
            for field in {field.name: field for field in route.query_fields.values()}.values():
                if field.message_type is None:
                    parameters.append(self.parameter(field, "query"))
        parameters.append(_REQUEST_ID_PARAMETER)
        return parameters

    def payload_schema(self, route: Route) -> Schema:
        """What rendering.payload gives: the response_body field or the message; null if empty."""
        output = route.method.output_type
        if route.response_items:
            return self.message_schema(self.payload_type(route))
        if route.response_body:
            field = output.fields_by_name[route.response_body]
            if field.message_type is not None and not field.is_repeated:
                return {"oneOf": [self.message_schema(field.message_type), {"type": "null"}]}
            return self.field_schema(field)
        if not any(map(rest_visible, output.fields)):
            return {"type": "null"}
        return self.message_schema(output)

    def success(self, route: Route) -> Schema:
        message = self.spec.success_message(route.method.full_name)
        schema = envelope.success_schema(message, self.payload_schema(route))
        return {
            "description": message,
            "headers": _request_id_header(),
            "content": {"application/json": {"schema": schema}},
        }

    def stream_response(self, route: Route) -> Schema:
        """A stream: NDJSON lines (each the message schema, the last one maybe an error
        envelope) or, with `Accept: text/csv`, CSV with a header row."""
        payload = self.payload_schema(route)
        columns = streaming.columns(self.payload_type(route))
        per = "item of each message" if route.response_items else "message"
        return {
            "description": f"The stream, one {per} per NDJSON line (default) or CSV row "
            "(Accept: text/csv). A failure after the first line ends NDJSON with an error "
            "envelope line and cuts CSV off without its last chunk.",
            "headers": _request_id_header(),
            "content": {
                NDJSON: {"schema": payload},
                CSV: {"schema": openapi_upload.stream_csv_schema(route, columns)},
            },
        }

    @staticmethod
    def payload_type(route: Route) -> Any:
        """The message (a Descriptor) each line of a stream renders."""
        output = route.method.output_type
        name = route.response_items or route.response_body
        return output.fields_by_name[name].message_type if name else output

    def parameter(self, field: FieldDescriptor, location: str) -> Schema:
        schema = self.field_schema(field)
        schema.pop("description", None)  # said once, on the parameter
        parameter: Schema = {
            # A path parameter must match the template, which keeps the proto name; a query
            # parameter is read by its JSON name.
            "name": field.name if location == "path" else field.json_name,
            "in": location,
            "required": location == "path" or schema_rules.required(field),
            "schema": schema,
        }
        if field.full_name in self.comments:
            parameter["description"] = self.comments[field.full_name]
        if field.is_repeated:
            parameter |= {"style": "form", "explode": True}
        return parameter

    def message_schema(self, descriptor: Descriptor) -> Schema:
        """A $ref to the message's component schema, made (with its fields') on first use."""
        name = descriptor.full_name
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder first, for recursive messages
            fields = sorted(filter(rest_visible, descriptor.fields), key=lambda f: f.number)
            schema: Schema = {
                "type": "object",
                "properties": {field.json_name: self.field_schema(field) for field in fields},
                "required": [field.json_name for field in fields if self.always_rendered(field)],
                "additionalProperties": False,
            }
            if name in self.comments:
                schema["description"] = self.comments[name]
            self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def input_schema(self, descriptor: Descriptor, rules: bool = True) -> Schema:
        """A request body's schema: any field may be left out or null, unknown keys are
        ignored, enums take names or numbers; component `<name>.Input`.

        Without `rules` (a message reached through items the rules ignore, e.g. batch items
        answered one by one), no field carries buf.validate keywords: component
        `<name>.UncheckedInput`, so that an item breaking them is no reason for a 400."""
        name = f"{descriptor.full_name}.{'Input' if rules else 'UncheckedInput'}"
        if name not in self.schemas:
            self.schemas[name] = {}
            fields = sorted(filter(rest_visible, descriptor.fields), key=lambda f: f.number)
            properties = {}
            for field in fields:
                schema = self.field_schema(field, inputs=True, rules=rules)
                properties[field.json_name] = {"anyOf": [schema, {"type": "null"}]}
            schema = {"type": "object", "properties": properties}
            if descriptor.full_name in self.comments:
                schema["description"] = self.comments[descriptor.full_name]
            self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def field_schema(
        self, field: FieldDescriptor, inputs: bool = False, rules: bool = True
    ) -> Schema:
        """The field's schema: its value's, its buf.validate keywords (when `rules`) and the
        spec's own bounds; an array of them for a repeated field."""
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            value = self.value_schema(message_type.fields_by_name["value"], inputs, rules)
            return {"type": "object", "additionalProperties": value}
        schema = self.value_schema(field, inputs, rules)
        bounds = self.spec.field_bounds.get(field.full_name, {})
        if field.is_repeated:
            return self._array_schema(field, schema, bounds, rules)
        if "$ref" in schema:
            return schema
        schema = schema | dict(bounds)
        if field.full_name in self.comments:
            schema = schema | {"description": self.comments[field.full_name]}
        return schema

    def _array_schema(
        self, field: FieldDescriptor, item: Schema, bounds: Mapping[str, Any], rules: bool
    ) -> Schema:
        """A repeated field: the bounds that are about each item go on the items, the rest
        (the proto's buf.validate item count, then the spec's own) on the array."""
        item_bounds = {k: v for k, v in bounds.items() if k not in _ARRAY_KEYWORDS}
        if item_bounds and "$ref" not in item:
            item = item | item_bounds
        array_bounds = {k: v for k, v in bounds.items() if k in _ARRAY_KEYWORDS}
        array = (schema_rules.array_keywords(field) if rules else {}) | array_bounds
        return {"type": "array", "items": item} | array

    def value_schema(
        self, field: FieldDescriptor, inputs: bool = False, rules: bool = True
    ) -> Schema:
        """One value's schema, without the field's bounds (field_schema adds them)."""
        if field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                return _timestamp_schema(inputs)
            if inputs:
                checked = rules and not schema_rules.items_ignored(field)
                return self.input_schema(field.message_type, checked)
            return self.message_schema(field.message_type)
        if field.enum_type is not None:
            names: Schema = {"type": "string", "enum": [v.name for v in field.enum_type.values]}
            if inputs:
                numbers = [value.number for value in field.enum_type.values]
                return {"anyOf": [names, {"type": "integer", "enum": numbers}]}
            return names
        # The proto's buf.validate rules: what the service checks.
        return _SCALARS[field.type] | (schema_rules.value_keywords(field) if rules else {})

    def always_rendered(self, field: FieldDescriptor) -> bool:
        """Required exactly when message_to_dict always writes the field (or the API says the
        service always sets it)."""
        written = rendering.written_when(field)
        return written is rendering.Written.ALWAYS or field.full_name in self.spec.always_set


_REQUEST_ID_PARAMETER: Schema = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "description": "Echoed back; a new one is made when absent or not 1-128 of [A-Za-z0-9._:-].",
    "schema": {"type": "string"},
}


def _timestamp_schema(inputs: bool) -> Schema:
    """A Timestamp as JSON: what a request may send (any RFC 3339 time), or what is written."""
    pattern = TIMESTAMP_INPUT_PATTERN if inputs else TIMESTAMP_PATTERN
    return {"type": "string", "format": "date-time", "pattern": pattern}


def _error_response(status: int) -> Schema:
    headers = _request_id_header()
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": {"type": "string", "const": "Bearer"}}
    if status == 405:
        headers["Allow"] = {"schema": {"type": "string"}}
    return {
        "description": envelope.short_message(status),
        "headers": headers,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


def _request_id_header() -> dict[str, Schema]:
    return {"X-Request-Id": {"schema": {"type": "string", "minLength": 1, "maxLength": 128}}}


def _health_operation(spec: ApiSpec) -> Schema:
    schema = {
        "type": "object",
        "properties": {
            "status": {"enum": ["SERVING", "NOT_SERVING"]},
            spec.health_key: {"type": "string"},
        },
        "required": ["status", spec.health_key],
    }
    content = {"application/json": {"schema": schema}}
    return {
        "operationId": "Healthz",
        "summary": f"200 while the gateway and the {spec.upstream_name} are both serving, "
        "else 503.",
        "security": [],
        "responses": {
            "200": {"description": "Serving", "content": content},
            "503": {"description": "Not serving", "content": content},
        },
    }
