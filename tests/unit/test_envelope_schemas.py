"""The envelope's OpenAPI schemas, key by key: what a generated client is told to expect."""

from __future__ import annotations

from gateway import envelope

KEYS = ["message", "status", "code", "errorMessage", "data"]


def test_the_success_schema_fixes_everything_but_data() -> None:
    data = {"type": "object", "properties": {"x": {"type": "integer"}}}
    assert envelope.success_schema("Done", data) == {
        "type": "object",
        "properties": {
            "message": {"const": "Done"},
            "status": {"const": True},
            "code": {"const": 200},
            "errorMessage": {"const": ""},
            "data": data,
        },
        "required": KEYS,
        "additionalProperties": False,
    }


def test_the_error_schema_allows_any_error_text_and_status() -> None:
    assert envelope.error_schema() == {
        "type": "object",
        "properties": {
            "message": {"type": "string", "minLength": 1},
            "status": {"const": False},
            "code": {"type": "integer", "minimum": 400, "maximum": 599},
            "errorMessage": {"type": "string", "minLength": 1},
            "data": {"type": "null"},
        },
        "required": KEYS,
        "additionalProperties": False,
    }
