"""Faults injected between the service and the database with toxiproxy: the service stays bounded.

Each test runs its own FerretDB, toxiproxy and service, so a fault never leaks into other tests.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from bson import ObjectId
from pymongo import MongoClient

from conftest import Document, GatewayFactory, Service, TokenFactory, service_env, start_service
from devtools import ferretdb
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from support import health_status, wait_until
from toxiproxy import Toxiproxy


@dataclass
class Stack:
    proxy: Toxiproxy
    service: Service
    stub: dnc_pb2_grpc.DncServiceStub
    metadata: tuple[tuple[str, str], ...]

    def call(self, timeout: float | None = 10) -> dnc_pb2.ListDncResponse:
        return self.stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=self.metadata, timeout=timeout)

    def code_of(self, timeout: float | None = 10) -> grpc.StatusCode:
        try:
            self.call(timeout)
        except grpc.RpcError as error:
            return error.code()
        return grpc.StatusCode.OK


def build_stack(tmp_path: Path, make_token: TokenFactory, **settings: str) -> Iterator[Stack]:
    database = ferretdb.start(tmp_path / "db")
    org_id = ObjectId()
    with MongoClient[Document](database.uri) as client:
        user_id = client.dnc.users.insert_one({"orgId": org_id}).inserted_id
        client.dnc.dnc_entries.insert_many(
            [{"orgId": org_id, "phoneNumber": str(n)} for n in range(3)]
        )
    proxy = Toxiproxy(f"127.0.0.1:{database.port}", tmp_path / "toxiproxy.log")
    env = service_env(
        f"mongodb://{proxy.listen}/?directConnection=true",
        "dnc",
        DNC_MONGO_SERVER_SELECTION_TIMEOUT_SECONDS="1",
        DNC_HEALTH_CHECK_INTERVAL_SECONDS="0.3",
        **settings,
    )
    service = start_service(env, tmp_path / "service.log")
    channel = grpc.insecure_channel(service.target)
    metadata = (("authorization", f"Bearer {make_token(str(user_id))}"),)
    try:
        yield Stack(proxy, service, dnc_pb2_grpc.DncServiceStub(channel), metadata)
    finally:
        channel.close()
        service.process.terminate()
        proxy.stop()
        database.stop()
    assert "Traceback" not in service.process.log()


@pytest.fixture
def stack(tmp_path: Path, make_token: TokenFactory) -> Iterator[Stack]:
    yield from build_stack(tmp_path, make_token, DNC_REQUEST_TIMEOUT_SECONDS="2")


def timed(function: object) -> tuple[object, float]:
    started = time.monotonic()
    result = function() if callable(function) else None
    return result, time.monotonic() - started


def test_a_slow_database_ends_at_the_callers_deadline(stack: Stack) -> None:
    assert stack.call().pagination.total == 3
    stack.proxy.add_toxic("slow", "latency", latency=3000)
    code, elapsed = timed(lambda: stack.code_of(timeout=0.8))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.7 < elapsed < 1.5


def test_a_slow_database_ends_at_the_servers_own_limit(stack: Stack) -> None:
    stack.proxy.add_toxic("slow", "latency", latency=5000)
    code, elapsed = timed(lambda: stack.code_of(timeout=None))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED  # DNC_REQUEST_TIMEOUT_SECONDS=2
    assert 1.8 < elapsed < 3.5


def test_a_black_holed_database_is_bounded_then_recovers(stack: Stack) -> None:
    stack.proxy.add_toxic("hole", "timeout", timeout=0)
    codes = {stack.code_of(timeout=None) for _ in range(2)}
    assert codes <= {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE}
    wait_until(lambda: health_status(stack.service.target) == "NOT_SERVING", timeout=10)
    stack.proxy.remove_toxic("hole")
    wait_until(lambda: health_status(stack.service.target) == "SERVING", timeout=15)
    assert stack.call().pagination.total == 3


def test_cut_connections_are_unavailable_quickly_then_recover(stack: Stack) -> None:
    assert stack.call().pagination.total == 3
    stack.proxy.set_enabled(False)
    code, elapsed = timed(lambda: stack.code_of(timeout=10))
    assert code == grpc.StatusCode.UNAVAILABLE
    assert elapsed < 3
    wait_until(lambda: health_status(stack.service.target) == "NOT_SERVING", timeout=10)
    stack.proxy.set_enabled(True)
    wait_until(lambda: health_status(stack.service.target) == "SERVING", timeout=15)
    assert stack.call().pagination.total == 3


def test_overload_is_resource_exhausted(tmp_path: Path, make_token: TokenFactory) -> None:
    for stack in build_stack(tmp_path, make_token, DNC_MAX_CONCURRENT_RPCS="2"):
        stack.proxy.add_toxic("slow", "latency", latency=700)
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(stack.code_of, [10.0] * 8))
        assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert codes.count(grpc.StatusCode.OK) >= 2


def test_sigterm_lets_in_flight_calls_finish_and_refuses_new_ones(
    tmp_path: Path, make_token: TokenFactory
) -> None:
    for stack in build_stack(tmp_path, make_token, DNC_SHUTDOWN_GRACE_SECONDS="5"):
        assert stack.call().pagination.total == 3
        stack.proxy.add_toxic("slow", "latency", latency=1200)
        with ThreadPoolExecutor(max_workers=4) as pool:
            in_flight = [pool.submit(stack.code_of, 10) for _ in range(4)]
            time.sleep(0.4)  # the calls are now waiting on the slow database
            stack.service.process.popen.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            refused = stack.code_of(timeout=5)
            assert [future.result() for future in in_flight] == [grpc.StatusCode.OK] * 4
        assert refused == grpc.StatusCode.UNAVAILABLE
        assert stack.service.process.popen.wait(timeout=10) == 0


def test_rest_clients_see_503_and_504_then_recovery(
    stack: Stack, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(stack.service.target, DNC_GATEWAY_TIMEOUT_SECONDS="1.5")
    token = stack.metadata[0][1].removeprefix("Bearer ")
    assert gateway.get("/api/dnc/list", token).status == 200

    stack.proxy.set_enabled(False)  # the database is gone
    started = time.monotonic()
    reply = gateway.get("/api/dnc/list", token)
    assert (reply.status, reply.json()["status"], reply.json()["data"]) == (503, False, None)
    assert time.monotonic() - started < 3
    wait_until(lambda: gateway.health() == 503, timeout=10)

    stack.proxy.set_enabled(True)
    wait_until(lambda: gateway.health() == 200, timeout=15)
    stack.proxy.add_toxic("slow", "latency", latency=4000)  # the database is slow
    started = time.monotonic()
    reply = gateway.get("/api/dnc/list", token)
    assert (reply.status, reply.json()["code"]) == (504, 504)
    assert 1.3 < time.monotonic() - started < 3

    stack.proxy.remove_toxic("slow")
    wait_until(lambda: gateway.get("/api/dnc/list", token).status == 200, timeout=15)
