"""One JSON access line per call (no token, no whole phone number) and Prometheus metrics."""

from __future__ import annotations

import json
import urllib.request
import uuid

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import OrgFactory, Service
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from support import wait_until


def access_lines(service: Service, request_id: str) -> list[dict[str, object]]:
    lines = [
        json.loads(line) for line in service.process.log().splitlines() if line.startswith("{")
    ]
    return [line for line in lines if line.get("request_id") == request_id]


def test_one_access_line_per_call_without_secrets(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=2)
    request_id = str(uuid.uuid4())
    metadata = (*org.metadata, ("x-request-id", request_id))
    stub.ListDnc(
        dnc_pb2.ListDncRequest(search="+1 (212) 555-0001", limit=5), metadata=metadata, timeout=10
    )
    wait_until(lambda: len(access_lines(grpc_service, request_id)) == 1, timeout=5)
    [line] = access_lines(grpc_service, request_id)
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
    wait_until(lambda: len(access_lines(grpc_service, request_id)) == 1, timeout=5)
    assert access_lines(grpc_service, request_id)[0]["search"] == "*******0000"
    assert "12125550000" not in grpc_service.process.log()


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
    wait_until(lambda: len(access_lines(grpc_service, request_id)) == 1, timeout=5)
    assert access_lines(grpc_service, request_id)[0]["code"] == "UNAUTHENTICATED"
    assert "Bearer x.y.z" not in grpc_service.process.log()


def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(
        f"http://{service.env['DNC_METRICS_ADDR']}/metrics", timeout=5
    ) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_calls_by_method_and_code(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    ok_key = ("dnc_grpc_requests_total", (("code", "OK"), ("method", "/dnc.v1.DncService/ListDnc")))
    bad_key = (
        "dnc_grpc_requests_total",
        (("code", "INVALID_ARGUMENT"), ("method", "/dnc.v1.DncService/ListDnc")),
    )
    before = scrape(grpc_service)
    org = new_org(entries=1)
    stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.ListDnc(dnc_pb2.ListDncRequest(limit=1000), metadata=org.metadata, timeout=10)
    after = scrape(grpc_service)
    assert after[ok_key] - before.get(ok_key, 0) == 1
    assert after[bad_key] - before.get(bad_key, 0) == 1
    histogram = (
        "dnc_grpc_request_duration_seconds_count",
        (("method", "/dnc.v1.DncService/ListDnc"),),
    )
    assert after[histogram] >= 2
    assert ("dnc_grpc_in_flight_requests", ()) in after
