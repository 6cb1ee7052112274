"""The gateway's one error type and its one renderer (grpc-gateway's runtime/errors.go).

Every failure, from the service, from the gateway's own checks, from routing (404, 405) or from
HTTP itself (408, 413, 414, 415, 431), is a GatewayError: a gRPC status, plus an HTTP status
only where HTTP needs its own. ErrorRenderer, bound at start, turns each into the envelope
(middleware.py catches them all in one place).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import grpc
from aiohttp import web

from dnc_common.wire import RETRY_PUSHBACK_KEY

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
# The gRPC code of an HTTP-only refusal, for logs and metrics; the HTTP status is rendered.
_CODE_BY_HTTP_STATUS: Mapping[int, grpc.StatusCode] = {
    404: grpc.StatusCode.NOT_FOUND,
    405: grpc.StatusCode.UNIMPLEMENTED,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    431: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def http_status_from_code(code: grpc.StatusCode) -> int:
    """grpc-gateway's mapping; a code it does not know is a 500."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


class GatewayError(Exception):
    """A failure as a gRPC status; `http_status` only where HTTP has a status of its own."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        *,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.status = http_status if http_status is not None else http_status_from_code(code)
        self.headers = headers

    @classmethod
    def refusal(cls, http_status: int, details: str) -> GatewayError:
        """An HTTP-level refusal (408, 413, 414, 415, 431) that has no gRPC status of its own."""
        code = _CODE_BY_HTTP_STATUS.get(http_status, grpc.StatusCode.INVALID_ARGUMENT)
        return cls(code, details, http_status=http_status)

    @classmethod
    def from_rpc(cls, error: grpc.aio.AioRpcError) -> GatewayError:
        """The call's status, except that CANCELLED becomes UNAVAILABLE.

        The gateway never cancels a call while its client waits (aiohttp does not cancel
        handlers when a client goes away), so a CANCELLED here came from the service: a server
        that stops resets the calls still waiting in its queue. They never ran; 499 would tell
        the client it gave up, while 503 says what happened and that a retry is safe.
        """
        code = error.code()
        if code == grpc.StatusCode.CANCELLED:
            code = grpc.StatusCode.UNAVAILABLE
        return cls(code, error.details() or "", headers=_retry_after(code, error))

    @classmethod
    def from_http_exception(cls, error: web.HTTPException) -> GatewayError:
        """Routing errors (404, 405 with its Allow header) and aiohttp's other refusals."""
        allow = error.headers.get("Allow")
        details = {
            404: "No such path.",
            405: f"Method not allowed; use {allow or 'another method'}.",
        }.get(error.status, error.text or "")
        code = _CODE_BY_HTTP_STATUS.get(error.status, grpc.StatusCode.UNKNOWN)
        headers = {"Allow": allow} if allow is not None else None
        return cls(code, details, http_status=error.status, headers=headers)


def _retry_after(code: grpc.StatusCode, error: grpc.aio.AioRpcError) -> dict[str, str] | None:
    """`Retry-After` (whole seconds, rounded up) for a RESOURCE_EXHAUSTED whose status carries a
    positive retry pushback (the service's admission refusals), else None."""
    if code != grpc.StatusCode.RESOURCE_EXHAUSTED:
        return None
    trailers: Any = error.trailing_metadata()  # grpc.aio.Metadata: (key, value) pairs
    for key, value in trailers or ():
        if key == RETRY_PUSHBACK_KEY and isinstance(value, str) and value.isdigit():
            return {"Retry-After": str(max(1, math.ceil(int(value) / 1000)))}
    return None


class ErrorRenderer:
    """Renders every GatewayError as the envelope: 4xx carry the details, 5xx a text naming
    the upstream (never its details, which may hold internals); 401 asks for a bearer token."""

    def __init__(self, upstream: str = envelope.DEFAULT_UPSTREAM) -> None:
        self.upstream = upstream

    def body(self, error: GatewayError) -> bytes:
        status = error.status
        if status >= 500:
            details = envelope.server_error_text(status, self.upstream)
        else:
            details = error.details or envelope.short_message(status)
        return envelope.error_body(status, envelope.short_message(status), details)

    def response(self, error: GatewayError) -> web.Response:
        response = web.Response(
            status=error.status,
            body=self.body(error),
            content_type="application/json",
            headers=error.headers,
        )
        if error.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
