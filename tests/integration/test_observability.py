"""One JSON access line per call (no token, no whole phone number) and Prometheus metrics."""

from __future__ import annotations

import uuid

import grpc
import pytest

from data_support import OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import Gateway
from service_support import Service
from support import wait_until


def test_one_access_line_per_call_without_secrets(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=2)
    request_id = str(uuid.uuid4())
    metadata = (*org.metadata, ("x-request-id", request_id))
    stub.ListDnc(
        dnc_pb2.ListDncRequest(search="+1 (212) 555-0001", limit=5), metadata=metadata, timeout=10
    )
    wait_until(lambda: len(grpc_service.process.json_lines(request_id=request_id)) == 1, timeout=5)
    [line] = grpc_service.process.json_lines(request_id=request_id)
    assert line["method"] == "/dnc.v1.DncService/ListDnc"
    assert (line["code"], line["org_id"], line["page"], line["limit"]) == (
        "OK",
        str(org.org_id),
        1,
        5,
    )
    assert isinstance(line["latency_ms"], float)
    assert line["search"] == "+* (***) ***-0001"
    log = grpc_service.process.log()
    assert org.token not in log
    assert org.token.split(".")[2] not in log


def test_phone_numbers_in_searches_are_masked(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    request_id = str(uuid.uuid4())
    stub.ListDnc(
        dnc_pb2.ListDncRequest(search="12125550000"),
        metadata=(*org.metadata, ("x-request-id", request_id)),
        timeout=10,
    )
    wait_until(lambda: len(grpc_service.process.json_lines(request_id=request_id)) == 1, timeout=5)
    assert grpc_service.process.json_lines(request_id=request_id)[0]["search"] == "*******0000"
    assert "12125550000" not in grpc_service.process.log()


@pytest.mark.parametrize(
    ("search", "masked"),
    [
        ("212/555/1234", "***/***/1234"),
        ("212_555_1234", "***_***_1234"),
        ("212\u2010555\u20101234", "***\u2010***\u20101234"),
        ("212\u00a0555\u00a01234", "***\u00a0***\u00a01234"),
        ("\uff12\uff11\uff12-555-1234", "***-***-1234"),  # fullwidth digits
    ],
)
def test_phone_numbers_with_any_separator_are_masked(
    grpc_service: Service,
    stub: dnc_pb2_grpc.DncServiceStub,
    new_org: OrgFactory,
    search: str,
    masked: str,
) -> None:
    org = new_org()
    request_id = str(uuid.uuid4())
    stub.ListDnc(
        dnc_pb2.ListDncRequest(search=search),
        metadata=(*org.metadata, ("x-request-id", request_id)),
        timeout=10,
    )
    wait_until(lambda: len(grpc_service.process.json_lines(request_id=request_id)) == 1, timeout=5)
    assert grpc_service.process.json_lines(request_id=request_id)[0]["search"] == masked


def test_failed_calls_are_logged_with_their_code(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub
) -> None:
    request_id = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError):
        stub.ListDnc(
            dnc_pb2.ListDncRequest(),
            metadata=(("authorization", "Bearer x.y.z"), ("x-request-id", request_id)),
            timeout=10,
        )
    wait_until(lambda: len(grpc_service.process.json_lines(request_id=request_id)) == 1, timeout=5)
    assert grpc_service.process.json_lines(request_id=request_id)[0]["code"] == "UNAUTHENTICATED"
    assert "Bearer x.y.z" not in grpc_service.process.log()


def test_metrics_count_calls_by_method_and_code(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    ok_key = ("dnc_grpc_requests_total", (("code", "OK"), ("method", "/dnc.v1.DncService/ListDnc")))
    bad_key = (
        "dnc_grpc_requests_total",
        (("code", "INVALID_ARGUMENT"), ("method", "/dnc.v1.DncService/ListDnc")),
    )
    before = grpc_service.metrics()
    org = new_org(entries=1)
    stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.ListDnc(dnc_pb2.ListDncRequest(limit=1000), metadata=org.metadata, timeout=10)

    # gRPC sends the status before the interceptor's `finally` counts the call, and the scrape
    # is served by another thread: the counts arrive soon after the replies, not with them.
    scraped = [before]

    def counted() -> bool:
        scraped.append(grpc_service.metrics())
        return all(scraped[-1].get(key, 0) - before.get(key, 0) >= 1 for key in (ok_key, bad_key))

    wait_until(counted, timeout=5)
    after = scraped[-1]
    assert after[ok_key] - before.get(ok_key, 0) == 1
    assert after[bad_key] - before.get(bad_key, 0) == 1
    histogram = (
        "dnc_grpc_request_duration_seconds_count",
        (("method", "/dnc.v1.DncService/ListDnc"),),
    )
    assert after[histogram] >= 2
    assert ("dnc_grpc_in_flight_requests", ()) in after


def gateway_lines(gateway: Gateway, request_id: str) -> list[dict[str, object]]:
    return [line for line in gateway.process.json_lines(request_id=request_id) if "status" in line]


def test_the_gateway_logs_each_request_with_the_organization(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    request_id = str(uuid.uuid4())
    reply = gateway.get(
        "/api/dnc/list?search=12125550000", org.token, **{"X-Request-Id": request_id}
    )
    assert reply.status == 200
    wait_until(lambda: len(gateway_lines(gateway, request_id)) == 1, timeout=5)
    [line] = gateway_lines(gateway, request_id)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/dnc/list", 200)
    assert line["org_id"] == str(org.org_id)
    assert isinstance(line["latency_ms"], float)
    log = gateway.process.log()
    assert org.token not in log
    assert "12125550000" not in log  # the query string is never logged


def test_the_gateway_counts_requests_by_route_and_status(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    ok = ("dnc_gateway_requests_total", (("route", "/api/dnc/list"), ("status", "200")))
    denied = ("dnc_gateway_requests_total", (("route", "/api/dnc/list"), ("status", "401")))
    unmatched = ("dnc_gateway_requests_total", (("route", "unmatched"), ("status", "404")))
    before = gateway.metrics()
    org = new_org(entries=1)
    assert gateway.get("/api/dnc/list", org.token).status == 200
    assert gateway.get("/api/dnc/list", "not.a.token").status == 401  # the service refuses it
    assert gateway.get(f"/no/such/{uuid.uuid4()}", org.token).status == 404
    after = gateway.metrics()
    for key in (ok, denied, unmatched):
        assert after[key] - before.get(key, 0) == 1, key
    assert ("dnc_gateway_in_flight_requests", ()) in after
    assert after[("dnc_gateway_upstream_errors_total", (("code", "UNAUTHENTICATED"),))] >= 1
