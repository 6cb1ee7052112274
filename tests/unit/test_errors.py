"""Domain errors map to one status each; driver errors are translated at the edge."""

from __future__ import annotations

import grpc
import pytest
from pymongo.errors import (
    AutoReconnect,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from dnc_service.errors import (
    INTERNAL_MESSAGE,
    DeadlineExceeded,
    DncError,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
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
