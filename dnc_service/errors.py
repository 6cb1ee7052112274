"""Domain errors, each naming its gRPC status, and the one place they become a status.

The status carries machine-readable details in the standard `grpc-status-details-bin` trailer
(a google.rpc.Status): a BadRequest naming the request field at fault, or an ErrorInfo with a
stable reason, so clients need not parse the English message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from dnc_common.wire import DO_NOT_RETRY, RETRY_PUSHBACK_KEY

logger = logging.getLogger(__name__)


class DncError(Exception):
    """Root of the errors a caller may see; `message` is safe to send to the client.

    `field` names the request field at fault (for google.rpc.BadRequest), `reason` is a
    stable, machine-readable cause such as TOKEN_EXPIRED (for google.rpc.ErrorInfo), and
    `retry_after_seconds`, when set, tells the client when a retry may succeed (google.rpc.RetryInfo
    and gRFC A6's retry pushback).
    """

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        reason: str = "",
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


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
# google.rpc.ErrorInfo.domain: names the API whose reasons these are.
ERROR_DOMAIN = "dnc.v1"
# Codes whose status always carries an ErrorInfo (with the code's name when no reason is given).
_ERROR_INFO_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})


def status_for(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """Map any exception to the status sent to the client; internals are logged, never sent."""
    if isinstance(error, DncError) and error.code is not grpc.StatusCode.INTERNAL:
        return error.code, error.message
    logger.error("internal error", exc_info=error)
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def rich_status(error: BaseException) -> grpc.Status:
    """The status of `error` with its details: BadRequest for INVALID_ARGUMENT, ErrorInfo when
    a reason is known (always for UNAUTHENTICATED / PERMISSION_DENIED); INTERNAL has none."""
    code, message = status_for(error)
    status = status_pb2.Status(code=code.value[0], message=message)
    if isinstance(error, DncError) and code is not grpc.StatusCode.INTERNAL:
        for detail in _details(error, code):
            packed = any_pb2.Any()
            packed.Pack(detail)
            status.details.append(packed)
    return rpc_status.to_status(status)


def _details(error: DncError, code: grpc.StatusCode) -> list[Any]:
    details: list[Any] = []
    if code is grpc.StatusCode.INVALID_ARGUMENT or error.field:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.message
        )
        details.append(error_details_pb2.BadRequest(field_violations=[violation]))
    if error.reason or code in _ERROR_INFO_CODES:
        details.append(
            error_details_pb2.ErrorInfo(reason=error.reason or code.name, domain=ERROR_DOMAIN)
        )
    if error.retry_after_seconds is not None:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(int(error.retry_after_seconds * 1000))
        details.append(retry)
    return details


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: BaseException) -> NoReturn:
    """End the call with `error`'s status and details: the one abort path of every handler.

    Trailers the handler already set (such as the organization id) are kept beside the details.
    UNAVAILABLE (the database) asks clients not to retry: every replica shares that database;
    an error with a retry delay (admission's refusals) says when to retry instead.
    """
    status = rich_status(error)
    trailers = (*(context.trailing_metadata() or ()), *status.trailing_metadata)
    if status.code is grpc.StatusCode.UNAVAILABLE:  # the shared database: see RETRY_PUSHBACK_KEY
        trailers = (*trailers, (RETRY_PUSHBACK_KEY, DO_NOT_RETRY))
    elif isinstance(error, DncError) and error.retry_after_seconds is not None:
        trailers = (*trailers, (RETRY_PUSHBACK_KEY, str(int(error.retry_after_seconds * 1000))))
    # context.abort rather than abort_with_status: the same wire result, and tracing's context
    # wrapper records the code only on abort.
    try:
        await context.abort(status.code, status.details, trailers)
    except grpc.aio.AbortError:
        raise
    except Exception:  # grpc's ExecuteBatchError: the call ended (its deadline passed, its
        # client left) before its status could go out. No one is left to answer: end the
        # handler as grpc ends a cancelled one, instead of grpc logging a traceback.
        logger.debug("call ended before its status (%s) was sent", status.code.name)
        raise asyncio.CancelledError from None
