"""Prometheus exposition for either process, on its own address."""

from __future__ import annotations

import logging

import prometheus_client

logger = logging.getLogger(__name__)


def serve_metrics(addr: str) -> None:
    """Prometheus text exposition on http://addr/metrics, in a daemon thread."""
    host, _, port = addr.rpartition(":")
    prometheus_client.start_http_server(int(port), host.strip("[]") or "127.0.0.1")
    logger.info("metrics on http://%s/metrics", addr)
