"""Rendering of values the DNC messages lack: non-finite floats, unknown enum numbers, bytes."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2, wrappers_pb2

from gateway.rendering import message_to_dict


@pytest.mark.parametrize(
    ("value", "text"),
    [(float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (float("nan"), "NaN")],
)
def test_non_finite_numbers_are_proto3_json_strings(value: float, text: str) -> None:
    assert message_to_dict(wrappers_pb2.DoubleValue(value=value)) == {"value": text}
    assert message_to_dict(wrappers_pb2.FloatValue(value=value)) == {"value": text}


def test_finite_numbers_stay_numbers() -> None:
    assert message_to_dict(wrappers_pb2.DoubleValue(value=-0.5)) == {"value": -0.5}
    assert message_to_dict(wrappers_pb2.DoubleValue(value=2.0)) == {"value": 2.0}


def test_an_enum_number_without_a_name_is_written_as_the_number() -> None:
    assert message_to_dict(struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)) == {
        "nullValue": "NULL_VALUE"
    }
    assert message_to_dict(struct_pb2.Value(null_value=struct_pb2.NullValue.ValueType(7))) == {
        "nullValue": 7
    }


def test_bytes_are_standard_base64_text() -> None:
    assert message_to_dict(wrappers_pb2.BytesValue(value=b"\xfb\xff")) == {"value": "+/8="}
