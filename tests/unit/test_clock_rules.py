"""The rules that read "now" (requested_at, expires_at): judged against the service's clock,
not the system time protovalidate reads, with field-naming texts, for AddDnc and batch items."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from buf.validate import validate_pb2
from dnc.v1 import dnc_pb2
from dnc_service.errors import InvalidArgument
from dnc_service.validation import rules
from dnc_service.validation.requests import parse_add, parse_batch

# Far from the system time on purpose: a verdict taken from the system clock would differ.
NOW = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def stamp(moment: datetime) -> Timestamp:
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def add(**times: datetime) -> dnc_pb2.AddDncRequest:
    request = dnc_pb2.AddDncRequest(phone_number="12125551234")
    for name, moment in times.items():
        getattr(request, name).CopyFrom(stamp(moment))
    return request


def refused(request: dnc_pb2.AddDncRequest, prefix: str = "") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        parse_add(request, NOW, prefix)
    return raised.value


def test_expires_at_must_be_after_now_by_the_injected_clock() -> None:
    assert parse_add(add(expires_at=NOW + MS), NOW).expires_at == NOW + MS
    for moment in (NOW, NOW - timedelta(days=1)):
        error = refused(add(expires_at=moment))
        assert error.field == "expires_at"
        assert error.message == (
            f"expires_at must be in the future (now is 2020-01-01T12:00:00.000Z), "
            f"got {moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"
        )


def test_expires_at_is_judged_at_the_millisecond_it_is_stored_with() -> None:
    # 0.5 ms ahead would be stored as now itself: already expired, so refused.
    request = add()
    request.expires_at.CopyFrom(stamp(NOW))
    request.expires_at.nanos = 500_000
    assert refused(request).field == "expires_at"


def test_requested_at_may_be_up_to_five_minutes_ahead() -> None:
    limit = NOW + timedelta(minutes=5)
    assert parse_add(add(requested_at=limit), NOW).requested_at == limit
    assert parse_add(add(requested_at=NOW - timedelta(days=3650)), NOW).requested_at
    error = refused(add(requested_at=limit + MS))
    assert (error.field, error.message) == (
        "requested_at",
        "requested_at must not be more than 5 minutes in the future "
        "(now is 2020-01-01T12:00:00.000Z), got 2020-01-01T12:05:00.001Z",
    )


def test_the_five_minutes_are_the_protos() -> None:
    field = dnc_pb2.AddDncRequest.DESCRIPTOR.fields_by_name["requested_at"]
    [cel] = field.GetOptions().Extensions[validate_pb2.field].cel
    assert cel.id == rules.REQUESTED_AT_NOT_FUTURE
    seconds = int(rules.REQUESTED_AT_MAX_AHEAD.total_seconds())
    assert cel.expression == f"this <= now + duration('{seconds}s')"


def test_every_rule_reading_now_is_judged_by_the_service() -> None:
    """A new rule with `now` in the proto must be added to rules.CLOCK_RULE_IDS (and judged
    there), else protovalidate would judge it by the system time."""
    found = set()
    for message in dnc_pb2.DESCRIPTOR.message_types_by_name.values():
        for field in message.fields:
            declared = field.GetOptions().Extensions[validate_pb2.field]
            timestamp = declared.timestamp
            # Only gt_now is judged by the service; lt_now or within would need the same.
            assert not timestamp.lt_now, field.full_name
            assert not timestamp.HasField("within"), field.full_name
            if timestamp.gt_now:
                found.add(rules.GT_NOW)
            found |= {cel.id for cel in declared.cel if "now" in cel.expression}
    assert found == rules.CLOCK_RULE_IDS


def test_an_absent_time_is_none_and_no_error() -> None:
    entry = parse_add(add(), NOW)
    assert (entry.requested_at, entry.expires_at) == (None, None)


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(253_402_300_800, 0), (-62_135_596_801, 0), (0, -1), (0, 10**9)]
)
def test_a_timestamp_out_of_range_is_refused_not_a_crash(seconds: int, nanos: int) -> None:
    for name in ("requested_at", "expires_at"):
        request = add()
        getattr(request, name).seconds = seconds
        getattr(request, name).nanos = nanos
        error = refused(request)
        assert error.field == name
        assert "valid time" in error.message


def test_fields_are_reported_in_field_order() -> None:
    # type (4) breaks a rule protovalidate judges, expires_at (8) one the clock judges.
    request = add(expires_at=NOW - MS)
    request.type = "t" * 65
    assert refused(request).field == "type"
    request = add(requested_at=NOW + timedelta(hours=1), expires_at=NOW - MS)
    assert refused(request).field == "requested_at"


def test_a_batch_item_breaking_a_time_rule_is_invalid_alone() -> None:
    batch = dnc_pb2.BatchAddDncRequest(
        entries=[add(expires_at=NOW + timedelta(days=1)), add(expires_at=NOW), add()]
    )
    items = asyncio.run(parse_batch(batch, NOW))
    assert list(items.valid) == [0, 2]
    assert items.invalid[1].field == "entries[1].expires_at"
    assert items.invalid[1].message.startswith("entries[1].expires_at must be in the future")


def test_the_compliance_texts_are_trimmed_and_blank_is_none() -> None:
    request = dnc_pb2.AddDncRequest(phone_number="12125551234", source=" sms_stop ", reason=" ")
    entry = parse_add(request, NOW)
    assert (entry.source, entry.reason) == ("sms_stop", None)
    assert refused(dnc_pb2.AddDncRequest(phone_number="1212555123", source="a\tb")).field == (
        "source"
    )
    error = refused(dnc_pb2.AddDncRequest(phone_number="12125551234", reason="r" * 513))
    assert (error.field, error.message) == (
        "reason",
        "reason must be at most 512 characters, got 513",
    )
    assert parse_add(dnc_pb2.AddDncRequest(phone_number="12125551234", reason="a\nb"), NOW).reason


@pytest.mark.parametrize(
    ("name", "seconds", "nanos"),
    [
        ("requested_at", -62_135_596_800, 0),  # 0001-01-01T00:00:00Z, the first valid instant
        ("expires_at", 253_402_300_799, 0),  # 9999-12-31T23:59:59Z, the last valid second
        ("expires_at", 253_402_300_798, 999_999_999),  # the largest nanos
    ],
)
def test_the_ends_of_the_valid_range_are_accepted(name: str, seconds: int, nanos: int) -> None:
    request = add()
    getattr(request, name).seconds = seconds
    getattr(request, name).nanos = nanos
    assert getattr(parse_add(request, NOW), name) is not None


def test_a_time_out_of_range_says_the_range() -> None:
    request = add()
    request.expires_at.seconds = 253_402_300_800
    assert refused(request).message == (
        "expires_at must be a valid time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
    )


def test_a_time_breaking_a_rule_of_now_is_reported_before_a_later_field() -> None:
    # requested_at (7) breaks a rule of now; region (9) a rule protovalidate judges.
    request = add(requested_at=NOW + timedelta(hours=1))
    request.region = "U"
    assert refused(request).field == "requested_at"
