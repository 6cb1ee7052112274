"""Proto messages to the seed's JSON: key order, types, timestamps, absent fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from dnc.v1 import dnc_pb2
from gateway import envelope, rendering
from gateway.dnc_api import DNC_API
from gateway_support import SEED_ENTRY_KEYS

MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z, Timestamp's lower bound
MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z, its upper bound


def full_entry(**overrides: Any) -> dnc_pb2.DncEntry:
    fields: dict[str, Any] = {
        "id": "64e5f12345abcdef98765432",
        "phone_number": "12125551234",
        "type": "customer_request",
        "org_id": "64e5f12345abcdef12345678",
        "batch_id": "64e5f12345abcdef87654321",
        "request_uuid": "550e8400-e29b-41d4-a716-446655440000",
        "call_recording": "https://example.com/recording.mp3",
        "transcription": "Customer requested to be removed from calling list",
    }
    fields.update(overrides)
    entry = dnc_pb2.DncEntry(**fields)
    entry.created_at.FromDatetime(datetime(2025, 5, 15, 10, 30, tzinfo=UTC))
    return entry


def page(*entries: dnc_pb2.DncEntry) -> dnc_pb2.ListDncResponse:
    return dnc_pb2.ListDncResponse(
        dnc_list=entries,
        pagination=dnc_pb2.Pagination(total=42, page=1, limit=10, total_pages=5),
    )


def test_the_seed_example_renders_byte_for_byte() -> None:
    body = envelope.success_body(
        DNC_API.success_message("dnc.v1.DncService.ListDnc"),
        rendering.message_to_dict(page(full_entry())),
    )
    assert body == (
        b'{"message":"DNC list fetched successfully","status":true,"code":200,"errorMessage":"",'
        b'"data":{"dncList":[{"_id":"64e5f12345abcdef98765432","phoneNumber":"12125551234",'
        b'"type":"customer_request","orgId":"64e5f12345abcdef12345678",'
        b'"batchId":"64e5f12345abcdef87654321",'
        b'"requestUUID":"550e8400-e29b-41d4-a716-446655440000",'
        b'"callRecording":"https://example.com/recording.mp3",'
        b'"transcription":"Customer requested to be removed from calling list",'
        b'"createdAt":"2025-05-15T10:30:00.000Z"}],'
        b'"pagination":{"total":42,"page":1,"limit":10,"totalPages":5}}}'
    )


def test_entry_keys_follow_the_seed_order() -> None:
    data = rendering.message_to_dict(page(full_entry()))
    assert list(data) == ["dncList", "pagination"]
    assert list(data["dncList"][0]) == SEED_ENTRY_KEYS
    assert list(data["pagination"]) == ["total", "page", "limit", "totalPages"]


def test_unset_optional_fields_are_absent_not_null_or_empty() -> None:
    entry = dnc_pb2.DncEntry(id="64e5f12345abcdef98765432", org_id="64e5f12345abcdef12345678")
    rendered = rendering.message_to_dict(entry)
    assert rendered == {"_id": "64e5f12345abcdef98765432", "orgId": "64e5f12345abcdef12345678"}


def test_an_optional_field_set_to_empty_text_is_kept() -> None:
    rendered = rendering.message_to_dict(full_entry(transcription="", type=""))
    assert rendered["transcription"] == ""
    assert rendered["type"] == ""


def test_numbers_and_lists_without_presence_are_always_written() -> None:
    rendered = rendering.message_to_dict(dnc_pb2.ListDncResponse(pagination=dnc_pb2.Pagination()))
    assert rendered == {
        "dncList": [],
        "pagination": {"total": 0, "page": 0, "limit": 0, "totalPages": 0},
    }


def test_grpc_only_fields_are_never_rendered() -> None:
    """next_page_token carries google.api.field_visibility: REST keeps the seed's keys exactly."""
    more = dnc_pb2.ListDncResponse(pagination=dnc_pb2.Pagination(), next_page_token="c1")
    assert list(rendering.message_to_dict(more)) == ["dncList", "pagination"]


def test_empty_text_without_presence_is_left_out() -> None:
    assert rendering.message_to_dict(dnc_pb2.DncEntry()) == {}


def test_numbers_stay_json_numbers() -> None:
    body = orjson.loads(envelope.success_body("ok", rendering.message_to_dict(page())))
    pagination = body["data"]["pagination"]
    assert all(type(value) is int for value in pagination.values())
    assert body["status"] is True
    assert body["code"] == 200


def test_names_match_protobufs_own_json_mapping() -> None:
    message = page(full_entry(), full_entry(batch_id=None, phone_number=None))
    message.next_page_token = "cursor"
    ours = rendering.message_to_dict(message)
    theirs = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    del theirs["nextPageToken"]  # gRPC only (google.api.field_visibility)
    for entry in theirs["dncList"]:
        entry["createdAt"] = entry["createdAt"].replace("Z", ".000Z")
    assert ours == theirs


def test_created_at_has_exactly_three_fraction_digits_truncated() -> None:
    cases = {
        0: "2025-05-15T10:30:00.000Z",
        999_999: "2025-05-15T10:30:00.000Z",
        1_000_000: "2025-05-15T10:30:00.001Z",
        123_456_789: "2025-05-15T10:30:00.123Z",
        999_999_999: "2025-05-15T10:30:00.999Z",
    }
    for nanos, text in cases.items():
        entry = full_entry()
        entry.created_at.nanos = nanos
        assert rendering.message_to_dict(entry)["createdAt"] == text


def test_timestamp_bounds_and_the_epoch() -> None:
    assert rendering.timestamp_text(0, 0) == "1970-01-01T00:00:00.000Z"
    assert rendering.timestamp_text(-1, 500_000_000) == "1969-12-31T23:59:59.500Z"
    assert rendering.timestamp_text(MIN_SECONDS, 0) == "0001-01-01T00:00:00.000Z"
    assert rendering.timestamp_text(MAX_SECONDS, 999_999_999) == "9999-12-31T23:59:59.999Z"


@given(
    seconds=st.integers(min_value=MIN_SECONDS, max_value=MAX_SECONDS),
    nanos=st.integers(min_value=0, max_value=999_999_999),
)
def test_timestamp_text_agrees_with_datetime(seconds: int, nanos: int) -> None:
    moment = datetime(1970, 1, 1) + timedelta(seconds=seconds, microseconds=nanos // 1000)
    expected = moment.isoformat(timespec="milliseconds") + "Z"
    assert rendering.timestamp_text(seconds, nanos) == expected


def test_unknown_methods_get_a_generic_success_message() -> None:
    assert DNC_API.success_message("dnc.v1.DncService.ListDnc") == ("DNC list fetched successfully")
    assert DNC_API.success_message("other.v1.Svc.Get") == envelope.DEFAULT_SUCCESS_MESSAGE


def test_a_response_body_field_renders_alone() -> None:
    """google.api.http's response_body: a list, a scalar, a message, and an unset message."""
    entry = dnc_pb2.DncEntry(id="a" * 24, phone_number="12125551000")
    response = dnc_pb2.ListDncResponse(
        dnc_list=[entry], pagination=dnc_pb2.Pagination(total=1), next_page_token="t"
    )
    assert rendering.payload(response, "dnc_list") == [
        {"_id": "a" * 24, "phoneNumber": "12125551000"}
    ]
    assert rendering.payload(response, "next_page_token") == "t"
    assert rendering.payload(response, "pagination") == rendering.message_to_dict(
        response.pagination
    )
    assert rendering.payload(dnc_pb2.ListDncResponse(), "pagination") is None
    assert rendering.payload(dnc_pb2.ListDncResponse(), "dnc_list") == []
