"""The request rules have one source, the proto's buf.validate options: the service's check and
the OpenAPI document both follow them, and a breach names the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from buf.validate import validate_pb2
from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import MAX_PAGE_SIZE, PageTokens
from dnc_service.validation import requests as validation
from dnc_service.validation import rules
from gateway import openapi, schema_rules
from gateway.dnc_api import DNC_API
from gateway.routes import routes_from_files

LIST = dnc_pb2.ListDncRequest.DESCRIPTOR


def parse(request: dnc_pb2.ListDncRequest) -> validation.ListQuery:
    return validation.parse_list(request, "64e5f12345abcdef12345678", PageTokens([b"k" * 32]))


def declared(name: str) -> validate_pb2.FieldRules:
    return rules.field_rules(LIST, name)


@pytest.fixture(scope="module")
def parameters() -> dict[str, Any]:
    document = openapi.document(routes_from_files(DNC_API.files), DNC_API)
    listing = document["paths"]["/api/dnc/list"]["get"]["parameters"]
    return {parameter["name"]: parameter["schema"] for parameter in listing}


def refusal(**fields: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        parse(dnc_pb2.ListDncRequest(**fields))
    return raised.value


def test_the_limit_bound_is_the_proto_rule_in_the_service_and_the_document(
    parameters: dict[str, Any],
) -> None:
    limit = declared("limit").int32
    assert (limit.gte, limit.lte) == (1, 100)
    assert limit.lte == MAX_PAGE_SIZE  # the bound page tokens carry
    assert (parameters["limit"]["minimum"], parameters["limit"]["maximum"]) == (1, 100)
    assert parse(dnc_pb2.ListDncRequest(limit=limit.lte)).limit == limit.lte
    assert refusal(limit=limit.lte + 1).message == (
        f"limit must be an integer from {limit.gte} to {limit.lte}, got {limit.lte + 1}"
    )
    assert refusal(limit=limit.gte - 1).field == "limit"


def test_the_page_bound_is_the_proto_rule_in_the_service_and_the_document(
    parameters: dict[str, Any],
) -> None:
    page = declared("page").int32
    assert page.gte == parameters["page"]["minimum"] == 1
    assert not page.HasField("lte")
    assert refusal(page=page.gte - 1).message == "page must be an integer >= 1, got 0"


def test_the_search_rules_are_the_proto_rules_in_the_service_and_the_document(
    parameters: dict[str, Any],
) -> None:
    search = declared("search").string
    assert parameters["search"]["maxLength"] == search.max_len == 128
    assert parameters["search"]["pattern"] == search.pattern == rules.CONTROL_FREE_PATTERN
    accepted = parse(dnc_pb2.ListDncRequest(search="é" * search.max_len))
    assert accepted.search == "é" * search.max_len
    too_long = "x" * (search.max_len + 1)
    assert refusal(search=too_long).message == "search must be at most 128 characters, got 129"


@pytest.mark.parametrize("text", ["a\x00b", "\x07", "tab\there", "\x7f", "c1\x85", "\x9f"])
def test_control_characters_are_refused_by_the_service_and_the_document(
    parameters: dict[str, Any], text: str
) -> None:
    error = refusal(search=text)
    assert (error.message, error.field) == ("search must not contain control characters", "search")
    # JSON Schema patterns are ECMA-262; Python's re reads this one the same way.
    assert re.search(parameters["search"]["pattern"], text) is None


@pytest.mark.parametrize("text", ["+1 (212) 555", "customer_request", "é€😀", " padded "])
def test_printable_searches_pass_both(parameters: dict[str, Any], text: str) -> None:
    assert parse(dnc_pb2.ListDncRequest(search=text)).search == text.strip()
    assert re.search(parameters["search"]["pattern"], text) is not None


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"page": 0}, "page"), ({"limit": 0}, "limit"), ({"search": "\x00"}, "search")],
)
def test_a_bad_value_reports_its_field(fields: dict[str, Any], field: str) -> None:
    assert refusal(**fields).field == field


def test_the_first_breach_in_field_order_is_reported() -> None:
    error = refusal(page=-1, limit=500, search="\x00")
    assert (error.field, error.message) == ("page", "page must be an integer >= 1, got -1")


def test_page_with_page_token_is_the_proto_message_rule() -> None:
    declared = LIST.GetOptions().Extensions[validate_pb2.message].cel
    assert [rule.message for rule in declared] == ["give page or page_token, not both"]
    assert refusal(page=2, page_token="anything").message == "give page or page_token, not both"


def fields_with_rules(message: Descriptor) -> Iterator[FieldDescriptor]:
    for field in message.fields:
        if field.GetOptions().HasExtension(validate_pb2.field):
            yield field


def all_request_messages() -> list[Descriptor]:
    service = dnc_pb2.DESCRIPTOR.services_by_name["DncService"]
    return [method.input_type for method in service.methods]


@pytest.mark.parametrize("message", all_request_messages(), ids=lambda m: m.name)
def test_every_pattern_in_the_proto_has_words(message: Descriptor) -> None:
    """A pattern without a meaning would surface as a regex in an error text."""
    for field in fields_with_rules(message):
        declared = field.GetOptions().Extensions[validate_pb2.field]
        string = declared.repeated.items.string if field.is_repeated else declared.string
        if string.HasField("pattern"):
            assert string.pattern in rules.PATTERN_MEANINGS, field.full_name


@pytest.mark.parametrize("message", all_request_messages(), ids=lambda m: m.name)
def test_every_rule_with_a_schema_keyword_reaches_the_document(message: Descriptor) -> None:
    """What schema_rules translates is what the service checks: both read the same options."""
    for field in fields_with_rules(message):
        declared = field.GetOptions().Extensions[validate_pb2.field]
        keywords = schema_rules.value_keywords(field) | schema_rules.array_keywords(field)
        string = declared.repeated.items.string if field.is_repeated else declared.string
        if string.HasField("max_len"):
            assert keywords["maxLength"] == string.max_len, field.full_name
        if declared.repeated.HasField("max_items"):
            assert keywords["maxItems"] == declared.repeated.max_items, field.full_name


def search_of(raw: str) -> str:
    return validation.parse_export(dnc_pb2.ExportDncRequest(search=raw))


def test_a_search_of_another_request_follows_list_dnc_search_rules() -> None:
    assert search_of("  +1 212  ") == "+1 212"
    with pytest.raises(InvalidArgument) as raised:
        search_of("x" * 129)
    assert (raised.value.field, raised.value.message) == (
        "search",
        "search must be at most 128 characters, got 129",
    )
    with pytest.raises(InvalidArgument, match=r"^search must not contain control characters$"):
        search_of("a\x00")
