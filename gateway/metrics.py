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
STREAMED_MESSAGES = Counter(
    "dnc_gateway_streamed_messages", "Messages relayed on server-streaming routes", ["route"]
)
STREAMS_BROKEN = Counter(
    "dnc_gateway_streams_broken",
    "Streams cut after their headers were sent, by gRPC code (CLIENT_GONE: the client left)",
    ["route", "code"],
)
OPEN_CONNECTIONS = Gauge(
    "dnc_gateway_open_connections", "HTTP connections open (capped by DNC_GATEWAY_MAX_CONNECTIONS)"
)
CONNECTIONS_REFUSED = Counter(
    "dnc_gateway_connections_refused",
    "Connections answered 503 and closed: opened past DNC_GATEWAY_MAX_CONNECTIONS",
)
