"""The OpenAPI document: valid, generated from the descriptors, and true to the renderer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import orjson
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from dnc.v1 import dnc_pb2
from gateway import envelope, openapi, rendering
from gateway.dnc_api import DNC_API
from gateway.errors import ErrorRenderer, GatewayError
from gateway.proto_docs import leading_comments
from gateway.routes import routes_from_files

Schema = dict[str, Any]
ERROR_STATUSES = ["400", "401", "403", "404", "405", "409", "429", "500", "503", "504"]


@pytest.fixture(scope="module")
def document() -> Schema:
    # Served as orjson bytes, so check the document after that round trip.
    files = [dnc_pb2.DESCRIPTOR]
    built = openapi.document(routes_from_files(files), DNC_API, leading_comments(files))
    loaded: Schema = orjson.loads(orjson.dumps(built))
    return loaded


def resolve(document: Schema, node: Any) -> Any:
    """Inline local $refs (the document has no recursive ones) for a plain JSON Schema check."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(document, target)
        return {key: resolve(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(document, item) for item in node]
    return node


def operation(document: Schema) -> Schema:
    result: Schema = document["paths"]["/api/dnc/list"]["get"]
    return result


def test_the_document_is_valid_openapi(document: Schema) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_parameters_carry_the_proto_types_and_documented_bounds(document: Schema) -> None:
    parameters = {p["name"]: p for p in operation(document)["parameters"]}
    assert parameters["page"]["in"] == "query"
    assert parameters["page"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 1,
        "maximum": 2**31 - 1,
        "default": 1,
    }
    assert parameters["limit"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 1,
        "maximum": 100,
        "default": 10,
    }
    assert parameters["search"]["schema"] == {
        "type": "string",
        "maxLength": 128,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$",
    }
    assert not any(p["required"] for p in parameters.values())


def test_a_query_parameter_the_rules_require_is_required(document: Schema) -> None:
    history = document["paths"]["/api/dnc/history"]["get"]
    parameters = {p["name"]: p for p in history["parameters"] if p["in"] == "query"}
    assert {name: p["required"] for name, p in parameters.items()} == {
        "phoneNumber": True,
        "limit": False,
        "pageToken": False,
    }
    assert parameters["limit"]["schema"]["default"] == 20
    assert parameters["phoneNumber"]["schema"]["maxLength"] == 32
    ok = history["responses"]["200"]["content"]["application/json"]["schema"]
    assert resolve(document, ok)["properties"]["message"] == {
        "const": "DNC history fetched successfully"
    }


def test_descriptions_are_the_proto_comments(document: Schema) -> None:
    parameters = {p["name"]: p for p in operation(document)["parameters"]}
    assert parameters["page"]["description"] == (
        "Page number, starting at 1. Absent means 1; 0 or less is INVALID_ARGUMENT."
    )
    assert operation(document)["description"].startswith("ListDnc returns the caller's")
    entry = document["components"]["schemas"]["dnc.v1.DncEntry"]
    assert entry["description"].startswith("DncEntry is one number that must not be called.")
    assert entry["properties"]["_id"]["description"] == (
        "The entry's id: 24 lowercase hex characters."
    )


def test_files_without_a_descriptor_set_have_no_comments() -> None:
    from google.protobuf import timestamp_pb2

    assert leading_comments([timestamp_pb2.DESCRIPTOR]) == {}


def test_every_error_status_has_the_error_envelope(document: Schema) -> None:
    responses = operation(document)["responses"]
    assert sorted(responses) == sorted(["200", *ERROR_STATUSES])
    for status in ERROR_STATUSES:
        response = resolve(document, responses[status])
        schema = response["content"]["application/json"]["schema"]
        assert schema["properties"]["data"] == {"type": "null"}
        assert schema["required"] == ["message", "status", "code", "errorMessage", "data"]
    assert "WWW-Authenticate" in resolve(document, responses["401"])["headers"]
    assert "Allow" in resolve(document, responses["405"])["headers"]


def test_bearer_auth_is_required_except_for_health(document: Schema) -> None:
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/healthz"]["get"]["security"] == []


def success_schema(document: Schema) -> Schema:
    response = operation(document)["responses"]["200"]
    schema: Schema = resolve(document, response["content"]["application/json"]["schema"])
    return schema


def rendered_page(**entry_fields: Any) -> Any:
    entry = dnc_pb2.DncEntry(
        id="64e5f12345abcdef98765432", org_id="64e5f12345abcdef12345678", **entry_fields
    )
    entry.created_at.FromDatetime(datetime(2025, 5, 15, 10, 30, 0, 123456, tzinfo=UTC))
    response = dnc_pb2.ListDncResponse(
        dnc_list=[entry], pagination=dnc_pb2.Pagination(total=1, page=1, limit=10, total_pages=1)
    )
    body = envelope.success_body(
        DNC_API.success_message("dnc.v1.DncService.ListDnc"), rendering.message_to_dict(response)
    )
    return orjson.loads(body)


def test_rendered_responses_conform_to_the_document(document: Schema) -> None:
    validator = OAS31Validator(success_schema(document))
    validator.validate(rendered_page())
    validator.validate(rendered_page(phone_number="12125551234", batch_id="x", type="t"))
    error_schema = resolve(document, document["components"]["schemas"]["ErrorEnvelope"])
    response = ErrorRenderer().response(
        GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "page must be >= 1")
    )
    assert isinstance(response.body, bytes)
    OAS31Validator(error_schema).validate(orjson.loads(response.body))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("message",), "Something else"),
        (("status",), False),
        (("code",), 201),
        (("data", "dncList", 0, "_id"), "64E5F12345ABCDEF98765432"),
        (("data", "dncList", 0, "createdAt"), "2025-05-15T10:30:00Z"),
        (("data", "dncList", 0, "phoneNumber"), None),
        (("data", "dncList", 0, "extra"), "x"),
        (("data", "pagination", "total"), "1"),
        (("data", "pagination"), None),
    ],
)
def test_the_schema_rejects_what_the_seed_would_not_send(
    document: Schema, path: tuple[Any, ...], value: Any
) -> None:
    body = rendered_page(phone_number="12125551234")
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if value is None and path[-1] == "pagination":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    assert not OAS31Validator(success_schema(document)).is_valid(body)


def test_streamed_bodies_are_described_in_both_forms_with_their_query_and_408(
    document: Schema,
) -> None:
    scrub = document["paths"]["/api/dnc/scrub"]["post"]
    body = scrub["requestBody"]["content"]
    assert body["application/x-ndjson"]["schema"] == {
        "$ref": "#/components/schemas/dnc.v1.ScrubDncRequest.Input"
    }
    assert body["text/csv"]["schema"]["description"] == "phoneNumber"
    assert [parameter["name"] for parameter in scrub["parameters"]] == ["region", "X-Request-Id"]
    answer = scrub["responses"]["200"]["content"]
    # One line per input number: the batch's items, not the batch.
    assert answer["application/x-ndjson"]["schema"] == {
        "$ref": "#/components/schemas/dnc.v1.CheckResult"
    }
    assert "input, phoneE164, listed" in answer["text/csv"]["schema"]["description"]
    assert "408" in scrub["responses"]
    imported = document["paths"]["/api/dnc/import"]["post"]
    csv_columns = imported["requestBody"]["content"]["text/csv"]["schema"]["description"]
    assert csv_columns.startswith("phoneNumber, batchId, requestUUID, type, source, reason")
    assert [parameter["name"] for parameter in imported["parameters"]][:2] == ["dryRun", "region"]
    success = imported["responses"]["200"]["content"]["application/json"]["schema"]
    assert success["properties"]["message"]["const"] == "DNC list imported successfully"


@pytest.mark.parametrize(
    ("path", "method", "each"),
    [("/api/dnc/scrub", "post", "item of each message"), ("/api/dnc/export", "get", "message")],
)
def test_a_streams_answer_says_what_one_line_is_and_how_a_failure_ends_it(
    path: str, method: str, each: str
) -> None:
    # Built here, not by the module's fixture, so that mutation testing links this test to it.
    built = openapi.document(routes_from_files([dnc_pb2.DESCRIPTOR]), DNC_API, {})
    answer = built["paths"][path][method]["responses"]["200"]
    # A batch's stream (scrub) is one line per item; any other stream, one per message.
    assert answer["description"] == (
        f"The stream, one {each} per NDJSON line (default) or CSV row (Accept: text/csv). "
        "A failure after the first line ends NDJSON with an error envelope line and cuts CSV "
        "off without its last chunk."
    )
