"""JSON Schema keywords from a field's buf.validate rules (protovalidate's field options): the
OpenAPI document's statement of the rules; the service, not this module, checks them.

The proto declares a request's bounds once, as buf.validate rules, and the service checks them
with protovalidate; the OpenAPI document states the same rules through this module, so the two
cannot drift. Only rules with a JSON Schema equivalent are translated: numeric bounds of
32-bit and floating fields (64-bit integers are JSON strings), string lengths, patterns and
UUIDs, and a repeated field's item count and item rules. Patterns are passed through: RE2 and
ECMA-262 agree on anchors, classes, quantifiers and \\xHH escapes, which is what a bound needs.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from buf.validate import validate_pb2

from .envelope import Schema

_NUMERIC = frozenset({"int32", "sint32", "sfixed32", "uint32", "fixed32", "float", "double"})
_NUMBER_KEYWORDS = (
    ("gte", "minimum"),
    ("gt", "exclusiveMinimum"),
    ("lte", "maximum"),
    ("lt", "exclusiveMaximum"),
)
_STRING_KEYWORDS = (("min_len", "minLength"), ("max_len", "maxLength"), ("pattern", "pattern"))


def value_keywords(field: FieldDescriptor) -> Schema:
    """Keywords for the field's value (each item's, for a repeated field)."""
    rules = field.GetOptions().Extensions[validate_pb2.field]
    if items_ignored(field):
        return {}
    return _value_keywords(rules.repeated.items if field.is_repeated else rules)


def required(field: FieldDescriptor) -> bool:
    """Whether the rules require the field (`required: true`): a query parameter then is too."""
    return field.GetOptions().Extensions[validate_pb2.field].required


def items_ignored(field: FieldDescriptor) -> bool:
    """Whether the rules skip a repeated field's items (`items: {ignore: IGNORE_ALWAYS}`): the
    items, nested messages' rules included, are then no reason to refuse the request."""
    repeated = field.GetOptions().Extensions[validate_pb2.field].repeated
    return field.is_repeated and repeated.items.ignore == validate_pb2.IGNORE_ALWAYS


def array_keywords(field: FieldDescriptor) -> Schema:
    """Keywords for a repeated field's array: its item count and uniqueness."""
    repeated = field.GetOptions().Extensions[validate_pb2.field].repeated
    array: Schema = {}
    if repeated.HasField("min_items"):
        array["minItems"] = repeated.min_items
    if repeated.HasField("max_items"):
        array["maxItems"] = repeated.max_items
    if repeated.unique:
        array["uniqueItems"] = True
    return array


def _value_keywords(rules: validate_pb2.FieldRules) -> Schema:
    kind = rules.WhichOneof("type")
    if kind in _NUMERIC:
        return _present(getattr(rules, kind), _NUMBER_KEYWORDS)
    if kind != "string":
        return {}
    string = rules.string
    schema = _present(string, _STRING_KEYWORDS)
    if string.HasField("len"):
        schema |= {"minLength": string.len, "maxLength": string.len}
    if string.uuid:
        schema["format"] = "uuid"
    return schema


def _present(rules: Message, names: tuple[tuple[str, str], ...]) -> Schema:
    """The keyword for each rule the field sets, with the rule's value."""
    return {key: getattr(rules, name) for name, key in names if rules.HasField(name)}
