"""The gateway's Prometheus metrics, labelled by route template (never by raw path)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("dnc_gateway_requests", "HTTP requests answered", ["route", "status"])
LATENCY = Histogram(
    "dnc_gateway_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_FLIGHT = Gauge("dnc_gateway_in_flight_requests", "HTTP requests being answered")
UPSTREAM_ERRORS = Counter(
    "dnc_gateway_upstream_errors", "Failed calls to the gRPC service", ["code"]
)
