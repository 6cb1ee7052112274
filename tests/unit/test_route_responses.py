"""What a route answers with: which streamed messages are batches (one REST line per item), and
which `response_body` fields a route accepts.

Each case is its own made-up file (descriptor_support), built inside the test so that mutation
testing links the test to the routing code it runs.
"""

from __future__ import annotations

import pytest
from descriptor_support import REPEATED, Field, FieldSpec, FileBuilder

from gateway.routes import Route, routes_from_files

# Message types by their name in the file; answer_route makes them full names.
ITEM_LIST = {"type_name": "Item", "label": Field.LABEL_REPEATED}
ONE_ITEM = {"type_name": "Item"}
A_MAP = {"type_name": "Answer.TagsEntry", "label": Field.LABEL_REPEATED}


def answer_route(
    variant: str,
    fields: list[FieldSpec],
    *,
    streaming: bool,
    response_body: str = "",
) -> Route:
    """Method Ask of gwtest.<variant>.v1, answering an `Answer` message made of `fields`."""
    file = FileBuilder(
        f"gwtest/{variant}/v1/r.proto", f"gwtest.{variant}.v1", "google/api/annotations.proto"
    )
    file.message("Item", ("name", Field.TYPE_STRING, {}))
    named = [
        (name, kind, {**extra, "type_name": file.type_name(extra["type_name"])})
        if "type_name" in extra
        else (name, kind, extra)
        for name, kind, extra in fields
    ]
    answer = file.message("Answer", *named)
    file.map_entry(answer, "TagsEntry", Field.TYPE_STRING)
    file.message("Question")
    rule = file.rpc("Answers", "Ask", "Question", "Answer", streaming=streaming)
    rule.get, rule.response_body = "/v1/answers", response_body
    (route,) = routes_from_files([file.build()])
    return route


@pytest.mark.parametrize(
    ("variant", "fields", "streaming", "items"),
    [
        ("rb_stream_list", [("items", Field.TYPE_MESSAGE, ITEM_LIST)], True, "items"),
        ("rb_unary_list", [("items", Field.TYPE_MESSAGE, ITEM_LIST)], False, ""),
        (
            "rb_stream_list_and_count",
            [("items", Field.TYPE_MESSAGE, ITEM_LIST), ("count", Field.TYPE_INT32, {})],
            True,
            "",
        ),
        ("rb_stream_one", [("item", Field.TYPE_MESSAGE, ONE_ITEM)], True, ""),
        ("rb_stream_scalars", [("names", Field.TYPE_STRING, REPEATED)], True, ""),
        ("rb_stream_map", [("tags", Field.TYPE_MESSAGE, A_MAP)], True, ""),
    ],
)
def test_only_a_stream_whose_one_field_is_a_list_of_messages_is_a_batch(
    variant: str, fields: list[FieldSpec], streaming: bool, items: str
) -> None:
    assert answer_route(variant, fields, streaming=streaming).response_items == items


def test_a_stream_with_a_response_body_is_not_a_batch() -> None:
    route = answer_route(
        "rb_stream_body",
        [("item", Field.TYPE_MESSAGE, ONE_ITEM)],
        streaming=True,
        response_body="item",
    )
    assert route.response_body == "item"
    assert route.response_items == ""


def test_a_unary_response_body_may_name_a_scalar_or_a_list() -> None:
    scalar = answer_route(
        "rb_unary_scalar",
        [("count", Field.TYPE_INT32, {})],
        streaming=False,
        response_body="count",
    )
    listed = answer_route(
        "rb_unary_items",
        [("items", Field.TYPE_MESSAGE, ITEM_LIST)],
        streaming=False,
        response_body="items",
    )
    assert (scalar.response_body, listed.response_body) == ("count", "items")


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        ("rb_bad_list", ("items", Field.TYPE_MESSAGE, ITEM_LIST)),
        ("rb_bad_scalar", ("count", Field.TYPE_INT32, {})),
    ],
)
def test_a_streams_response_body_must_be_one_message(variant: str, field: FieldSpec) -> None:
    with pytest.raises(ValueError, match="must name a singular message") as refused:
        answer_route(variant, [field], streaming=True, response_body=field[0])
    assert str(refused.value) == (
        f"gwtest.{variant}.v1.Answers.Ask: a stream's response_body must name a singular message "
        "field (each message is one NDJSON line or CSV row)"
    )
