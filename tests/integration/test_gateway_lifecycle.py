"""The gateway as a process: an absent or silent service, CORS, logs, configuration, SIGTERM."""

from __future__ import annotations

import concurrent.futures
import http.client
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data_support import OrgFactory
from gateway_support import Gateway, GatewayFactory, Reply, error_envelope, gateway_env
from service_support import Service
from support import Process, free_port, wait_until

LIST = "/api/dnc/list"
ORIGIN = "https://app.example.com"


@pytest.fixture
def silent_upstream() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a hung service."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def timed(gateway: Gateway, path: str, **headers: str) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = gateway.get(path, **headers)
    return reply, time.monotonic() - started


# --- an absent or silent service ---------------------------------------------------------------


def test_service_down_is_a_quick_503(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(f"127.0.0.1:{free_port()}", expect_serving=False)
    reply, elapsed = timed(gateway, LIST, Authorization="Bearer x.y.z")
    error_envelope(reply, 503)
    assert reply.json()["message"] == "Service unavailable"
    assert "127.0.0.1" not in reply.body.decode()  # no connection details leak
    assert elapsed < 3
    health, elapsed = timed(gateway, "/healthz")
    assert health.status == 503
    assert health.json()["status"] == "NOT_SERVING"
    assert elapsed < 3


def test_a_silent_service_is_cut_off_at_the_deadline(
    gateway_factory: GatewayFactory, silent_upstream: str
) -> None:
    gateway = gateway_factory(
        silent_upstream, expect_serving=False, DNC_GATEWAY_TIMEOUT_SECONDS="1"
    )
    reply, elapsed = timed(gateway, LIST, Authorization="Bearer x.y.z")
    assert reply.status in (503, 504)
    error_envelope(reply, reply.status)
    assert elapsed < 5
    health, elapsed = timed(gateway, "/healthz")
    assert health.status == 503
    assert elapsed < 5


def test_the_gateway_recovers_when_the_service_comes_back(
    gateway_factory: GatewayFactory, grpc_service: Service, new_org: OrgFactory
) -> None:
    """Same address, service absent then present: the long-lived channel reconnects."""
    relay = TcpRelay(grpc_service.target)
    gateway = gateway_factory(relay.target, expect_serving=False)
    org = new_org(entries=1)
    assert gateway.get(LIST, org.token).status == 503
    relay.start()
    try:
        wait_until(lambda: gateway.get(LIST, org.token).status == 200, timeout=20)
        assert gateway.request("/healthz").status == 200
    finally:
        relay.stop()


class TcpRelay:
    """A loopback port that refuses connections until started, then forwards them to `upstream`."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        server.settimeout(0.1)
        self._sockets.append(server)
        self._run(self._accept, server)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for each in self._sockets:
            each.close()

    def _run(self, *args: Any) -> None:
        thread = threading.Thread(target=args[0], args=args[1:], daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client = server.accept()[0]
            except TimeoutError:
                continue
            upstream = socket.create_connection(self.upstream)
            self._sockets += [client, upstream]
            self._run(self._pipe, client, upstream)
            self._run(self._pipe, upstream, client)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = source.recv(65536)
                if not data:
                    return
                sink.sendall(data)
            except TimeoutError:
                continue
            except OSError:
                return


# --- CORS -------------------------------------------------------------------------------------


@pytest.fixture
def cors_gateway(gateway_factory: GatewayFactory, grpc_service: Service) -> Gateway:
    return gateway_factory(
        grpc_service.target, DNC_GATEWAY_CORS_ALLOWED_ORIGINS=f"{ORIGIN}, http://x.test"
    )


def preflight(gateway: Gateway, origin: str, path: str = LIST) -> Reply:
    return gateway.request(
        path,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-request-id",
        },
    )


def test_preflight_from_an_allowed_origin(cors_gateway: Gateway) -> None:
    reply = preflight(cors_gateway, ORIGIN)
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert reply.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    allowed = {h.strip().lower() for h in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "x-request-id", "grpc-timeout"} <= allowed
    assert int(reply.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in reply.headers["Vary"]


def test_preflight_from_another_origin_gets_no_cors_headers(cors_gateway: Gateway) -> None:
    reply = preflight(cors_gateway, "https://evil.example.com")
    assert reply.status == 405
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_preflight_to_an_unknown_path_is_404(cors_gateway: Gateway) -> None:
    error_envelope(preflight(cors_gateway, ORIGIN, "/nope"), 404)


def test_responses_to_an_allowed_origin_carry_cors_headers(
    cors_gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    ok = cors_gateway.get(LIST, org.token, Origin=ORIGIN)
    denied = cors_gateway.get(LIST, Origin=ORIGIN)
    for reply in (ok, denied):
        assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "X-Request-Id" in reply.headers["Access-Control-Expose-Headers"]
    assert (ok.status, denied.status) == (200, 401)
    assert (
        "Access-Control-Allow-Origin" not in cors_gateway.get(LIST, Origin="https://o.test").headers
    )


def test_a_wildcard_allows_any_origin(
    gateway_factory: GatewayFactory, grpc_service: Service
) -> None:
    # The deprecated name (DNC_GATEWAY_CORS_ALLOWED_ORIGINS's alias) still works.
    gateway = gateway_factory(grpc_service.target, DNC_CORS_ALLOWED_ORIGINS="*")
    reply = preflight(gateway, "https://anyone.example.org")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_is_off_by_default(gateway: Gateway) -> None:
    reply = preflight(gateway, ORIGIN)
    assert reply.status == 405
    assert "Access-Control-Allow-Origin" not in reply.headers


# --- logs and configuration -------------------------------------------------------------------


def test_logs_are_json_lines_without_tokens(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    request_id = f"log-check-{org.org_id}"
    assert (
        gateway.get(f"{LIST}?search=12125550000", org.token, X_Request_Id=request_id).status == 200
    )

    wait_until(lambda: len(gateway.process.json_lines(request_id=request_id)) == 1, timeout=10)
    [line] = gateway.process.json_lines(request_id=request_id)
    assert line["method"] == "GET"
    assert line["path"] == LIST  # the query (a phone number) is not logged
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], float | int)
    log = gateway.process.log()
    assert f"listening on {gateway.url}" in log
    assert org.token not in log
    assert "12125550000" not in log
    # Every line of ours is one JSON object (gRPC's C core may add its own plain lines).
    assert len(gateway.process.json_lines()) >= 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DNC_GATEWAY_TIMEOUT_SECONDS", "soon"),
        ("DNC_HTTP_ADDR", "nowhere"),
        ("DNC_LOG_LEVEL", "x"),
        ("DNC_GATEWAY_METRICS_ADDR", "nonsense"),
        ("DNC_GATEWAY_METRICS_ADDR", "127.0.0.1:99999"),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    env = gateway_env("127.0.0.1:1", **{name: value})
    with Process("gateway", env, tmp_path / "gw.log") as process:
        assert process.popen.wait(timeout=20) == 2
    assert name in process.log()


def test_a_taken_address_exits_1(tmp_path: Path, gateway: Gateway) -> None:
    env = gateway_env("127.0.0.1:1", DNC_HTTP_ADDR=gateway.env["DNC_HTTP_ADDR"])
    with Process("gateway", env, tmp_path / "gw.log") as process:
        assert process.popen.wait(timeout=20) == 1
    assert f"cannot listen on {env['DNC_HTTP_ADDR']} (DNC_HTTP_ADDR)" in process.log()


def test_a_taken_metrics_address_exits_1_naming_it(tmp_path: Path, gateway: Gateway) -> None:
    taken = gateway.env["DNC_GATEWAY_METRICS_ADDR"]
    env = gateway_env("127.0.0.1:1", DNC_GATEWAY_METRICS_ADDR=taken)
    with Process("gateway", env, tmp_path / "gw.log") as process:
        assert process.popen.wait(timeout=20) == 1
    assert f"cannot listen on {taken} (DNC_GATEWAY_METRICS_ADDR)" in process.log()
    assert env["DNC_HTTP_ADDR"] not in process.log().split("cannot listen", 1)[1]
    assert "Traceback" not in process.log()


# --- shutdown ---------------------------------------------------------------------------------


IN_FLIGHT = ("dnc_gateway_in_flight_requests", ())


def refuses_connections(gateway: Gateway) -> bool:
    """True once the listener is closed; a connection reset means it is closing right now, and
    a timeout that it still took the request (its health check waits on the silent upstream)."""
    try:
        gateway.request("/healthz", timeout=2)
    except ConnectionRefusedError:
        return True
    except (ConnectionResetError, http.client.RemoteDisconnected, TimeoutError):
        return False
    return False


def test_sigterm_finishes_in_flight_requests_then_exits_0(
    gateway_factory: GatewayFactory, silent_upstream: str
) -> None:
    gateway = gateway_factory(
        silent_upstream, expect_serving=False, DNC_GATEWAY_TIMEOUT_SECONDS="3"
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(gateway.get, LIST, Authorization="Bearer x.y.z")
        # The request is waiting on the silent service once the gateway counts it in flight.
        wait_until(lambda: gateway.metrics()[IN_FLIGHT] == 1, timeout=5)
        gateway.process.popen.send_signal(signal.SIGTERM)
        wait_until(lambda: refuses_connections(gateway), timeout=5)  # no new work is taken
        assert not in_flight.done()  # while the request in flight is still being answered
        reply = in_flight.result(timeout=15)
    assert reply.status in (503, 504)  # answered, not cut off
    error_envelope(reply, reply.status)
    assert gateway.process.popen.wait(timeout=15) == 0
    assert "stopped" in gateway.process.log()


def test_sigterm_when_idle_exits_0_quickly(
    gateway_factory: GatewayFactory, grpc_service: Service
) -> None:
    gateway = gateway_factory(grpc_service.target)
    started = time.monotonic()
    assert gateway.process.terminate(timeout=15) == 0
    assert time.monotonic() - started < 5
