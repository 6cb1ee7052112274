"""The JSON envelope around every REST response: its keys, texts, bodies and OpenAPI schemas.

`{"message", "status", "code", "errorMessage", "data"}`: the seed's shape, for success and
failure alike, so clients read one format whatever happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson

Schema = dict[str, Any]
# In the seed's order; bodies are written in this order.
KEYS = ("message", "status", "code", "errorMessage", "data")
DEFAULT_SUCCESS_MESSAGE = "Request completed successfully"
# The envelope's short `message` per HTTP status; others fall back to the reason phrase.
SHORT_MESSAGES: Mapping[int, str] = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    499: "Client closed request",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
    504: "Gateway timeout",
}
# What a client reads for a 5xx, never the upstream details (which may hold internals);
# `{upstream}` is the name of the service behind the gateway.
SERVER_ERROR_TEXTS: Mapping[int, str] = {
    501: "This operation is not implemented.",
    503: "The {upstream} is unavailable; try again later.",
    504: "The {upstream} did not answer in time; try again later.",
}
GENERIC_SERVER_ERROR = "An internal error occurred; it has been logged."
DEFAULT_UPSTREAM = "upstream service"


def short_message(status: int) -> str:
    """The envelope's `message` for an error status."""
    if status in SHORT_MESSAGES:
        return SHORT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def server_error_text(status: int, upstream: str = DEFAULT_UPSTREAM) -> str:
    """The `errorMessage` of a 5xx, naming the service behind the gateway."""
    return SERVER_ERROR_TEXTS.get(status, GENERIC_SERVER_ERROR).format(upstream=upstream)


def success_body(message: str, data: Any) -> bytes:
    """The seed's success envelope, keys in the seed's order."""
    return orjson.dumps(
        {"message": message, "status": True, "code": 200, "errorMessage": "", "data": data}
    )


def error_body(code: int, message: str, error_message: str) -> bytes:
    """The same envelope for a failure: status false, code = HTTP status, data null."""
    return orjson.dumps(
        {"message": message, "status": False, "code": code, "errorMessage": error_message,
         "data": None}
    )  # fmt: skip


def success_schema(message: str, data: Schema) -> Schema:
    """The success envelope of one operation: its fixed message, and `data` as given."""
    return _object({"const": message}, {"const": True}, {"const": 200}, {"const": ""}, data)


def error_schema() -> Schema:
    """Every error envelope: a non-empty message and errorMessage, code 4xx/5xx, data null."""
    return _object(
        {"type": "string", "minLength": 1},
        {"const": False},
        {"type": "integer", "minimum": 400, "maximum": 599},
        {"type": "string", "minLength": 1},
        {"type": "null"},
    )


def _object(*values: Schema) -> Schema:
    return {
        "type": "object",
        "properties": dict(zip(KEYS, values, strict=True)),
        "required": list(KEYS),
        "additionalProperties": False,
    }
