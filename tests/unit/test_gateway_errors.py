"""The gRPC-code-to-HTTP table and the one error renderer."""

from __future__ import annotations

import grpc
import orjson
import pytest
from aiohttp import web

from gateway import errors

# grpc-gateway runtime.HTTPStatusFromCode, copied from its source, for every gRPC code.
GRPC_GATEWAY_TABLE = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}


def envelope(response: web.Response) -> dict[str, object]:
    assert response.content_type == "application/json"
    assert isinstance(response.body, bytes)
    body: dict[str, object] = orjson.loads(response.body)
    return body


def test_the_table_is_grpc_gateways_for_every_code() -> None:
    assert {code.name: status for code, status in errors.HTTP_STATUS_BY_CODE.items()} == (
        GRPC_GATEWAY_TABLE
    )
    assert {code.name for code in grpc.StatusCode} == set(GRPC_GATEWAY_TABLE)


@pytest.mark.parametrize(("name", "status"), GRPC_GATEWAY_TABLE.items())
def test_http_status_from_code(name: str, status: int) -> None:
    assert errors.http_status_from_code(grpc.StatusCode[name]) == status


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400, "Invalid request"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "Forbidden"),
        (grpc.StatusCode.NOT_FOUND, 404, "Not found"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "Too many requests"),
        (grpc.StatusCode.FAILED_PRECONDITION, 400, "Invalid request"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "Conflict"),
    ],
)
def test_client_errors_carry_the_status_details(
    code: grpc.StatusCode, status: int, message: str
) -> None:
    response = errors.ErrorRenderer().response(
        errors.GatewayError(code, "limit must be between 1 and 100")
    )
    assert response.status == status
    assert list(envelope(response).items()) == [
        ("message", message),
        ("status", False),
        ("code", status),
        ("errorMessage", "limit must be between 1 and 100"),
        ("data", None),
    ]
    assert "WWW-Authenticate" not in response.headers


def test_unauthenticated_asks_for_a_bearer_token() -> None:
    response = errors.ErrorRenderer().response(
        errors.GatewayError(grpc.StatusCode.UNAUTHENTICATED, "token expired")
    )
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = envelope(response)
    assert (body["message"], body["errorMessage"], body["code"]) == (
        "Unauthorized",
        "token expired",
        401,
    )


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
    ],
)
def test_server_errors_never_show_upstream_details(code: grpc.StatusCode) -> None:
    secret = "pymongo.errors.ServerSelectionTimeoutError: mongo-7.internal:27017"
    response = errors.ErrorRenderer().response(errors.GatewayError(code, secret))
    body = envelope(response)
    assert response.status >= 500
    assert body["code"] == response.status
    assert body["status"] is False
    assert body["data"] is None
    assert isinstance(body["errorMessage"], str)
    assert body["errorMessage"]
    assert secret not in str(body)
    assert "mongo" not in str(body)


def test_empty_details_still_give_a_readable_error_message() -> None:
    body = envelope(
        errors.ErrorRenderer().response(errors.GatewayError(grpc.StatusCode.INVALID_ARGUMENT, ""))
    )
    assert body["errorMessage"] == "Invalid request"


def test_routing_errors_use_the_same_envelope() -> None:
    not_allowed = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(web.HTTPMethodNotAllowed("POST", ["GET"]))
    )
    assert not_allowed.status == 405
    assert not_allowed.headers["Allow"] == "GET"
    assert envelope(not_allowed)["message"] == "Method not allowed"
    assert envelope(not_allowed)["code"] == 405

    not_found = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(web.HTTPNotFound())
    )
    assert not_found.status == 404
    assert "Allow" not in not_found.headers
    assert list(envelope(not_found)) == ["message", "status", "code", "errorMessage", "data"]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (408, grpc.StatusCode.DEADLINE_EXCEEDED),
        (413, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (414, grpc.StatusCode.INVALID_ARGUMENT),
        (415, grpc.StatusCode.INVALID_ARGUMENT),
        (431, grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
)
def test_an_http_refusal_keeps_its_status_beside_a_grpc_code(
    status: int, code: grpc.StatusCode
) -> None:
    error = errors.GatewayError.refusal(status, "too much")
    assert (error.status, error.code, error.details, error.headers) == (
        status,
        code,
        "too much",
        None,
    )
    assert envelope(errors.ErrorRenderer().response(error))["errorMessage"] == "too much"


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (web.HTTPNotFound(), grpc.StatusCode.NOT_FOUND),
        (web.HTTPMethodNotAllowed("POST", ["GET"]), grpc.StatusCode.UNIMPLEMENTED),
        (web.HTTPConflict(), grpc.StatusCode.UNKNOWN),
    ],
)
def test_routing_errors_carry_a_grpc_code_and_only_an_allow_header(
    exception: web.HTTPException, code: grpc.StatusCode
) -> None:
    error = errors.GatewayError.from_http_exception(exception)
    assert (error.code, error.status) == (code, exception.status)
    assert error.headers == ({"Allow": "GET"} if exception.status == 405 else None)


class FailedCall(grpc.aio.AioRpcError):
    def __init__(
        self, code: grpc.StatusCode, details: str | None, *trailers: tuple[str, str]
    ) -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details, None)


@pytest.mark.parametrize(
    ("code", "pushback", "retry_after"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "1000", "1"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "1500", "2"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "1001", "2"),  # rounded up, to whole seconds
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "10", "1"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "-1", None),
        (grpc.StatusCode.UNAVAILABLE, "1000", None),
    ],
)
def test_an_admission_refusal_says_when_to_retry(
    code: grpc.StatusCode, pushback: str, retry_after: str | None
) -> None:
    error = errors.GatewayError.from_rpc(
        FailedCall(code, "busy", ("grpc-retry-pushback-ms", pushback))
    )
    assert (error.headers or {}).get("Retry-After") == retry_after


@pytest.mark.parametrize(
    ("received", "code"),
    [
        (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE),
        (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND),
    ],
)
def test_a_failed_call_keeps_its_status_except_cancelled(
    received: grpc.StatusCode, code: grpc.StatusCode
) -> None:
    error = errors.GatewayError.from_rpc(FailedCall(received, "gone"))
    assert (error.code, error.details, error.status, error.headers) == (
        code,
        "gone",
        errors.http_status_from_code(code),
        None,
    )
    assert errors.GatewayError.from_rpc(FailedCall(received, None)).details == ""
