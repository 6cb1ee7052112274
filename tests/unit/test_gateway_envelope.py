"""The envelope: one set of keys for bodies and schemas, short messages, 5xx texts."""

from __future__ import annotations

import orjson
import pytest
from openapi_schema_validator import OAS31Validator

from gateway import envelope


def test_success_body_keys_follow_the_seed_order() -> None:
    body = orjson.loads(envelope.success_body("Done", {"x": 1}))
    assert list(body) == list(envelope.KEYS)
    assert body == {
        "message": "Done",
        "status": True,
        "code": 200,
        "errorMessage": "",
        "data": {"x": 1},
    }


def test_error_body_is_the_envelope_with_null_data() -> None:
    assert envelope.error_body(400, "Invalid request", "page must be >= 1") == (
        b'{"message":"Invalid request","status":false,"code":400,'
        b'"errorMessage":"page must be >= 1","data":null}'
    )


def test_bodies_conform_to_their_schemas() -> None:
    data_schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    success = OAS31Validator(envelope.success_schema("Done", data_schema))
    success.validate(orjson.loads(envelope.success_body("Done", {"x": 1})))
    assert not success.is_valid(orjson.loads(envelope.success_body("Other", {"x": 1})))
    assert not success.is_valid(orjson.loads(envelope.success_body("Done", {"x": "1"})))
    error = OAS31Validator(envelope.error_schema())
    error.validate(orjson.loads(envelope.error_body(503, "Service unavailable", "later")))
    assert not error.is_valid(orjson.loads(envelope.error_body(200, "OK", "fine")))
    assert not error.is_valid(orjson.loads(envelope.success_body("Done", {})))


def test_schemas_require_exactly_the_keys_bodies_write() -> None:
    for schema in (envelope.success_schema("m", {}), envelope.error_schema()):
        assert schema["required"] == list(envelope.KEYS)
        assert list(schema["properties"]) == list(envelope.KEYS)
        assert schema["additionalProperties"] is False


def test_statuses_without_a_short_message_use_the_reason_phrase() -> None:
    assert envelope.short_message(401) == "Unauthorized"
    assert envelope.short_message(413) == "Payload too large"
    assert envelope.short_message(411) == "Length Required"
    assert envelope.short_message(599) == "Error"


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (503, "The billing backend is unavailable; try again later."),
        (504, "The billing backend did not answer in time; try again later."),
        (501, "This operation is not implemented."),
        (500, envelope.GENERIC_SERVER_ERROR),
        (502, envelope.GENERIC_SERVER_ERROR),
    ],
)
def test_server_error_texts_name_the_upstream_given(status: int, text: str) -> None:
    assert envelope.server_error_text(status, "billing backend") == text


def test_without_an_upstream_name_the_text_is_generic() -> None:
    assert (
        envelope.server_error_text(503) == "The upstream service is unavailable; try again later."
    )
