"""Prometheus exposition for either process, on its own address."""

from __future__ import annotations

import logging

import prometheus_client

from .env import host_port

logger = logging.getLogger(__name__)

# Latency buckets (seconds) for both processes, from a cached page to the longest deadline.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def serve_metrics(addr: str) -> None:
    """Prometheus text exposition on http://addr/metrics, in a daemon thread.

    `addr` is checked in settings (Env.address); a port in use still raises OSError here.
    """
    host, port = host_port(addr)
    prometheus_client.start_http_server(port, host or "127.0.0.1")
    logger.info("metrics on http://%s/metrics", addr)
