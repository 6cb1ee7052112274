"""HTTP/2 keepalive of the gateway's channel and the service's server, defined once so they agree.

The client pings a quiet connection to find a dead peer (a replica gone without a FIN, a NAT
that forgot the flow) within KEEPALIVE_TIME + KEEPALIVE_TIMEOUT. The server must accept pings
at least that often, with or without calls in flight, or it answers them with GOAWAY
`too_many_pings` and drops the connection: hence MIN_PING_INTERVAL <= KEEPALIVE_TIME.
"""

from __future__ import annotations

KEEPALIVE_TIME_MS = 30_000
KEEPALIVE_TIMEOUT_MS = 10_000
PERMIT_WITHOUT_CALLS = True
# The server's floor between two pings from one client; half the client's interval leaves room.
MIN_PING_INTERVAL_MS = KEEPALIVE_TIME_MS // 2

Options = tuple[tuple[str, int], ...]


def client_keepalive() -> Options:
    return (
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", int(PERMIT_WITHOUT_CALLS)),
        # Keep pinging an idle connection (the default stops after two pings without data).
        ("grpc.http2.max_pings_without_data", 0),
    )


def server_keepalive() -> Options:
    return (
        ("grpc.http2.min_ping_interval_without_data_ms", MIN_PING_INTERVAL_MS),
        ("grpc.keepalive_permit_without_calls", int(PERMIT_WITHOUT_CALLS)),
        # The server's own pings find clients that vanished (default: every two hours).
        ("grpc.keepalive_time_ms", 2 * KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    )
