"""One gRPC-code-to-HTTP table (grpc-gateway's) and the one renderer for every error."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import grpc
from aiohttp import web

from .rendering import error_body

# grpc-gateway runtime.HTTPStatusFromCode, entry for entry.
HTTP_STATUS_BY_CODE: Mapping[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

# The envelope's short `message` per HTTP status; others fall back to the reason phrase.
SHORT_MESSAGES: Mapping[int, str] = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Too many requests",
    499: "Client closed request",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
    504: "Gateway timeout",
}

# What a client reads for a 5xx: never the upstream details, which may hold internals.
SERVER_ERROR_MESSAGES: Mapping[int, str] = {
    501: "This operation is not implemented.",
    503: "The DNC service is unavailable; try again later.",
    504: "The DNC service did not answer in time; try again later.",
}
GENERIC_SERVER_ERROR = "An internal error occurred; it has been logged."


class GatewayError(Exception):
    """A request the gateway itself refuses, with the gRPC code it would have earned."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def http_status_from_code(code: grpc.StatusCode) -> int:
    """grpc-gateway's mapping; a code it does not know is a 500."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


def short_message(status: int) -> str:
    if status in SHORT_MESSAGES:
        return SHORT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(
    status: int, details: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The error envelope: 4xx carry `details`, 5xx a generic text; 401 asks for a bearer."""
    if status >= 500:
        details = SERVER_ERROR_MESSAGES.get(status, GENERIC_SERVER_ERROR)
    response = web.Response(
        status=status,
        body=error_body(status, short_message(status), details),
        content_type="application/json",
        headers=headers,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def from_code(code: grpc.StatusCode, details: str) -> web.Response:
    """Render a gRPC status, from the service or from the gateway's own checks."""
    status = http_status_from_code(code)
    return error_response(status, details or short_message(status))


def from_http_exception(error: web.HTTPException) -> web.Response:
    """Routing errors (404, 405 with its Allow header) in the same envelope as the rest."""
    headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
    details = {
        404: "No such path.",
        405: f"Method not allowed; use {headers['Allow'] if headers else 'another method'}.",
    }.get(error.status, error.text or short_message(error.status))
    return error_response(error.status, details, headers)
