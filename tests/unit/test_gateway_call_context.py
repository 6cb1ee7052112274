"""A call's metadata and deadline from the HTTP request: credentials forwarded unchanged or
refused as the service would, the request id, and Grpc-Timeout shortening the deadline."""

from __future__ import annotations

import grpc
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from dnc_common.wire import REQUEST_ID_KEY
from gateway.call_context import (
    MALFORMED_AUTHORIZATION,
    MISSING_AUTHORIZATION,
    CallContext,
    request_id_of,
    request_id_var,
)
from gateway.errors import GatewayError


def request(*headers: tuple[str, str]) -> web.Request:
    return make_mocked_request("GET", "/", headers=CIMultiDict(headers))


def refusal(context: CallContext, *headers: tuple[str, str]) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        context.metadata(request(*headers))
    return raised.value


def test_the_authorization_header_and_the_request_id_are_forwarded_unchanged() -> None:
    token = request_id_var.set("req-7")
    try:
        metadata = CallContext(10, authorization_required=True).metadata(
            request(("Authorization", "Bearer a.b.c"))
        )
    finally:
        request_id_var.reset(token)
    assert metadata == ((REQUEST_ID_KEY, "req-7"), ("authorization", "Bearer a.b.c"))


def test_without_credentials_an_optional_api_forwards_none() -> None:
    metadata = CallContext(10, authorization_required=False).metadata(request())
    assert [key for key, _ in metadata] == [REQUEST_ID_KEY]


@pytest.mark.parametrize("headers", [(), (("Authorization", "  "),)])
def test_missing_credentials_are_unauthenticated_when_required(
    headers: tuple[tuple[str, str], ...],
) -> None:
    error = refusal(CallContext(10, authorization_required=True), *headers)
    assert (error.code, error.details, error.status) == (
        grpc.StatusCode.UNAUTHENTICATED,
        MISSING_AUTHORIZATION,
        401,
    )


@pytest.mark.parametrize("required", [True, False])
def test_two_authorization_headers_are_refused(required: bool) -> None:
    error = refusal(
        CallContext(10, required), ("Authorization", "Bearer a"), ("Authorization", "Bearer b")
    )
    assert (error.code, error.details) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "more than one Authorization header",
    )


def test_a_header_grpc_cannot_carry_is_refused() -> None:
    error = refusal(CallContext(10, True), ("Authorization", "Bearer \x7fx"))
    assert (error.code, error.details) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "the Authorization header is not printable ASCII",
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, 10.0), ("2S", 2.0), ("1M", 10.0), ("1m", 0.001), ("10S", 10.0)],
)
def test_grpc_timeout_only_shortens_the_deadline(header: str | None, seconds: float) -> None:
    headers = (("Grpc-Timeout", header),) if header else ()
    assert CallContext(10, True).timeout(request(*headers)) == pytest.approx(seconds)


def test_a_deadline_under_a_millisecond_fails_at_once() -> None:
    with pytest.raises(GatewayError) as raised:
        CallContext(10, True).timeout(request(("Grpc-Timeout", "999u")))
    assert (raised.value.code, raised.value.details, raised.value.status) == (
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "Grpc-Timeout '999u' is under a millisecond",
        504,
    )


@pytest.mark.parametrize("value", ["Bearer abc", "Basic dXNlcjpwdw==", "Bearer a.b"])
def test_credentials_not_a_bearer_jwt_are_refused_before_any_call(value: str) -> None:
    error = refusal(CallContext(10, authorization_required=True), ("Authorization", value))
    assert (error.code, error.details, error.status) == (
        grpc.StatusCode.UNAUTHENTICATED,
        MALFORMED_AUTHORIZATION,
        401,
    )


def test_a_refused_request_id_is_logged_under_the_new_id_with_its_length_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made = request_id_of("a b")
    [record] = caplog.records
    assert record.request_id == made  # type: ignore[attr-defined]  # the log's request_id field
    assert record.getMessage() == (
        "refused the client's X-Request-Id (3 characters; an id is 1-128 printable ASCII "
        f"characters without spaces): this request's id is {made}"
    )
