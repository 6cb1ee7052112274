"""Domain errors, each naming its gRPC status, and the one place they become a status."""

from __future__ import annotations

import logging

import grpc

logger = logging.getLogger(__name__)


class DncError(Exception):
    """Root of the errors a caller may see; `message` is safe to send to the client.

    `field` names the request field at fault (for google.rpc.BadRequest) and `reason` is a
    stable, machine-readable cause such as TOKEN_EXPIRED (for google.rpc.ErrorInfo).
    """

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, *, field: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason


class InvalidArgument(DncError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(DncError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(DncError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(DncError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DncError):
    code = grpc.StatusCode.ALREADY_EXISTS


class ResourceExhausted(DncError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DncError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(DncError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


INTERNAL_MESSAGE = "internal error"


def status_for(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """Map any exception to the status sent to the client; internals are logged, never sent."""
    if isinstance(error, DncError) and error.code is not grpc.StatusCode.INTERNAL:
        return error.code, error.message
    logger.error("internal error", exc_info=error)
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE
