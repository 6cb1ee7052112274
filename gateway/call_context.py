"""What a gRPC call carries besides its message: metadata (credentials, request id, trace
context) and its deadline (the gateway's, shortened by the client's Grpc-Timeout)."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

import grpc
from aiohttp import web

from dnc_common.tracing import outgoing_metadata
from dnc_common.wire import MAX_REQUEST_ID_CHARS, REQUEST_ID_KEY, is_request_id

from .errors import GatewayError

logger = logging.getLogger("gateway")
# The shortest deadline worth a call.
MIN_TIMEOUT_SECONDS = 0.001
MISSING_AUTHORIZATION = "missing bearer token: send 'Authorization: Bearer <jwt>'"
MALFORMED_AUTHORIZATION = "malformed authorization: expected 'Bearer <jwt>'"
# A bearer JWT's form, as the upstream tests it: the scheme, spaces, three base64url parts. A
# value that fails it would be refused upstream anyway, so it is refused before any body is read.
_BEARER = re.compile(r"(?i:bearer) +[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*", re.ASCII)
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")
# grpc-gateway's Grpc-Timeout units (the gRPC wire format): hours down to nanoseconds.
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")

# The current request's id, set by the observing middleware, read by metadata and logs.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
Metadata = tuple[tuple[str, str], ...]


def request_id_of(header: str | None) -> str:
    """The client's X-Request-Id when it is 1-128 printable ASCII characters without spaces,
    else a new uuid4 (a refused one is logged, by length only, under the new id)."""
    if header is not None and is_request_id(header):
        return header
    made = str(uuid.uuid4())
    if header:
        logger.warning(
            "refused the client's X-Request-Id (%d characters; an id is 1-%d printable ASCII "
            "characters without spaces): this request's id is %s",
            len(header), MAX_REQUEST_ID_CHARS, made,
            extra={"request_id": made},
        )  # fmt: skip
    return made


def parse_grpc_timeout(text: str) -> float:
    """`Grpc-Timeout: 5S` / `100m` to seconds; anything else is INVALID_ARGUMENT."""
    match = _TIMEOUT.fullmatch(text.strip())
    if match is None:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"invalid Grpc-Timeout header {text[:32]!r}: expected up to 8 digits and a unit "
            "(H, M, S, m, u, n), e.g. 5S or 100m",
        )
    return int(match[1]) * _TIMEOUT_UNITS[match[2]]


class CallContext:
    """Metadata and deadlines of the calls one route makes, from settings fixed at start."""

    def __init__(self, timeout_seconds: float, authorization_required: bool) -> None:
        self._timeout_seconds = timeout_seconds
        self._authorization_required = authorization_required

    def metadata(self, request: web.Request) -> Metadata:
        """`authorization` unchanged, the request id and the trace context; gRPC metadata must
        be printable ASCII.

        No Authorization header (when the API requires one), one not of the form `Bearer
        <three base64url parts>`, or more than one is UNAUTHENTICATED here, as the service would
        answer, before any body is read: with two, forwarding either would pick for the service.
        """
        metadata = ((REQUEST_ID_KEY, request_id_var.get()), *outgoing_metadata())
        given = request.headers.getall("Authorization", ())
        if len(given) > 1:
            raise GatewayError(
                grpc.StatusCode.UNAUTHENTICATED, "more than one Authorization header"
            )
        if not (given and given[0].strip()):
            if self._authorization_required:
                raise GatewayError(grpc.StatusCode.UNAUTHENTICATED, MISSING_AUTHORIZATION)
            return metadata
        if not _METADATA_VALUE.fullmatch(given[0]):
            raise GatewayError(
                grpc.StatusCode.UNAUTHENTICATED, "the Authorization header is not printable ASCII"
            )
        if self._authorization_required and not _BEARER.fullmatch(given[0].strip()):
            raise GatewayError(grpc.StatusCode.UNAUTHENTICATED, MALFORMED_AUTHORIZATION)
        return (*metadata, ("authorization", given[0]))

    def timeout(self, request: web.Request) -> float:
        """The route's deadline, shortened by the client's Grpc-Timeout header.

        Under a millisecond the call could not even be sent in time (gRPC would start it anyway
        and fail it in its core): DEADLINE_EXCEEDED at once, without a call.
        """
        header = request.headers.get("Grpc-Timeout")
        if header is None:
            return self._timeout_seconds
        timeout = min(self._timeout_seconds, parse_grpc_timeout(header))
        if timeout < MIN_TIMEOUT_SECONDS:
            raise GatewayError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"Grpc-Timeout {header!r} is under a millisecond",
            )
        return timeout
