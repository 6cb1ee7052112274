"""The status mapping end to end: each domain error's code, what is logged for internals, which
details a status carries, and what `abort` hands to gRPC (trailers kept, UNAVAILABLE not to
be retried)."""

from __future__ import annotations

import logging
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from dnc_common.wire import DO_NOT_RETRY, RETRY_PUSHBACK_KEY
from dnc_service.errors import (
    INTERNAL_MESSAGE,
    AlreadyExists,
    DeadlineExceeded,
    DncError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    abort,
    rich_status,
    status_for,
)

DETAILS_KEY = "grpc-status-details-bin"


class Aborted(grpc.aio.AbortError):
    """What grpc.aio's context.abort raises (AbortError): the handler never continues."""


class RecordingContext:
    """The two calls `abort` makes on a grpc.aio servicer context, recorded."""

    def __init__(self, trailers: tuple[tuple[str, str], ...] | None) -> None:
        self._trailers = trailers
        self.aborted: tuple[grpc.StatusCode, str, tuple[tuple[str, str | bytes], ...]] | None = None

    def trailing_metadata(self) -> tuple[tuple[str, str], ...] | None:
        return self._trailers

    async def abort(
        self, code: grpc.StatusCode, details: str, trailers: tuple[tuple[str, str | bytes], ...]
    ) -> None:
        self.aborted = (code, details, trailers)
        raise Aborted


async def aborted_with(
    error: BaseException, trailers: tuple[tuple[str, str], ...] | None
) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str | bytes], ...]]:
    context = RecordingContext(trailers)
    with pytest.raises(Aborted):
        await abort(cast("grpc.aio.ServicerContext[Any, Any]", context), error)
    assert context.aborted is not None
    return context.aborted


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgument("m"), grpc.StatusCode.INVALID_ARGUMENT),
        (Unauthenticated("m"), grpc.StatusCode.UNAUTHENTICATED),
        (PermissionDenied("m"), grpc.StatusCode.PERMISSION_DENIED),
        (NotFound("m"), grpc.StatusCode.NOT_FOUND),
        (AlreadyExists("m"), grpc.StatusCode.ALREADY_EXISTS),
        (ResourceExhausted("m"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (Unavailable("m"), grpc.StatusCode.UNAVAILABLE),
        (DeadlineExceeded("m"), grpc.StatusCode.DEADLINE_EXCEEDED),
    ],
    ids=lambda value: value.name if isinstance(value, grpc.StatusCode) else type(value).__name__,
)
def test_each_domain_error_has_its_code_and_is_not_logged(
    error: DncError, code: grpc.StatusCode, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dnc_service.errors"):
        assert status_for(error) == (code, "m")
    assert caplog.records == []


@pytest.mark.parametrize(
    "error",
    [RuntimeError("db host 10.0.0.1 said no"), DncError("a bug of ours")],
    ids=["runtime", "dnc-error"],
)
def test_an_internal_error_is_logged_with_its_traceback(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="dnc_service.errors"):
        assert status_for(error) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "internal error")
    assert record.exc_info is not None
    assert record.exc_info[1] is error


def details_of(status: grpc.Status) -> list[Any]:
    [(key, value)] = status.trailing_metadata
    assert key == DETAILS_KEY
    found = []
    for packed in status_pb2.Status.FromString(value).details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo):
            if packed.Is(kind.DESCRIPTOR):
                detail = kind()
                packed.Unpack(detail)
                found.append(detail)
    return found


def bad_request(field: str, description: str) -> Any:
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    return error_details_pb2.BadRequest(field_violations=[violation])


def test_invalid_argument_always_has_a_bad_request_even_without_a_field() -> None:
    assert details_of(rich_status(InvalidArgument("bad request"))) == [
        bad_request("", "bad request")
    ]


@pytest.mark.parametrize(
    ("error", "details"),
    [
        (Unauthenticated("who?"), [error_details_pb2.ErrorInfo(reason="UNAUTHENTICATED")]),
        (PermissionDenied("no"), [error_details_pb2.ErrorInfo(reason="PERMISSION_DENIED")]),
        (NotFound("gone"), []),
        (AlreadyExists("twice"), []),
        (ResourceExhausted("busy"), []),
        (Unavailable("later"), []),
        (DeadlineExceeded("slow"), []),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, DncError) else "",
)
def test_only_authentication_codes_name_a_reason_unasked(
    error: DncError, details: list[Any]
) -> None:
    for detail in details:
        detail.domain = "dnc.v1"
    assert details_of(rich_status(error)) == details


def test_a_field_gives_a_bad_request_whatever_the_code() -> None:
    error = ResourceExhausted("too many numbers", field="phone_numbers")
    assert details_of(rich_status(error)) == [bad_request("phone_numbers", "too many numbers")]


def test_a_field_and_a_reason_give_both_details_in_order() -> None:
    error = PermissionDenied("not yours", field="org_id", reason="OTHER_ORGANIZATION")
    assert details_of(rich_status(error)) == [
        bad_request("org_id", "not yours"),
        error_details_pb2.ErrorInfo(reason="OTHER_ORGANIZATION", domain="dnc.v1"),
    ]


@pytest.mark.asyncio
async def test_abort_keeps_the_trailers_already_set_and_adds_the_details() -> None:
    error = InvalidArgument("limit too big", field="limit")
    code, details, trailers = await aborted_with(error, (("dnc-org-id", "o1"),))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "limit too big")
    assert trailers == (("dnc-org-id", "o1"), *rich_status(error).trailing_metadata)
    assert [key for key, _ in trailers] == ["dnc-org-id", DETAILS_KEY]


@pytest.mark.asyncio
async def test_abort_without_earlier_trailers() -> None:
    error = NotFound("no such number")
    code, details, trailers = await aborted_with(error, None)
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, "no such number")
    assert trailers == tuple(rich_status(error).trailing_metadata)


@pytest.mark.asyncio
async def test_unavailable_asks_clients_not_to_retry() -> None:
    code, _, trailers = await aborted_with(Unavailable("database unavailable"), ())
    assert code is grpc.StatusCode.UNAVAILABLE
    assert [key for key, _ in trailers] == [DETAILS_KEY, RETRY_PUSHBACK_KEY]
    assert trailers[-1] == (RETRY_PUSHBACK_KEY, DO_NOT_RETRY)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "error",
    [DeadlineExceeded("slow"), ResourceExhausted("busy"), RuntimeError("boom")],
    ids=["deadline", "exhausted", "internal"],
)
async def test_other_codes_leave_retrying_to_the_client(error: BaseException) -> None:
    _, _, trailers = await aborted_with(error, ())
    assert RETRY_PUSHBACK_KEY not in [key for key, _ in trailers]
