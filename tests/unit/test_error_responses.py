"""The exact text each error response carries: routing errors, 5xx messages, unknown codes."""

from __future__ import annotations

from typing import cast

import grpc
import orjson
import pytest
from aiohttp import web

from gateway import envelope, errors


def error_message(response: web.Response) -> object:
    assert isinstance(response.body, bytes)
    return orjson.loads(response.body)["errorMessage"]


def test_a_code_the_table_does_not_know_is_a_500() -> None:
    unknown = cast(grpc.StatusCode, object())
    assert errors.http_status_from_code(unknown) == 500


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (grpc.StatusCode.UNIMPLEMENTED, "This operation is not implemented."),
        (grpc.StatusCode.UNAVAILABLE, "The upstream service is unavailable; try again later."),
        (
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "The upstream service did not answer in time; try again later.",
        ),
        (grpc.StatusCode.INTERNAL, "An internal error occurred; it has been logged."),
    ],
)
def test_each_server_error_has_its_own_text(code: grpc.StatusCode, text: str) -> None:
    """The generic texts; DNC_API names its upstream (tests/integration pins those)."""
    assert (
        error_message(errors.ErrorRenderer().response(errors.GatewayError(code, "upstream detail")))
        == text
    )


def test_a_gateway_error_reads_as_its_details() -> None:
    error = errors.GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "page must be >= 1")
    assert str(error) == "page must be >= 1"
    assert (error.code, error.details) == (grpc.StatusCode.INVALID_ARGUMENT, "page must be >= 1")


def test_not_found_says_there_is_no_such_path() -> None:
    response = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(web.HTTPNotFound())
    )
    assert (response.status, error_message(response)) == (404, "No such path.")


def test_method_not_allowed_names_the_allowed_methods() -> None:
    response = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(web.HTTPMethodNotAllowed("DELETE", ["GET", "POST"]))
    )
    assert response.status == 405
    assert response.headers["Allow"] == "GET,POST"
    assert error_message(response) == "Method not allowed; use GET,POST."
    assert envelope.short_message(405) == "Method not allowed"


def test_a_405_without_an_allow_header_still_reads_well() -> None:
    class NotAllowed(web.HTTPClientError):
        status_code = 405

    response = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(NotAllowed())
    )
    assert "Allow" not in response.headers
    assert error_message(response) == "Method not allowed; use another method."


def test_other_routing_errors_keep_their_text_or_get_the_short_message() -> None:
    too_large = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(web.HTTPRequestEntityTooLarge(10, 20))
    )
    assert (too_large.status, error_message(too_large)) == (
        413,
        "Maximum request body size 10 exceeded.",
    )
    bare = errors.ErrorRenderer().response(
        errors.GatewayError.from_http_exception(web.HTTPBadRequest(text=""))
    )
    assert (bare.status, error_message(bare)) == (400, "Invalid request")


def test_the_content_type_header_is_written_in_its_usual_lower_case() -> None:
    """Media types compare case-insensitively, but naive clients compare the header text."""
    response = errors.ErrorRenderer().response(
        errors.GatewayError(grpc.StatusCode.NOT_FOUND, "no such entry")
    )
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (grpc.StatusCode.CANCELLED, "Client closed request"),
        (grpc.StatusCode.INVALID_ARGUMENT, "Invalid request"),
        (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized"),
        (grpc.StatusCode.PERMISSION_DENIED, "Forbidden"),
        (grpc.StatusCode.NOT_FOUND, "Not found"),
        (grpc.StatusCode.ABORTED, "Conflict"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "Too many requests"),
        (grpc.StatusCode.INTERNAL, "Internal server error"),
        (grpc.StatusCode.UNIMPLEMENTED, "Not implemented"),
        (grpc.StatusCode.UNAVAILABLE, "Service unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "Gateway timeout"),
    ],
)
def test_each_status_has_its_short_message(code: grpc.StatusCode, message: str) -> None:
    """mutmut leaves module-level tables alone, so the table is pinned here entry by entry."""
    response = errors.ErrorRenderer().response(errors.GatewayError(code, "detail"))
    assert isinstance(response.body, bytes)
    assert orjson.loads(response.body)["message"] == message
