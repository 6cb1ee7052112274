"""The JSON-type pre-check of request bodies: each wrong type named by its path in JSON's
words, null items refused, gRPC-only keys dropped, and the input left as it was."""

from __future__ import annotations

import copy
from typing import Any

import grpc
import pytest
from descriptor_support import REPEATED, Field, FileBuilder, add_field
from google.api import visibility_pb2  # type: ignore[import-untyped]
from google.protobuf.descriptor import Descriptor

from gateway import json_shape
from gateway.errors import GatewayError


def shape_file() -> Descriptor:
    file = FileBuilder(
        "gwtest/jsonshape/v1/shape.proto",
        "gwtest.jsonshape.v1",
        "google/api/visibility.proto",
        "google/protobuf/timestamp.proto",
    )
    order = file.message("Order")
    file.map_entry(order, "CountsEntry", Field.TYPE_INT32)
    counts = file.type_name("Order.CountsEntry")
    add_field(order, "name", Field.TYPE_STRING)
    add_field(order, "counts", Field.TYPE_MESSAGE, type_name=counts, **REPEATED)
    add_field(order, "lines", Field.TYPE_MESSAGE, type_name=file.type_name("Order"), **REPEATED)
    add_field(order, "at", Field.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp")
    token = add_field(order, "token", Field.TYPE_STRING, json_name="pageToken")
    token.options.Extensions[visibility_pb2.field_visibility].restriction = "GRPC"
    return file.build().message_types_by_name["Order"]


ORDER = shape_file()


def complaint(body: dict[str, Any]) -> str:
    with pytest.raises(GatewayError) as raised:
        json_shape.checked(body, ORDER)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return raised.value.details


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"counts": []}, "'counts' must be an object, not an array"),
        ({"counts": {"a": 1.5}}, "'counts.a' must be an integer, not a number"),
        ({"counts": {"a": None}}, "'counts.a' must not be null"),
        ({"lines": [{"name": 1}]}, "'lines[0].name' must be a string, not a number"),
        (
            {"lines": [{}, {"counts": {"b": True}}]},
            "'lines[1].counts.b' must be an integer, not a boolean",
        ),
        ({"lines": {}}, "'lines' must be an array, not an object"),
    ],
)
def test_wrong_types_are_named_by_their_path(body: dict[str, Any], text: str) -> None:
    assert complaint(body) == f"invalid request body: {text}"


def test_the_checked_copy_drops_grpc_only_keys_and_leaves_the_input_alone() -> None:
    body = {
        "name": "n",
        "pageToken": "t",
        "token": "t",
        "unknown": [1],
        "at": "2025-05-15T10:30:00Z",
        "counts": {"a": 1},
        "lines": [{"token": "x", "name": None}],
    }
    sent = copy.deepcopy(body)
    assert json_shape.checked(body, ORDER) == {
        "name": "n",
        "unknown": [1],
        "at": "2025-05-15T10:30:00Z",
        "counts": {"a": 1},
        "lines": [{"name": None}],
    }
    assert body == sent


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "name_": 1, "lines": [{"name": "b"}]},
        {"lines": [{"name": "a"}, {"name": "b"}]},
        {"counts": {"a": 1}, "lines": [{"counts": {"a": 2}}]},
        {"token": "t", "pageToken": "u"},  # gRPC-only: dropped like unknown keys
    ],
)
def test_distinct_fields_and_the_same_key_in_other_objects_pass(body: dict[str, Any]) -> None:
    json_shape.checked(body, ORDER)


def test_a_field_by_its_proto_and_its_json_name_is_refused_at_any_depth() -> None:
    file = FileBuilder("gwtest/alias/v1/alias.proto", "gwtest.alias.v1")
    entry = file.message("Entry")
    add_field(entry, "phone_number", Field.TYPE_STRING, json_name="phoneNumber")
    add_field(entry, "items", Field.TYPE_MESSAGE, type_name=file.type_name("Entry"), **REPEATED)
    descriptor = file.build().message_types_by_name["Entry"]
    with pytest.raises(GatewayError) as raised:
        json_shape.checked({"items": [{}, {"phoneNumber": "1", "phone_number": "2"}]}, descriptor)
    assert raised.value.details == (
        "invalid request body: 'items[1].phoneNumber' and 'items[1].phone_number' "
        "name the same field"
    )


def nested(levels: int) -> dict[str, Any]:
    """An order whose lines nest `levels` orders deep."""
    body: dict[str, Any] = {}
    for _ in range(levels):
        body = {"lines": [body]}
    return body


def test_bodies_nest_up_to_the_limit_and_no_deeper() -> None:
    assert json_shape.MAX_BODY_DEPTH == 64
    json_shape.checked(nested(64), ORDER)
    assert complaint(nested(65)) == "the request body is nested too deeply"
