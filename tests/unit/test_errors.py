"""Domain errors map to one status each; driver errors are translated at the edge."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from pymongo.errors import (
    AutoReconnect,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from dnc_service.errors import (
    ERROR_DOMAIN,
    INTERNAL_MESSAGE,
    DeadlineExceeded,
    DncError,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    abort,
    rich_status,
    status_for,
)
from dnc_service.store.client import driver_errors


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgument("bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (Unauthenticated("bad"), grpc.StatusCode.UNAUTHENTICATED),
        (PermissionDenied("bad"), grpc.StatusCode.PERMISSION_DENIED),
        (Unavailable("bad"), grpc.StatusCode.UNAVAILABLE),
        (DeadlineExceeded("bad"), grpc.StatusCode.DEADLINE_EXCEEDED),
    ],
)
def test_domain_errors_keep_their_message(error: DncError, code: grpc.StatusCode) -> None:
    assert status_for(error) == (code, "bad")


@pytest.mark.parametrize(
    "error", [DncError("db host 10.0.0.1 said no"), KeyError("orgId"), RuntimeError("boom")]
)
def test_anything_else_is_internal_without_details(error: Exception) -> None:
    assert status_for(error) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


@pytest.mark.parametrize(
    ("driver_error", "domain_error"),
    [
        (ServerSelectionTimeoutError("no servers"), Unavailable),
        (AutoReconnect("connection reset"), Unavailable),
        (NetworkTimeout("timed out"), DeadlineExceeded),
        (ExecutionTimeout("operation exceeded time limit", 50), DeadlineExceeded),
        (OperationFailure("unknown operator"), DncError),
    ],
)
def test_driver_errors_are_translated(
    driver_error: Exception, domain_error: type[DncError]
) -> None:
    with pytest.raises(domain_error) as raised, driver_errors():
        raise driver_error
    assert type(raised.value) is domain_error
    assert "10.0.0.1" not in raised.value.message


def _details(status: grpc.Status) -> list[object]:
    [(key, value)] = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    rich = status_pb2.Status.FromString(value)
    assert (rich.code, rich.message) == (status.code.value[0], status.details)
    unpacked: list[object] = []
    for packed in rich.details:
        for kind in (
            error_details_pb2.BadRequest,
            error_details_pb2.ErrorInfo,
            error_details_pb2.RetryInfo,
        ):
            if packed.Is(kind.DESCRIPTOR):
                detail = kind()
                packed.Unpack(detail)
                unpacked.append(detail)
    assert len(unpacked) == len(rich.details)
    return unpacked


def test_invalid_argument_carries_a_bad_request_naming_the_field() -> None:
    status = rich_status(InvalidArgument("limit too big", field="limit"))
    assert (status.code, status.details) == (grpc.StatusCode.INVALID_ARGUMENT, "limit too big")
    [bad_request] = _details(status)
    assert bad_request == error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="limit", description="limit too big")
        ]
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Unauthenticated("expired", reason="TOKEN_EXPIRED"), "TOKEN_EXPIRED"),
        (PermissionDenied("no org", reason="NO_ORGANIZATION"), "NO_ORGANIZATION"),
        (Unauthenticated("no reason given"), "UNAUTHENTICATED"),
        (Unavailable("try later", reason="DATABASE_UNAVAILABLE"), "DATABASE_UNAVAILABLE"),
    ],
)
def test_reasons_become_error_info(error: DncError, reason: str) -> None:
    [info] = _details(rich_status(error))
    assert info == error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN)


def test_other_errors_carry_no_details() -> None:
    assert _details(rich_status(Unavailable("try later"))) == []
    internal = rich_status(DncError("db host 10.0.0.1 said no", reason="SECRET", field="x"))
    assert (internal.code, internal.details) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
    assert _details(internal) == []


def test_a_retry_delay_becomes_retry_info() -> None:
    status = rich_status(
        ResourceExhausted("busy", reason="ORG_OVERLOADED", retry_after_seconds=1.5)
    )
    retry = [d for d in _details(status) if isinstance(d, error_details_pb2.RetryInfo)]
    assert [r.retry_delay.ToMilliseconds() for r in retry] == [1500]


class _EndedCall:
    """A context whose call ended before its status went out: abort fails as grpc's does."""

    def trailing_metadata(self) -> tuple[()]:
        return ()

    async def abort(self, *args: Any) -> None:
        raise RuntimeError('Failed "execute_batch"')


def test_aborting_a_call_that_already_ended_ends_the_handler_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="dnc_service.errors")
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(abort(_EndedCall(), DeadlineExceeded("late")))  # type: ignore[arg-type]  # a stand-in context
    # No traceback: one debug line naming the status that could not go out.
    assert [record.getMessage() for record in caplog.records] == [
        "call ended before its status (DEADLINE_EXCEEDED) was sent"
    ]
