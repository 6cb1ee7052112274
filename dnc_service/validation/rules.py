"""The request rules declared in the proto (buf.validate options), checked by protovalidate.

proto/dnc/v1/dnc.proto is the one place where request bounds live; the REST gateway's OpenAPI
document reads the same options. This module runs them on a request (one validator, built once:
it caches the compiled rules) and turns the first violation into InvalidArgument that names the
field by its proto path (e.g. "entries[3].phone_number"). The texts are composed from the rule
values in the descriptor, so a changed bound changes the message with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import protovalidate
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from buf.validate import validate_pb2

from ..clock import system_clock
from ..errors import InvalidArgument
from ..ids import HEX_ID_PATTERN

_VALIDATOR = protovalidate.Validator()

CONTROL_FREE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
REGION_PATTERN = "^[A-Za-z]{2}$"
# What the patterns used in the proto mean, in words: a text that quotes a regex says little.
# A pattern missing here still works; its text then shows the regex (tests/unit/test_request_rules
# fails on it so that the proto and this table move together).
PATTERN_MEANINGS: Mapping[str, str] = {
    CONTROL_FREE_PATTERN: "must not contain control characters",
    HEX_ID_PATTERN: "must be 24 hexadecimal characters",
    REGION_PATTERN: "must be an ISO 3166 alpha-2 region such as US",
}


GT_NOW = "timestamp.gt_now"
REQUESTED_AT_NOT_FUTURE = "requested_at_not_future"
# The proto's requested_at_not_future rule: `this <= now + duration('300s')`.
REQUESTED_AT_MAX_AHEAD = timedelta(seconds=300)
CLOCK_RULE_IDS = frozenset({GT_NOW, REQUESTED_AT_NOT_FUTURE})
# google/protobuf/timestamp.proto's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMESTAMP = "google.protobuf.Timestamp"


def check(request: Message, prefix: str = "", now: datetime | None = None) -> None:
    """Raise InvalidArgument for the first rule the request breaks, in field order.

    `prefix` is put before the field path, for a message checked as one item of a larger
    request (e.g. "entries[3]." for a batch item answered on its own). `now` is the service
    clock's (the system clock's when not given), for the rules in CLOCK_RULE_IDS.
    """
    violations = [
        violation
        for violation in _VALIDATOR.collect_violations(request)
        if violation.proto.rule_id not in CLOCK_RULE_IDS
    ]
    errors: list[tuple[int, InvalidArgument]] = []
    if violations:
        proto_field = violations[0].proto.field
        number = proto_field.elements[0].field_number if proto_field else 0
        errors.append((number, _error(request.DESCRIPTOR, violations[0], prefix)))
    timed = _clock_error(request, prefix, now or system_clock())
    if timed is not None:
        errors.append(timed)
    if errors:
        raise min(errors, key=lambda error: error[0])[1]


def stored_moment(timestamp: Timestamp) -> datetime:
    """A valid Timestamp as the aware datetime a stored Date keeps: cut to milliseconds."""
    millis = timestamp.nanos // 1_000_000
    return _EPOCH + timedelta(seconds=timestamp.seconds, milliseconds=millis)


def _clock_error(
    request: Message, prefix: str, now: datetime
) -> tuple[int, InvalidArgument] | None:
    """The first Timestamp field (by number) out of range or breaking a rule of now."""
    for field, value in request.ListFields():  # the set fields, in number order
        kind = field.message_type.full_name if field.message_type else ""
        if kind != _TIMESTAMP or field.is_repeated:
            continue
        text = _time_text(field, value, now)
        if text is not None:
            path = prefix + field.name
            return field.number, InvalidArgument(f"{path} {text}", field=path)
    return None


def _time_text(field: FieldDescriptor, value: Timestamp, now: datetime) -> str | None:
    """Why `value` is refused (the stored, millisecond value is judged), or None."""
    if not (_MIN_SECONDS <= value.seconds <= _MAX_SECONDS and 0 <= value.nanos <= 999_999_999):
        return "must be a valid time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
    moment = stored_moment(value)
    rules = field.GetOptions().Extensions[validate_pb2.field]
    if rules.timestamp.gt_now and moment <= now:
        return f"must be in the future (now is {_iso(now)}), got {_iso(moment)}"
    ids = {rule.id for rule in rules.cel}
    if REQUESTED_AT_NOT_FUTURE in ids and moment > now + REQUESTED_AT_MAX_AHEAD:
        ahead = int(REQUESTED_AT_MAX_AHEAD.total_seconds() // 60)
        return (
            f"must not be more than {ahead} minutes in the future (now is {_iso(now)}), "
            f"got {_iso(moment)}"
        )
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def field_rules(message: Descriptor, name: str) -> validate_pb2.FieldRules:
    """The buf.validate rules declared on one field (empty when it has none)."""
    options = message.fields_by_name[name].GetOptions()
    return options.Extensions[validate_pb2.field]


def _error(message: Any, violation: protovalidate.Violation, prefix: str) -> InvalidArgument:
    proto = violation.proto
    if proto.field is None:  # a message-level rule: its declared message is the text
        return InvalidArgument(proto.message, field=prefix.rstrip("."))
    path, field = _field_path(message, proto.field.elements)
    path = prefix + path
    rule_path = [element.field_name for element in proto.rule.elements] if proto.rule else []
    rules = _rules_at(field, rule_path[:-1]) if rule_path else None
    compose = _TEXTS.get(rule_path[-1]) if rule_path else None
    text = compose(rules, violation.field_value) if compose and rules is not None else None
    return InvalidArgument(f"{path} {text or proto.message}", field=path)


def _field_path(message: Descriptor, elements: Any) -> tuple[str, FieldDescriptor]:
    """The proto path of the violated field ("entries[3].phone_number") and its descriptor."""
    parts: list[str] = []
    descriptor: Descriptor | None = message
    field: FieldDescriptor | None = None
    for element in elements:
        if descriptor is None:
            break
        field = descriptor.fields_by_name[element.field_name]
        descriptor = field.message_type
        parts.append(element.field_name + _subscript(element.subscript))
    if field is None:
        raise ValueError(f"a field violation without a field path: {elements!r}")
    return ".".join(parts), field


def _subscript(subscript: Any) -> str:
    """The item's index for a repeated field ("[3]"), its key for a map; "" otherwise."""
    if subscript is None:
        return ""
    return f"[{subscript.value}]" if subscript.field == "index" else f"[{subscript.value!r}]"


def _rules_at(field: FieldDescriptor, path: list[str]) -> Message | None:
    """The rules message holding the violated rule, e.g. Int32Rules for ["int32"] or
    StringRules for ["repeated", "items", "string"]."""
    rules: Message = field.GetOptions().Extensions[validate_pb2.field]
    for name in path:
        if name not in rules.DESCRIPTOR.fields_by_name:
            return None
        rules = getattr(rules, name)
    return rules


def _count(rules: Any, low: str, high: str, unit: str, value: int) -> str:
    if rules.HasField(low) and rules.HasField(high):
        return f"{getattr(rules, low)} to {getattr(rules, high)} {unit}, got {value}"
    if rules.HasField(low):
        return f"at least {getattr(rules, low)} {unit}, got {value}"
    return f"at most {getattr(rules, high)} {unit}, got {value}"


def _bounds(rules: Any, value: object) -> str:
    kind = "a number" if rules.DESCRIPTOR.name in ("FloatRules", "DoubleRules") else "an integer"
    if rules.HasField("gte") and rules.HasField("lte"):
        return f"must be {kind} from {rules.gte} to {rules.lte}, got {value}"
    words = [f"{sign} {getattr(rules, name)}" for name, sign in _SIGNS if rules.HasField(name)]
    return f"must be {kind} {' and '.join(words)}, got {value}"


_SIGNS = (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<="))


def _length(rules: Any, value: Any) -> str:
    return "must be " + _count(rules, "min_len", "max_len", "characters", len(value))


def _items(rules: Any, value: Any) -> str:
    return "must hold " + _count(rules, "min_items", "max_items", "items", len(value))


def _pattern(rules: Any, value: object) -> str:
    return PATTERN_MEANINGS.get(rules.pattern, f"must match the pattern {rules.pattern}")


# The last rule path element (the rule itself) -> our text, from the rules message and the value.
_TEXTS: Mapping[str, Callable[[Any, Any], str]] = {
    **dict.fromkeys(("gt", "gte", "lt", "lte"), _bounds),
    **dict.fromkeys(("min_len", "max_len"), _length),
    **dict.fromkeys(("min_items", "max_items"), _items),
    "pattern": _pattern,
    "uuid": lambda rules, value: "must be a UUID, e.g. 550e8400-e29b-41d4-a716-446655440000",
    "required": lambda rules, value: "is required",
}
