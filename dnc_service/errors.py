"""Domain errors, each naming its gRPC status, and the one place they become a status."""

from __future__ import annotations

import logging

import grpc

logger = logging.getLogger(__name__)


class DncError(Exception):
    """Root of the errors a caller may see; `message` is safe to send to the client."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DncError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(DncError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(DncError):
    code = grpc.StatusCode.PERMISSION_DENIED


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
