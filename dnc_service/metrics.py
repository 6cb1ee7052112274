"""The service's Prometheus metrics, defined once: the interceptor and the store count into them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from dnc_common.metrics import LATENCY_BUCKETS

REQUESTS = Counter("dnc_grpc_requests", "gRPC calls handled", ["method", "code"])
LATENCY = Histogram(
    "dnc_grpc_request_duration_seconds",
    "gRPC call latency",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("dnc_grpc_in_flight_requests", "gRPC calls being handled")
DATABASE_ERRORS = Counter("dnc_database_errors", "Database failures by kind", ["kind"])
