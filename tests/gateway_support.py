"""Running the real `python -m gateway` for tests, a plain HTTP client, and the error envelope."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from support import Process, Samples, Stoppable, free_port, scrape

# The keys of one seed entry, in the seed's order (tests/contract checks them against the seed).
SEED_ENTRY_KEYS = [
    "_id",
    "phoneNumber",
    "type",
    "orgId",
    "batchId",
    "requestUUID",
    "callRecording",
    "transcription",
    "createdAt",
]
# The compliance record's keys (CONTRACT "Compliance record"), after the seed's, when present.
COMPLIANCE_KEYS = ["source", "reason", "requestedAt", "expiresAt", "addedBy"]
# The keys of every response body, in the seed's order; a failure has them too.
ENVELOPE_KEYS = ["message", "status", "code", "errorMessage", "data"]


@dataclass
class Reply:
    """One HTTP response, read whole."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RawReply:
    """A response read off a raw socket: status, lower-cased header names, the body as sent."""

    status: int
    headers: dict[str, str]
    body: bytes


def parse_reply(raw: bytes) -> RawReply:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawReply(int(status_line.split(" ", 2)[1]), headers, body)


def assert_envelope(reply: RawReply, status: int) -> dict[str, Any]:
    """`error_envelope` for a reply read off a raw socket."""
    assert reply.status == status, reply
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.headers["server"] == "dnc-gateway"
    body: dict[str, Any] = json.loads(reply.body)
    assert list(body) == ENVELOPE_KEYS
    assert (body["status"], body["code"], body["data"]) == (False, status, None)
    return body


def error_envelope(reply: Reply, status: int) -> dict[str, Any]:
    """Check that `reply` is the failure envelope for `status` and return its body."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = reply.json()
    assert list(body) == ENVELOPE_KEYS
    assert (body["status"], body["code"], body["data"]) == (False, status, None)
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["errorMessage"], str)
    assert body["errorMessage"]
    return body


@dataclass
class Gateway(Stoppable):
    """A running gateway subprocess and the base URL it serves, e.g. http://127.0.0.1:PORT."""

    process: Process
    url: str
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.process.terminate()

    def metrics(self) -> Samples:
        return scrape(self.env["DNC_GATEWAY_METRICS_ADDR"])

    def request(
        self,
        path: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        body: bytes | None = None,
    ) -> Reply:
        """Send the path, headers and body exactly as given (repeated parameters, odd values)."""
        address = urlsplit(self.url)
        assert address.hostname is not None
        assert address.port is not None
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, token: str | None = None, **headers: str) -> Reply:
        """GET with `Authorization: Bearer <token>` when a token is given."""
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return self.request(path, headers=sent)

    def health(self) -> int | None:
        try:
            return self.request("/healthz", timeout=5).status
        except OSError:
            return None


GatewayFactory = Callable[..., Gateway]


def gateway_env(grpc_target: str, **overrides: str) -> dict[str, str]:
    """The environment a test's `python -m gateway` runs with."""
    return {
        "DNC_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "DNC_GRPC_TARGET": grpc_target,
        "DNC_GATEWAY_TIMEOUT_SECONDS": "10",
        "DNC_GATEWAY_SHUTDOWN_GRACE_SECONDS": "5",
        "DNC_LOG_LEVEL": "INFO",
        "DNC_GATEWAY_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        **overrides,
    }


def start_gateway(env: dict[str, str], log_path: Path, expect_serving: bool = True) -> Gateway:
    """Start the gateway and wait until /healthz answers (200 when the service should serve)."""
    process = Process("gateway", env, log_path)
    gateway = Gateway(process, f"http://{env['DNC_HTTP_ADDR']}", env)
    wanted = {200} if expect_serving else {200, 503}
    process.wait_ready(lambda: gateway.health() in wanted)
    return gateway
