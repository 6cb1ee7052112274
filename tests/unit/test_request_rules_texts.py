"""Texts and field paths for every kind of rule validation.rules tells in words, and the JSON Schema
keywords schema_rules makes of the same rules, on a made-up message (any API's rules work)."""

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
from dnc_service.ids import HEX_ID_PATTERN
from dnc_service.validation import rules
from gateway import schema_rules

FieldProto = descriptor_pb2.FieldDescriptorProto
UUID_TEXT = "must be a UUID, e.g. 550e8400-e29b-41d4-a716-446655440000"


def _field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    kind: int,
    *,
    repeated: bool = False,
    type_name: str = "",
) -> validate_pb2.FieldRules:
    extra: dict[str, Any] = dict(REPEATED) if repeated else {}
    if type_name:
        extra["type_name"] = type_name
    return ruled_field(message, name, kind, **extra)


def _build() -> dict[str, Descriptor]:
    file = FileBuilder("rulestest/v1/rules.proto", "rulestest.v1", "buf/validate/validate.proto")
    item = file.message("Item")
    phone = _field(item, "phone", FieldProto.TYPE_STRING)
    phone.required = True
    phone.string.max_len = 8
    # Empty means absent for these two (proto3 strings without presence).
    entry_id = _field(item, "id", FieldProto.TYPE_STRING)
    entry_id.string.pattern = HEX_ID_PATTERN
    entry_id.ignore = validate_pb2.IGNORE_IF_ZERO_VALUE
    ref = _field(item, "ref", FieldProto.TYPE_STRING)
    ref.string.uuid = True
    ref.ignore = validate_pb2.IGNORE_IF_ZERO_VALUE
    batch = file.message("Batch")
    items = _field(
        batch, "items", FieldProto.TYPE_MESSAGE, repeated=True, type_name=file.type_name("Item")
    )
    items.repeated.min_items, items.repeated.max_items = 1, 3
    tags = _field(batch, "tags", FieldProto.TYPE_STRING, repeated=True)
    tags.repeated.items.string.max_len = 4
    ratio = _field(batch, "ratio", FieldProto.TYPE_DOUBLE)
    ratio.double.gt, ratio.double.lt = 0, 1
    _field(batch, "size", FieldProto.TYPE_INT32).int32.lte = 9
    return dict(file.build().message_types_by_name)


MESSAGES = _build()
Item: Any = GetMessageClass(MESSAGES["Item"])
Batch: Any = GetMessageClass(MESSAGES["Batch"])


def refusal(request: Message) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        rules.check(request)
    return raised.value


def ok_item(**fields: Any) -> Any:
    return Item(**({"phone": "1"} | fields))


@pytest.mark.parametrize(
    ("request_", "field", "message"),
    [
        (Batch(), "items", "items must hold 1 to 3 items, got 0"),
        (Batch(items=[ok_item()] * 4), "items", "items must hold 1 to 3 items, got 4"),
        (Batch(items=[ok_item(), Item()]), "items[1].phone", "items[1].phone is required"),
        (
            Batch(items=[ok_item(phone="123456789")]),
            "items[0].phone",
            "items[0].phone must be at most 8 characters, got 9",
        ),
        (
            Batch(items=[ok_item(id="XYZ")]),
            "items[0].id",
            "items[0].id must be 24 hexadecimal characters",
        ),
        (Batch(items=[ok_item(ref="nope")]), "items[0].ref", f"items[0].ref {UUID_TEXT}"),
        (
            Batch(items=[ok_item()], tags=["ok", "toolong"]),
            "tags[1]",
            "tags[1] must be at most 4 characters, got 7",
        ),
        (
            Batch(items=[ok_item()], ratio=1.5),
            "ratio",
            "ratio must be a number > 0.0 and < 1.0, got 1.5",
        ),
        (
            Batch(items=[ok_item()], ratio=0.5, size=10),
            "size",
            "size must be an integer <= 9, got 10",
        ),
    ],
)
def test_each_rule_kind_has_a_text_and_the_field_path(
    request_: Message, field: str, message: str
) -> None:
    error = refusal(request_)
    assert (error.field, error.message) == (field, message)


def test_a_request_within_its_rules_passes() -> None:
    rules.check(
        Batch(
            items=[
                ok_item(id="64E5F12345abcdef98765432", ref="550e8400-e29b-41d4-a716-446655440000")
            ],
            tags=["abcd"],
            ratio=0.5,
            size=9,
        )
    )


def test_the_document_gets_the_same_rules() -> None:
    item, batch = MESSAGES["Item"].fields_by_name, MESSAGES["Batch"].fields_by_name
    assert schema_rules.value_keywords(item["phone"]) == {"maxLength": 8}
    assert schema_rules.value_keywords(item["id"]) == {"pattern": HEX_ID_PATTERN}
    assert schema_rules.value_keywords(item["ref"]) == {"format": "uuid"}
    assert schema_rules.array_keywords(batch["items"]) == {"minItems": 1, "maxItems": 3}
    assert schema_rules.value_keywords(batch["items"]) == {}
    assert schema_rules.value_keywords(batch["tags"]) == {"maxLength": 4}
    assert schema_rules.value_keywords(batch["ratio"]) == {
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
    }
    assert schema_rules.value_keywords(batch["size"]) == {"maximum": 9}
    assert schema_rules.array_keywords(batch["ratio"]) == {}


def test_an_item_checked_on_its_own_is_named_under_its_prefix() -> None:
    with pytest.raises(InvalidArgument) as raised:
        rules.check(Item(phone=""), prefix="entries[3].")
    assert (raised.value.field, raised.value.message) == (
        "entries[3].phone",
        "entries[3].phone is required",
    )
