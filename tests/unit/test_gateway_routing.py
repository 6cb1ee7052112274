"""ListDnc's route from its annotation, and query strings to ListDncRequest."""

from __future__ import annotations

import grpc
import pytest
from multidict import MultiDict

from dnc.v1 import dnc_pb2
from gateway.call_context import parse_grpc_timeout
from gateway.errors import GatewayError
from gateway.routes import Route, routes_from_files

INT32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def route() -> Route:
    routes = routes_from_files([dnc_pb2.DESCRIPTOR])
    return next(route for route in routes if route.path == "/api/dnc/list")


def request(route: Route, *pairs: tuple[str, str]) -> dnc_pb2.ListDncRequest:
    message = route.build_request(MultiDict(pairs))
    assert isinstance(message, dnc_pb2.ListDncRequest)
    return message


def refused(route: Route, *pairs: tuple[str, str]) -> str:
    with pytest.raises(GatewayError) as caught:
        route.build_request(MultiDict(pairs))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value.details


def test_the_route_comes_from_the_http_annotation(route: Route) -> None:
    assert (route.http_method, route.path) == ("GET", "/api/dnc/list")
    assert route.grpc_path == "/dnc.v1.DncService/ListDnc"
    assert route.request_class is dnc_pb2.ListDncRequest
    assert route.response_class is dnc_pb2.ListDncResponse
    assert route.body == ""
    assert route.path_fields == ()


def test_all_parameters(route: Route) -> None:
    message = request(route, ("page", "3"), ("limit", "100"), ("search", "+1 (212) 555"))
    assert (message.page, message.limit, message.search) == (3, 100, "+1 (212) 555")


def test_absent_parameters_stay_unset(route: Route) -> None:
    message = request(route)
    assert not message.HasField("page")
    assert not message.HasField("limit")
    assert message.search == ""


def test_semantic_bounds_are_left_to_the_service(route: Route) -> None:
    message = request(route, ("page", "0"), ("limit", "-5"))
    assert message.HasField("page")
    assert (message.page, message.limit) == (0, -5)
    assert request(route, ("search", "x" * 500)).search == "x" * 500


@pytest.mark.parametrize(
    "value", ["abc", "1.5", "", " 1", "1 ", "0x10", "1e3", "\u0661", "+", "1_000", "true"]
)
def test_a_page_that_is_not_an_integer_is_refused(route: Route, value: str) -> None:
    details = refused(route, ("page", value))
    assert "'page'" in details
    assert "integer" in details


@pytest.mark.parametrize("value", [str(INT32_MAX + 1), str(-(2**31) - 1), "9" * 30, "9" * 5000])
def test_int32_overflow_is_refused(route: Route, value: str) -> None:
    details = refused(route, ("limit", value))
    assert "out of range for int32" in details
    assert len(details) < 200  # a huge value is not echoed whole


def test_int32_bounds_themselves_are_accepted(route: Route) -> None:
    assert request(route, ("page", str(INT32_MAX))).page == INT32_MAX
    assert request(route, ("page", str(-(2**31)))).page == -(2**31)
    assert request(route, ("page", "+7")).page == 7
    assert request(route, ("page", "007")).page == 7


@pytest.mark.parametrize("name", ["page", "limit", "search"])
def test_a_repeated_parameter_is_refused(route: Route, name: str) -> None:
    value = "x" if name == "search" else "1"
    assert name in refused(route, (name, value), (name, value))


def test_a_parameter_repeated_with_an_empty_value_is_refused(route: Route) -> None:
    refused(route, ("search", "a"), ("search", ""))


def test_unknown_parameters_are_ignored(route: Route) -> None:
    message = request(route, ("page", "2"), ("pageSize", "x"), ("PAGE", "9"), ("", "1"))
    assert message == dnc_pb2.ListDncRequest(page=2)


def test_search_keeps_any_text(route: Route) -> None:
    for text in ["", "a b", "50%", "héllo", "😀", ".*", "\x00"]:
        assert request(route, ("search", text)).search == text


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5S", 5.0),
        ("100m", 0.1),
        ("2M", 120.0),
        ("1H", 3600.0),
        ("250u", 0.00025),
        ("30n", 3e-8),
        ("0S", 0.0),
        ("99999999m", 99999.999),
    ],
)
def test_grpc_timeout_units(header: str, seconds: float) -> None:
    assert parse_grpc_timeout(header) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "header", ["", "5", "S", "5s", "1.5S", "-1S", "123456789S", "5 S", "5SS", "five"]
)
def test_malformed_grpc_timeout_is_refused(header: str) -> None:
    with pytest.raises(GatewayError) as caught:
        parse_grpc_timeout(header)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Grpc-Timeout" in caught.value.details
