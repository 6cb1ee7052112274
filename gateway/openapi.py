"""The OpenAPI 3.1 document, generated from the same descriptors and routes as the gateway."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from . import envelope, rendering
from .envelope import Schema
from .routing import Route
from .spec import ApiSpec
from .visibility import rest_visible

OPENAPI_VERSION = "3.1.0"
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
ERROR_STATUSES = (400, 401, 403, 404, 405, 429, 500, 503, 504)
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
    for route in routes:
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
            "responses": {str(status): _error_response(status) for status in ERROR_STATUSES},
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
        fields = method.input_type.fields_by_name
        parameters = [self.parameter(fields[name], "path") for name in route.path_fields]
        if route.body != "*":
            # query_fields holds each field twice (proto and JSON name); list it once.
            for field in {field.name: field for field in route.query_fields.values()}.values():
                if field.message_type is None:
                    parameters.append(self.parameter(field, "query"))
        parameters.append(_REQUEST_ID_PARAMETER)
        message = self.spec.success_message(method.full_name)
        success = envelope.success_schema(message, self.message_schema(method.output_type))
        operation: Schema = {
            "operationId": method.name,
            "summary": f"{method.containing_service.full_name}/{method.name}",
            "tags": [method.containing_service.name],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": message,
                    "headers": _request_id_header(),
                    "content": {"application/json": {"schema": success}},
                },
                **{
                    str(status): {"$ref": f"#/components/responses/{status}"}
                    for status in ERROR_STATUSES
                },
            },
        }
        if method.full_name in self.comments:
            operation["description"] = self.comments[method.full_name]
        if route.body == "*":
            body = self.message_schema(method.input_type)
            operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
        return operation

    def parameter(self, field: FieldDescriptor, location: str) -> Schema:
        schema = self.field_schema(field)
        schema.pop("description", None)  # said once, on the parameter
        parameter: Schema = {
            "name": field.json_name,
            "in": location,
            "required": location == "path",
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

    def field_schema(self, field: FieldDescriptor) -> Schema:
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            value = self.value_schema(message_type.fields_by_name["value"])
            return {"type": "object", "additionalProperties": value}
        schema = self.value_schema(field)
        if field.is_repeated:
            schema = {"type": "array", "items": schema}
        elif "$ref" not in schema and field.full_name in self.comments:
            schema = schema | {"description": self.comments[field.full_name]}
        return schema

    def value_schema(self, field: FieldDescriptor) -> Schema:
        if field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                return {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}
            return self.message_schema(field.message_type)
        if field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        return _SCALARS[field.type] | dict(self.spec.field_bounds.get(field.full_name, {}))

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
