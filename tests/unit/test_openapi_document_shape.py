"""The whole OpenAPI document of a small made-up API, pinned: every key a client generator reads.

A made-up file (not the DNC proto, which other changes extend) so that the expected document
is short enough to read: one GET with a path field and query fields, a POST body binding of
the same RPC, a map, an enum, a timestamp, a repeated field, a recursive message and a
gRPC-only field.
"""

from __future__ import annotations

from typing import Any

import pytest
from descriptor_support import REPEATED, Field, FieldSpec, FileBuilder, add_field
from google.api import visibility_pb2  # type: ignore[import-untyped]
from google.protobuf.descriptor import FileDescriptor
from openapi_spec_validator import validate

from gateway import openapi
from gateway.envelope import error_schema
from gateway.routes import routes_from_files
from gateway.spec import ApiSpec

PACKAGE = "gwtest.shape.v1"
Schema = dict[str, Any]


def shape_file(path_field: str = "id") -> FileDescriptor:
    """The made-up file; its GET binds `path_field` in the path (each variant its own package)."""
    package = PACKAGE if path_field == "id" else f"gwtest.shape{path_field.replace('_', '')}.v1"
    file = FileBuilder(
        f"{package.replace('.', '/')}/shape.proto",
        package,
        "google/api/annotations.proto",
        "google/api/visibility.proto",
        "google/protobuf/timestamp.proto",
    )
    file.enum("Size", "SIZE_UNSPECIFIED", "LARGE")
    item = file.message("Item")
    file.map_entry(item, "TallyEntry", Field.TYPE_INT64)
    item.oneof_decl.add(name="_note")
    fields: list[FieldSpec] = [
        ("id", Field.TYPE_STRING, {}),
        ("count", Field.TYPE_INT32, {}),
        ("page_size", Field.TYPE_INT32, {"json_name": "pageSize"}),
        ("item_id", Field.TYPE_STRING, {"json_name": "itemId"}),
        ("tags", Field.TYPE_STRING, REPEATED),
        ("size", Field.TYPE_ENUM, {"type_name": file.type_name("Size")}),
        ("at", Field.TYPE_MESSAGE, {"type_name": ".google.protobuf.Timestamp"}),
        ("tally", Field.TYPE_MESSAGE, {"type_name": file.type_name("Item.TallyEntry")} | REPEATED),
        ("parent", Field.TYPE_MESSAGE, {"type_name": file.type_name("Item")}),
        ("note", Field.TYPE_STRING, {"oneof_index": 0, "proto3_optional": True}),
        ("secret", Field.TYPE_STRING, {}),
    ]
    for field_name, kind, extra in fields:
        add_field(item, field_name, kind, **extra)
    secret = item.field[-1].options.Extensions[visibility_pb2.field_visibility]
    secret.restriction = "INTERNAL"
    rule = file.rpc("Items", "GetItem", "Item", "Item")
    rule.get = f"/v1/items/{{{path_field}}}"
    rule.additional_bindings.add(post="/v1/items", body="*")
    return file.build()


def spec() -> ApiSpec:
    return ApiSpec(
        files=(shape_file(),),
        title="Items API",
        upstream_name="item store",
        health_key="items",
        success_messages={f"{PACKAGE}.Items.GetItem": "Item found"},
        field_bounds={f"{PACKAGE}.Item.count": {"minimum": 1}},
        always_set=frozenset({f"{PACKAGE}.Item.at"}),
        version="2.3.4",
    )


COMMENTS = {
    f"{PACKAGE}.Items.GetItem": "GetItem returns one item.",
    f"{PACKAGE}.Item": "Item is a thing.",
    f"{PACKAGE}.Item.count": "How many.",
    f"{PACKAGE}.Item.tags": "Labels.",
    f"{PACKAGE}.Item.parent": "The item above (a $ref carries no description).",
}

ERRORS = ["400", "401", "403", "404", "405", "409", "429", "500", "503", "504"]
BODY_ERRORS = ["413", "415"]  # only where a body is read
REQUEST_ID = {"schema": {"type": "string", "minLength": 1, "maxLength": 128}}
REQUEST_ID_PARAMETER = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "description": "Echoed back; a new one is made when absent or not 1-128 of [A-Za-z0-9._:-].",
    "schema": {"type": "string"},
}
ITEM_REF = {"$ref": f"#/components/schemas/{PACKAGE}.Item"}
TIMESTAMP = {"type": "string", "format": "date-time", "pattern": openapi.TIMESTAMP_PATTERN}
# A request may send any RFC 3339 time json_format reads, not only what the gateway writes.
TIMESTAMP_INPUT = {
    "type": "string", "format": "date-time", "pattern": openapi.TIMESTAMP_INPUT_PATTERN
}  # fmt: skip
INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "count": {**INT32, "minimum": 1, "description": "How many."},
        "pageSize": INT32,
        "itemId": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "size": {"type": "string", "enum": ["SIZE_UNSPECIFIED", "LARGE"]},
        "at": TIMESTAMP,
        "tally": {
            "type": "object",
            "additionalProperties": {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
        },
        "parent": ITEM_REF,
        "note": {"type": "string"},
    },
    # Numbers, lists, enums and maps are always written; `at` because the spec says so.
    "required": ["count", "pageSize", "tags", "size", "at", "tally"],
    "additionalProperties": False,
    "description": "Item is a thing.",
}
ITEM_INPUT_REF = {"$ref": f"#/components/schemas/{PACKAGE}.Item.Input"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


# A request body: any key may be absent or null, unknown keys allowed, enums by name or number.
ITEM_INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": nullable({"type": "string"}),
        "count": nullable({**INT32, "minimum": 1, "description": "How many."}),
        "pageSize": nullable(INT32),
        "itemId": nullable({"type": "string"}),
        "tags": nullable({"type": "array", "items": {"type": "string"}}),
        "size": nullable(
            {
                "anyOf": [
                    {"type": "string", "enum": ["SIZE_UNSPECIFIED", "LARGE"]},
                    {"type": "integer", "enum": [0, 1]},
                ]
            }
        ),
        "at": nullable(TIMESTAMP_INPUT),
        "tally": nullable(
            {
                "type": "object",
                "additionalProperties": {
                    "type": "string", "format": "int64", "pattern": "^-?[0-9]+$"
                },
            }
        ),
        "parent": nullable(ITEM_INPUT_REF),
        "note": nullable({"type": "string"}),
    },
    "description": "Item is a thing.",
}  # fmt: skip
SUCCESS = {
    "type": "object",
    "properties": {
        "message": {"const": "Item found"},
        "status": {"const": True},
        "code": {"const": 200},
        "errorMessage": {"const": ""},
        "data": ITEM_REF,
    },
    "required": ["message", "status", "code", "errorMessage", "data"],
    "additionalProperties": False,
}


def operation(operation_id: str, parameters: list[Schema], body: bool = False) -> Schema:
    errors = sorted(ERRORS + BODY_ERRORS) if body else ERRORS
    return {
        "operationId": operation_id,
        "summary": f"{PACKAGE}.Items/GetItem",
        "tags": ["Items"],
        "parameters": [*parameters, REQUEST_ID_PARAMETER],
        "responses": {
            "200": {
                "description": "Item found",
                "headers": {"X-Request-Id": REQUEST_ID},
                "content": {"application/json": {"schema": SUCCESS}},
            },
            **{status: {"$ref": f"#/components/responses/{status}"} for status in errors},
        },
        "description": "GetItem returns one item.",
    }


def query(name: str, schema: Schema, description: str | None = None) -> Schema:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description is not None:
        parameter["description"] = description
    return parameter


GET = operation(
    "GetItem",
    [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
        query("count", {**INT32, "minimum": 1}, "How many."),
        query("pageSize", INT32),
        query("itemId", {"type": "string"}),
        {**query("tags", {"type": "array", "items": {"type": "string"}}, "Labels."),
         "style": "form", "explode": True},
        query("size", {"type": "string", "enum": ["SIZE_UNSPECIFIED", "LARGE"]}),
        query("note", {"type": "string"}),
    ],
)  # fmt: skip
POST = operation("GetItem2", [], body=True) | {
    "requestBody": {
        "required": True,
        "description": "JSON object; keys by JSON or proto name, unknown keys ignored.",
        "content": {"application/json": {"schema": ITEM_INPUT_REF}},
    }
}
HEALTH_SCHEMA = {
    "type": "object",
    "properties": {"status": {"enum": ["SERVING", "NOT_SERVING"]}, "items": {"type": "string"}},
    "required": ["status", "items"],
}
HEALTH = {
    "operationId": "Healthz",
    "summary": "200 while the gateway and the item store are both serving, else 503.",
    "security": [],
    "responses": {
        "200": {
            "description": "Serving",
            "content": {"application/json": {"schema": HEALTH_SCHEMA}},
        },
        "503": {
            "description": "Not serving",
            "content": {"application/json": {"schema": HEALTH_SCHEMA}},
        },
    },
}


def error_response(description: str, **headers: Schema) -> Schema:
    return {
        "description": description,
        "headers": {"X-Request-Id": REQUEST_ID, **headers},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


EXPECTED = {
    "openapi": "3.1.0",
    "info": {
        "title": "Items API",
        "version": "2.3.4",
        "description": f"REST gateway to {PACKAGE}.Items; every response is a JSON envelope.",
    },
    "paths": {
        "/v1/items/{id}": {"get": GET},
        "/v1/items": {"post": POST},
        "/healthz": {"get": HEALTH},
    },
    "components": {
        "schemas": {
            "ErrorEnvelope": error_schema(),
            f"{PACKAGE}.Item": ITEM_SCHEMA,
            f"{PACKAGE}.Item.Input": ITEM_INPUT_SCHEMA,
        },
        "responses": {
            "400": error_response("Invalid request"),
            "401": error_response(
                "Unauthorized",
                **{"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
            ),
            "403": error_response("Forbidden"),
            "404": error_response("Not found"),
            "405": error_response("Method not allowed", Allow={"schema": {"type": "string"}}),
            "409": error_response("Conflict"),
            "413": error_response("Payload too large"),
            "415": error_response("Unsupported media type"),
            "429": error_response("Too many requests"),
            "500": error_response("Internal server error"),
            "503": error_response("Service unavailable"),
            "504": error_response("Gateway timeout"),
        },
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        },
    },
    "security": [{"bearerAuth": []}],
}


def build(comments: dict[str, str] | None = COMMENTS) -> Schema:
    return openapi.document(routes_from_files([shape_file()]), spec(), comments)


def test_the_whole_document() -> None:
    document = build()
    validate(document)
    assert document == EXPECTED


@pytest.mark.parametrize("comments", [None, {}])
def test_without_comments_nothing_is_described(comments: dict[str, str] | None) -> None:
    document = build(comments)
    get = document["paths"]["/v1/items/{id}"]["get"]
    assert "description" not in get
    assert all("description" not in p for p in get["parameters"][:-1])
    item = document["components"]["schemas"][f"{PACKAGE}.Item"]
    assert "description" not in item
    assert item["properties"]["count"] == {**INT32, "minimum": 1}


def test_a_described_map_or_timestamp_field_keeps_its_description() -> None:
    described = {f"{PACKAGE}.Item.at": "When.", f"{PACKAGE}.Item.size": "How big."}
    properties = build(described)["components"]["schemas"][f"{PACKAGE}.Item"]["properties"]
    assert properties["at"] == TIMESTAMP | {"description": "When."}
    assert properties["size"]["description"] == "How big."


def test_a_path_parameter_is_named_as_in_the_path_template() -> None:
    # The template keeps the proto name ({item_id}); the parameter must match it to resolve.
    routes = routes_from_files([shape_file("item_id")])
    get = openapi.document(routes, ApiSpec(files=(shape_file("item_id"),), title="t"))
    validate(get)


def test_the_description_names_every_service_once() -> None:
    files = [shape_file(), shape_file("item_id")]
    routes = [*routes_from_files(files), *routes_from_files(files[:1])]
    info = openapi.document(routes, ApiSpec(files=tuple(files), title="t"))["info"]
    assert info["description"] == (
        "REST gateway to gwtest.shape.v1.Items, gwtest.shapeitemid.v1.Items; "
        "every response is a JSON envelope."
    )
