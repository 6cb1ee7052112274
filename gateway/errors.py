"""One gRPC-code-to-HTTP table (grpc-gateway's) and the one way every error becomes a response."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from aiohttp import web

from . import envelope

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


class GatewayError(Exception):
    """A request the gateway itself refuses, with the gRPC code it would have earned."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def http_status_from_code(code: grpc.StatusCode) -> int:
    """grpc-gateway's mapping; a code it does not know is a 500."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


def error_body(status: int, details: str, upstream: str = envelope.DEFAULT_UPSTREAM) -> bytes:
    """The error envelope's bytes: 4xx carry `details`, 5xx a text naming `upstream`."""
    if status >= 500:
        details = envelope.server_error_text(status, upstream)
    return envelope.error_body(status, envelope.short_message(status), details)


def code_error_body(
    code: grpc.StatusCode, details: str, upstream: str = envelope.DEFAULT_UPSTREAM
) -> bytes:
    """A gRPC status as the envelope's bytes (for a stream that already sent its headers)."""
    status = http_status_from_code(code)
    return error_body(status, details or envelope.short_message(status), upstream)


def error_response(
    status: int,
    details: str,
    headers: Mapping[str, str] | None = None,
    upstream: str = envelope.DEFAULT_UPSTREAM,
) -> web.Response:
    """The error envelope as a response; 401 asks for a bearer token."""
    response = web.Response(
        status=status,
        body=error_body(status, details, upstream),
        content_type="application/json",
        headers=headers,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def from_code(
    code: grpc.StatusCode, details: str, upstream: str = envelope.DEFAULT_UPSTREAM
) -> web.Response:
    """Render a gRPC status, from the service or from the gateway's own checks."""
    status = http_status_from_code(code)
    return error_response(status, details or envelope.short_message(status), upstream=upstream)


def from_http_exception(
    error: web.HTTPException, upstream: str = envelope.DEFAULT_UPSTREAM
) -> web.Response:
    """Routing errors (404, 405 with its Allow header) in the same envelope as the rest."""
    headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
    details = {
        404: "No such path.",
        405: f"Method not allowed; use {headers['Allow'] if headers else 'another method'}.",
    }.get(error.status, error.text or envelope.short_message(error.status))
    return error_response(error.status, details, headers, upstream)
