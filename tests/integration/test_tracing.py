"""W3C trace context from the REST request through the gateway and the service into MongoDB."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from data_support import Document, OrgFactory
from gateway_support import Gateway, gateway_env, start_gateway
from service_support import Service, service_env, start_service
from support import Process, wait_until

TRACE_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def traced_stack(
    mongo_uri: str, mongo_db: Database[Document], tmp_path: Path
) -> Iterator[tuple[Service, Gateway, Path, Path]]:
    """A service and a gateway of this test's own, each writing its spans to a file."""
    service_spans, gateway_spans = (
        tmp_path / "service-spans.jsonl",
        tmp_path / "gateway-spans.jsonl",
    )
    env = service_env(mongo_uri, mongo_db.name, DNC_TRACE_FILE=str(service_spans))
    with start_service(env, tmp_path / "service.log") as service:
        env = gateway_env(service.target, DNC_TRACE_FILE=str(gateway_spans))
        with start_gateway(env, tmp_path / "gateway.log") as gateway:
            yield service, gateway, service_spans, gateway_spans


def spans(path: Path, trace_id: str) -> list[dict[str, Any]]:
    """The spans of `trace_id` a process has exported so far (one JSON object per line)."""
    if not path.exists():
        return []
    text = path.read_text()
    written = text[: text.rfind("\n") + 1]
    every = [json.loads(line) for line in written.splitlines()]
    return [span for span in every if span["context"]["trace_id"] == f"0x{trace_id}"]


def access_line(process: Process, request_id: str) -> dict[str, Any]:
    wait_until(lambda: len(process.json_lines(request_id=request_id)) == 1, timeout=10)
    [line] = process.json_lines(request_id=request_id)
    return line


def test_a_traceparent_is_continued_across_both_hops_into_the_database(
    traced_stack: tuple[Service, Gateway, Path, Path], new_org: OrgFactory
) -> None:
    service, gateway, service_spans, gateway_spans = traced_stack
    org = new_org(entries=3)
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    request_id = str(uuid.uuid4())
    reply = gateway.get(
        "/api/dnc/list?limit=2",
        org.token,
        traceparent=f"00-{trace_id}-{caller_span}-01",
        X_Request_Id=request_id,
    )
    assert reply.status == 200, reply.body

    assert access_line(gateway.process, request_id)["trace_id"] == trace_id
    assert access_line(service.process, request_id)["trace_id"] == trace_id

    # Exported spans: gateway server -> gateway gRPC client -> service gRPC server -> queries.
    wait_until(lambda: len(spans(gateway_spans, trace_id)) >= 2, timeout=10)
    wait_until(
        lambda: (
            {s["name"].rsplit(".", 1)[-1] for s in spans(service_spans, trace_id)}
            >= {"DncService/ListDnc", "find", "aggregate"}
        ),
        timeout=10,
    )
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for span in spans(gateway_spans, trace_id) + spans(service_spans, trace_id):
        by_kind.setdefault(span["kind"], []).append(span)
    [http_server] = [s for s in by_kind["SpanKind.SERVER"] if s["name"].startswith("GET")]
    [grpc_server] = [s for s in by_kind["SpanKind.SERVER"] if s["name"].endswith("/ListDnc")]
    [grpc_client] = [s for s in by_kind["SpanKind.CLIENT"] if s["name"].endswith("/ListDnc")]
    queries = [s for s in by_kind["SpanKind.CLIENT"] if s is not grpc_client]

    assert http_server["parent_id"] == f"0x{caller_span}"
    assert http_server["attributes"]["http.route"] == "/api/dnc/list"
    assert grpc_client["parent_id"] == http_server["context"]["span_id"]
    assert grpc_server["parent_id"] == grpc_client["context"]["span_id"]
    assert grpc_server["resource"]["attributes"]["service.name"] == "dnc-service"
    assert http_server["resource"]["attributes"]["service.name"] == "dnc-gateway"
    assert {query["parent_id"] for query in queries} == {grpc_server["context"]["span_id"]}
    # The user lookup and the page (find), and the total (an aggregate count).
    assert {query["name"].rsplit(".", 1)[-1] for query in queries} >= {"find", "aggregate"}
    assert all(q["attributes"]["db.system"] == "mongodb" for q in queries)
    # No query text, so no phone number or search reaches the spans.
    assert not any("db.statement" in q["attributes"] and "{" in q["attributes"]["db.statement"]
                   for q in queries)  # fmt: skip


def test_without_a_traceparent_the_gateway_starts_a_trace(
    gateway: Gateway, grpc_service: Service, new_org: OrgFactory
) -> None:
    """The session's processes have no exporter: ids are still made, passed on and logged."""
    org = new_org(entries=1)
    request_id = str(uuid.uuid4())
    reply = gateway.get("/api/dnc/list", org.token, X_Request_Id=request_id)
    assert reply.status == 200, reply.body
    trace_id = access_line(gateway.process, request_id)["trace_id"]
    assert TRACE_ID.fullmatch(trace_id), trace_id
    assert trace_id != "0" * 32
    assert access_line(grpc_service.process, request_id)["trace_id"] == trace_id


def test_a_caller_traceparent_is_logged_without_an_exporter(
    gateway: Gateway, grpc_service: Service, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    trace_id, request_id = secrets.token_hex(16), str(uuid.uuid4())
    reply = gateway.get(
        "/api/dnc/list",
        org.token,
        traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-00",
        X_Request_Id=request_id,
    )
    assert reply.status == 200, reply.body
    assert access_line(gateway.process, request_id)["trace_id"] == trace_id
    assert access_line(grpc_service.process, request_id)["trace_id"] == trace_id


def test_a_malformed_traceparent_starts_a_new_trace(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    request_id = str(uuid.uuid4())
    reply = gateway.get(
        "/api/dnc/list", org.token, traceparent="00-not-a-trace-01", X_Request_Id=request_id
    )
    assert reply.status == 200, reply.body
    assert TRACE_ID.fullmatch(access_line(gateway.process, request_id)["trace_id"])
