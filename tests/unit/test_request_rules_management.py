"""The management requests' rules have one source too: each rule read from the proto's
buf.validate options is what the service enforces (with our text, naming the field) and what
the OpenAPI document states; batch items are checked one by one, never refusing the batch."""

from __future__ import annotations

import asyncio
import inspect
import re
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from buf.validate import validate_pb2
from dnc.v1 import dnc_pb2
from dnc_service import phones
from dnc_service.errors import InvalidArgument
from dnc_service.ids import HEX_ID_PATTERN
from dnc_service.validation import requests as mv
from dnc_service.validation import rules
from gateway import openapi
from gateway.dnc_api import DNC_API
from gateway.routes import routes_from_files

UUID = "550e8400-e29b-41d4-a716-446655440000"
PHONE = "12125551234"
NOW = datetime(2026, 5, 15, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.document(routes_from_files(DNC_API.files), DNC_API)


def body(document: dict[str, Any], message: str, field: str) -> dict[str, Any]:
    """A body field's schema (the non-null branch of its anyOf)."""
    schema = document["components"]["schemas"][f"dnc.v1.{message}"]["properties"][field]
    branch: dict[str, Any] = schema["anyOf"][0]
    return branch


def parameter(document: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    operation = next(iter(document["paths"][path].values()))
    found = next(p for p in operation["parameters"] if p["name"] == name)
    schema: dict[str, Any] = found["schema"]
    return schema


def declared(message: type[Message], name: str) -> validate_pb2.FieldRules:
    return rules.field_rules(cast(Descriptor, message.DESCRIPTOR), name)


def parse_add(request: dnc_pb2.AddDncRequest) -> Any:
    return mv.parse_add(request, NOW)


def parse_batch(request: dnc_pb2.BatchAddDncRequest) -> Any:
    return mv.parse_batch(request, NOW)


def refused(parse: Any, request: Message) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        run(parse, request)
    return raised.value


def run(parse: Any, request: Message) -> Any:
    """`parse(request)`, awaited when it is one of the (async) many-item parsers."""
    parsed = parse(request)
    return asyncio.run(parsed) if inspect.iscoroutine(parsed) else parsed


def add(**fields: Any) -> dnc_pb2.AddDncRequest:
    return dnc_pb2.AddDncRequest(**({"phone_number": PHONE} | fields))


def test_phone_number_is_required_and_bounded_once(document: dict[str, Any]) -> None:
    rule = declared(dnc_pb2.AddDncRequest, "phone_number")
    assert rule.required
    assert rule.string.max_len == phones.MAX_PHONE_CHARS == 32
    assert body(document, "AddDncRequest.Input", "phoneNumber")["maxLength"] == 32
    error = refused(parse_add, add(phone_number="1" * 33))
    assert (error.field, error.message) == (
        "phone_number",
        "phone_number must be at most 32 characters, got 33",
    )
    assert refused(parse_add, add(phone_number="")).message == "phone_number is required"
    # CheckDnc's numbers are bounded by the same rule, one answer per number.
    checked = asyncio.run(mv.parse_check(dnc_pb2.CheckDncRequest(phone_numbers=["1" * 33])))
    assert (checked.valid, list(checked.invalid)) == ({}, [0])
    assert checked.invalid[0].message == "phone number must be at most 32 characters"


def test_batch_id_and_remove_id_share_the_hex_rule(document: dict[str, Any]) -> None:
    batch_id = declared(dnc_pb2.AddDncRequest, "batch_id").string.pattern
    entry_id = declared(dnc_pb2.RemoveDncRequest, "id").string.pattern
    assert batch_id == entry_id == HEX_ID_PATTERN
    assert body(document, "AddDncRequest.Input", "batchId")["pattern"] == batch_id
    assert parameter(document, "/api/dnc/delete/{id}", "id")["pattern"] == entry_id
    error = refused(parse_add, add(batch_id="g" * 24))
    assert (error.field, error.message) == (
        "batch_id",
        "batch_id must be 24 hexadecimal characters",
    )
    error = refused(mv.parse_remove, dnc_pb2.RemoveDncRequest(id="abc"))
    assert (error.field, error.message) == ("id", "id must be 24 hexadecimal characters")
    assert re.fullmatch(entry_id, "64E5F12345ABCDEF12345678")


@pytest.mark.parametrize("spelling", [f"urn:uuid:{UUID}", f"{{{UUID}}}", UUID.replace("-", "")])
def test_request_uuid_is_the_uuid_rule(document: dict[str, Any], spelling: str) -> None:
    assert declared(dnc_pb2.AddDncRequest, "request_uuid").string.uuid
    assert body(document, "AddDncRequest.Input", "requestUUID")["format"] == "uuid"
    error = refused(parse_add, add(request_uuid=spelling))
    assert (error.field, error.message) == (
        "request_uuid",
        f"request_uuid must be a UUID, e.g. {UUID}",
    )
    assert parse_add(add(request_uuid=UUID.upper())).request_uuid == UUID


def test_type_is_bounded_and_control_free_once(document: dict[str, Any]) -> None:
    rule = declared(dnc_pb2.AddDncRequest, "type").string
    assert (rule.max_len, rule.pattern) == (64, rules.CONTROL_FREE_PATTERN)
    schema = body(document, "AddDncRequest.Input", "type")
    assert (schema["maxLength"], schema["pattern"]) == (64, rule.pattern)
    error = refused(parse_add, add(type="t" * 65))
    assert (error.field, error.message) == ("type", "type must be at most 64 characters, got 65")
    assert refused(parse_add, add(type="a\x85b")).message == (
        "type must not contain control characters"
    )
    assert parse_add(add(type=" " + "t" * 63)).type == "t" * 63


def test_export_search_has_list_search_rules(document: dict[str, Any]) -> None:
    export = declared(dnc_pb2.ExportDncRequest, "search")
    assert export == declared(dnc_pb2.ListDncRequest, "search")
    schema = parameter(document, "/api/dnc/export", "search")
    assert schema == parameter(document, "/api/dnc/list", "search")
    assert (schema["maxLength"], schema["pattern"]) == (128, export.string.pattern)
    error = refused(mv.parse_export, dnc_pb2.ExportDncRequest(search="x" * 129))
    assert (error.field, error.message) == (
        "search",
        "search must be at most 128 characters, got 129",
    )
    assert mv.parse_export(dnc_pb2.ExportDncRequest(search=" +1 212 ")) == "+1 212"


@pytest.mark.parametrize(
    ("message", "field", "json_name"),
    [(dnc_pb2.BatchAddDncRequest, "entries", "entries"),
     (dnc_pb2.CheckDncRequest, "phone_numbers", "phoneNumbers")],
)  # fmt: skip
def test_batch_sizes_are_the_item_count_rules(
    document: dict[str, Any], message: Any, field: str, json_name: str
) -> None:
    count = declared(message, field).repeated
    assert (count.min_items, count.max_items) == (1, 1000)
    schema = body(document, f"{message.DESCRIPTOR.name}.Input", json_name)
    assert (schema["minItems"], schema["maxItems"]) == (1, 1000)
    item = dnc_pb2.AddDncRequest(phone_number=PHONE) if field == "entries" else PHONE
    parse = parse_batch if field == "entries" else mv.parse_check
    for size in (0, 1001):
        error = refused(parse, message(**{field: [item] * size}))
        assert (error.field, error.message) == (
            field,
            f"{field} must hold 1 to 1000 items, got {size}",
        )


def test_batch_items_are_checked_one_by_one_not_by_the_schema(document: dict[str, Any]) -> None:
    assert declared(dnc_pb2.BatchAddDncRequest, "entries").repeated.items.ignore == (
        validate_pb2.IGNORE_ALWAYS
    )
    entries = body(document, "BatchAddDncRequest.Input", "entries")
    assert entries["items"] == {"$ref": "#/components/schemas/dnc.v1.AddDncRequest.UncheckedInput"}
    unchecked = document["components"]["schemas"]["dnc.v1.AddDncRequest.UncheckedInput"]
    # No rule keywords: only each field's type (and a Timestamp's wire format).
    assert all(
        set(schema["anyOf"][0]) - {"format", "pattern"} == {"type"}
        for schema in unchecked["properties"].values()
    )
    items = asyncio.run(
        parse_batch(dnc_pb2.BatchAddDncRequest(entries=[add(), add(type="t" * 65)]))
    )
    assert (list(items.valid), list(items.invalid)) == ([0], [1])
    bad = items.invalid[1]
    assert (bad.field, bad.message) == (
        "entries[1].type",
        "entries[1].type must be at most 64 characters, got 65",
    )
