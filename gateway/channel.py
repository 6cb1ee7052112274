"""The gateway's one gRPC channel: balancing, health-aware picks, read retries, TLS.

The target is any gRPC target URI; with several addresses (`ipv4:a,b`, or a `dns:///` name
with several records) calls go round-robin to the replicas whose grpc.health.v1 Watch says
SERVING, so a replica draining after SIGTERM stops getting new calls at once. Reads named in the
spec are retried on UNAVAILABLE within the call's deadline, so a restart loses none of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc

from dnc_common.grpc_options import client_keepalive

from .settings import GatewaySettings
from .spec import ApiSpec

# The largest response the gateway takes from the service. gRPC's default, 4 MiB, is less than a
# page of 100 entries with 64 KiB transcripts; past this a call fails RESOURCE_EXHAUSTED.
MAX_RECEIVE_MESSAGE_BYTES = 32 * 1024 * 1024
# Reconnect soon after a replica comes back, instead of backing off for up to two minutes.
MAX_RECONNECT_BACKOFF_MS = 5000
# How a read is retried: up to 4 attempts, 0.1 s then up to 1 s apart (with jitter), never past
# the call's deadline. CANCELLED too: a server that stops while calls wait in its queue resets
# them as cancelled, and a read that never ran is safe to send again.
READ_RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
}
# Retries stop while more than half the token budget is spent (each failure costs 1, each
# success returns 0.1): an outage does not multiply the load on what is left.
RETRY_THROTTLING = {"maxTokens": 100, "tokenRatio": 0.1}


def service_config(spec: ApiSpec) -> dict[str, Any]:
    """Round-robin over healthy replicas; the spec's reads retried."""
    config: dict[str, Any] = {
        "loadBalancingConfig": [{"round_robin": {}}],
        # Client-side health checking: each replica's Health/Watch of the whole server ("").
        "healthCheckConfig": {"serviceName": ""},
        "retryThrottling": RETRY_THROTTLING,
    }
    if spec.retryable_methods:
        names = []
        for full_name in sorted(spec.retryable_methods):
            service, _, method = full_name.rpartition(".")
            names.append({"service": service, "method": method})
        config["methodConfig"] = [{"name": names, "retryPolicy": READ_RETRY_POLICY}]
    return config


def channel_options(spec: ApiSpec) -> tuple[tuple[str, str | int], ...]:
    return (
        ("grpc.service_config", json.dumps(service_config(spec))),
        # Ours, not one a DNS TXT record might carry.
        ("grpc.service_config_disable_resolution", 1),
        ("grpc.enable_retries", 1),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
        *client_keepalive(),
    )


def open_channel(settings: GatewaySettings, spec: ApiSpec) -> grpc.aio.Channel:
    """The channel to the settings' target, over TLS when they ask for it."""
    options = channel_options(spec)
    if settings.grpc_tls:
        credentials = channel_credentials(settings)
        return grpc.aio.secure_channel(settings.grpc_target, credentials, options=options)
    return grpc.aio.insecure_channel(settings.grpc_target, options=options)


def channel_credentials(settings: GatewaySettings) -> grpc.ChannelCredentials:
    """TLS to the service: a private CA if given (else the system's); a client cert for mTLS."""

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes() if path else None

    return grpc.ssl_channel_credentials(
        root_certificates=read(settings.grpc_tls_ca_file),
        private_key=read(settings.grpc_tls_key_file),
        certificate_chain=read(settings.grpc_tls_cert_file),
    )
