"""Rule kinds and places the texts must still get right: a float bound, a lower length bound
alone, an unknown pattern, a rule with no text of ours (the rule's own message is used), a
map value, a message-level rule under a prefix; and the JSON Schema of exact lengths and
unique items. On a made-up message of its own (any API's rules work)."""

from __future__ import annotations

from typing import Any

import pytest
from descriptor_support import REPEATED, FileBuilder, ruled_field
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from buf.validate import validate_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.validation import rules
from gateway import schema_rules

FieldProto = descriptor_pb2.FieldDescriptorProto
PACKAGE = "rulesedge.v1"


def _field(
    message: descriptor_pb2.DescriptorProto, name: str, kind: int, **extra: Any
) -> validate_pb2.FieldRules:
    rules = ruled_field(message, name, kind, **extra)
    rules.ignore = validate_pb2.IGNORE_IF_ZERO_VALUE  # only values given are checked
    return rules


def _edge() -> Descriptor:
    file = FileBuilder("rulesedge/v1/edge.proto", PACKAGE, "buf/validate/validate.proto")
    edge = file.message("Edge")
    file.map_entry(edge, "CountsEntry", FieldProto.TYPE_INT32)
    _field(edge, "weight", FieldProto.TYPE_FLOAT).float.gte = 0.5
    _field(edge, "nick", FieldProto.TYPE_STRING).string.min_len = 3
    code = _field(edge, "code", FieldProto.TYPE_STRING)
    code.string.len, code.string.pattern = 3, "^[A-Z]+$"
    _field(
        edge, "counts", FieldProto.TYPE_MESSAGE, **REPEATED,
        type_name=file.type_name("Edge.CountsEntry"),
    ).map.values.int32.lte = 5  # fmt: skip
    rule = _field(edge, "note", FieldProto.TYPE_STRING).cel.add()
    rule.id, rule.message, rule.expression = (
        "note_no_x",
        "must not contain x",
        "!this.contains('x')",
    )
    tags = _field(edge, "tags", FieldProto.TYPE_STRING, **REPEATED)
    tags.repeated.unique = True
    whole = edge.options.Extensions[validate_pb2.message].cel.add()
    whole.id, whole.message, whole.expression = (
        "nick_not_code",
        "give nick or code",
        ("this.nick == '' || this.code == ''"),
    )
    return file.build().message_types_by_name["Edge"]


EDGE = _edge()
Edge: Any = GetMessageClass(EDGE)


def refusal(request: Message, prefix: str = "") -> tuple[str, str]:
    with pytest.raises(InvalidArgument) as raised:
        rules.check(request, prefix)
    return raised.value.field, raised.value.message


@pytest.mark.parametrize(
    ("request_", "field", "message"),
    [
        (Edge(weight=0.25), "weight", "weight must be a number >= 0.5, got 0.25"),
        (Edge(nick="ab"), "nick", "nick must be at least 3 characters, got 2"),
        (Edge(code="abc"), "code", "code must match the pattern ^[A-Z]+$"),
        # No text of ours for an exact length: the rule's own message follows the field.
        (Edge(code="AB"), "code", "code must be 3 characters"),
        (Edge(counts={"k": 7}), "counts['k']", "counts['k'] must be an integer <= 5, got 7"),
        (Edge(note="xyz"), "note", "note must not contain x"),
        (Edge(tags=["a", "a"]), "tags", "tags repeated value must contain unique items"),
    ],
)
def test_texts_and_paths(request_: Message, field: str, message: str) -> None:
    assert refusal(request_) == (field, message)


def test_a_message_rule_names_the_item_under_its_prefix_or_no_field() -> None:
    both = Edge(nick="abc", code="ABC")
    assert refusal(both) == ("", "give nick or code")
    assert refusal(both, prefix="entries[2].") == ("entries[2]", "give nick or code")


def test_values_within_the_rules_pass() -> None:
    rules.check(
        Edge(weight=0.5, nick="abc", counts={"k": 5}, note="yz", tags=["a", "b"]), "entries[0]."
    )


def test_exact_lengths_and_unique_items_in_json_schema() -> None:
    fields = EDGE.fields_by_name
    assert schema_rules.value_keywords(fields["code"]) == {
        "pattern": "^[A-Z]+$",
        "minLength": 3,
        "maxLength": 3,
    }
    assert schema_rules.array_keywords(fields["tags"]) == {"uniqueItems": True}
    assert schema_rules.value_keywords(fields["weight"]) == {"minimum": 0.5}
    assert schema_rules.value_keywords(fields["nick"]) == {"minLength": 3}
