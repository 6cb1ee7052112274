"""W3C trace context from the REST request through the gateway and the service into MongoDB."""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from pymongo.database import Database

from data_support import Document, OrgFactory
from gateway_support import Gateway, GatewayFactory, gateway_env, start_gateway
from service_support import Service, service_env, start_service
from support import Process, Stoppable, wait_until

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


class Collector(Stoppable):
    """A minimal OTLP/HTTP collector on loopback: keeps every span POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        received = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    for scope_spans in resource_spans.scope_spans:
                        received.extend(scope_spans.spans)
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_spans_go_to_the_otlp_endpoint(
    grpc_service: Service, gateway_factory: GatewayFactory, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    trace_id = secrets.token_hex(16)
    with Collector() as collector:
        gateway = gateway_factory(
            grpc_service.target,
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_BSP_SCHEDULE_DELAY="50",
        )
        traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        assert gateway.get("/api/dnc/list", org.token, traceparent=traceparent).status == 200
        wait_until(
            lambda: (
                {s.name for s in collector.spans if s.trace_id.hex() == trace_id}
                == {"GET /api/dnc/list", "/dnc.v1.DncService/ListDnc"}
            ),
            timeout=10,
        )


def test_the_console_exporter_writes_spans_to_stdout(
    grpc_service: Service, gateway_factory: GatewayFactory, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    trace_id = secrets.token_hex(16)
    gateway = gateway_factory(grpc_service.target, OTEL_TRACES_EXPORTER="console")
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    assert gateway.get("/api/dnc/list", org.token, traceparent=traceparent).status == 200
    assert gateway.process.terminate() == 0  # spans still batched are flushed on exit
    assert f'"trace_id": "0x{trace_id}"' in gateway.process.log()
