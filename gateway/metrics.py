"""The gateway's Prometheus metrics, labelled by route template (never by raw path)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from dnc_common.metrics import LATENCY_BUCKETS

REQUESTS = Counter("dnc_gateway_requests", "HTTP requests answered", ["route", "status"])
LATENCY = Histogram(
    "dnc_gateway_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("dnc_gateway_in_flight_requests", "HTTP requests being answered")
UPSTREAM_ERRORS = Counter(
    "dnc_gateway_upstream_errors", "Failed calls to the gRPC service", ["code"]
)
