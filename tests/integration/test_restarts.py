"""Zero-downtime operation through the real processes: replicas behind one gateway are balanced,
and restarting them under steady load fails no request.

Each replica drains after SIGTERM (NOT_SERVING while still serving); the gateway watches
health, balances round-robin and retries reads on UNAVAILABLE. Loops are bounded in count and time.
"""

from __future__ import annotations

import collections
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from pymongo import MongoClient

from data_support import Document, make_token, seed_user
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import Gateway, gateway_env, start_gateway
from service_support import Service, service_env, start_service
from support import health_status, wait_until

LIST = "/api/dnc/list?limit=5"
LIST_METHOD = "/dnc.v1.DncService/ListDnc"
WORKERS = 8
# A bound on the load, not a pace: two restarts on a loaded 2-core machine can take a minute
# (each waits for a drain, a start and fresh calls); a load that ended early looks stalled.
TIME_LIMIT_SECONDS = 180
MAX_REQUESTS = 50_000


class SteadyLoad:
    """`workers` threads looping GET LIST through the gateway until stopped (or the limits)."""

    def __init__(self, gateway: Gateway, token: str, workers: int = WORKERS) -> None:
        self.gateway = gateway
        self.token = token
        self.statuses: collections.Counter[int] = collections.Counter()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = float("inf")  # set when the load starts
        self._threads = [threading.Thread(target=self._work) for _ in range(workers)]

    def _work(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                reply = self.gateway.get(LIST, self.token)
                status, text = reply.status, reply.body[:200].decode(errors="replace")
            except OSError as error:  # the gateway itself never goes away in these tests
                status, text = 0, repr(error)
            with self._lock:
                self.statuses[status] += 1
                if status != 200:
                    self.failures.append(f"{status} {text}")
                if sum(self.statuses.values()) >= MAX_REQUESTS:
                    self._stop.set()

    def total(self) -> int:
        with self._lock:
            return sum(self.statuses.values())

    @contextmanager
    def running(self) -> Iterator[SteadyLoad]:
        self._deadline = time.monotonic() + TIME_LIMIT_SECONDS
        for thread in self._threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join(timeout=30)


@dataclass
class OwnOrg:
    """An organization in a database of this test's own: the shared one grows with the suite
    (FerretDB scans whole collections), which would slow the steady load these tests count on."""

    database: str
    token: str

    @property
    def metadata(self) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.token}"),)


@pytest.fixture
def own_org(mongo_uri: str) -> Iterator[OwnOrg]:
    database = f"dnc_restarts_{uuid.uuid4().hex[:12]}"
    user_id = seed_user(mongo_uri, database, entries=12)
    try:
        yield OwnOrg(database, make_token(str(user_id)))
    finally:
        with MongoClient[Document](mongo_uri) as client:
            client.drop_database(database)


def calls_served(service: Service) -> int:
    """ListDnc calls in a replica's access log (the log file outlives its restarts)."""
    return len(service.process.json_lines(method=LIST_METHOD))


def wait_for_new_calls(services: list[Service], count: int = 20) -> None:
    """Until each of `services` has served `count` more calls than now."""
    before = [calls_served(service) for service in services]

    def each_served() -> bool:
        now = [calls_served(service) for service in services]
        return all(n >= b + count for n, b in zip(now, before, strict=True))

    wait_until(each_served, timeout=30)


def replica_env(mongo_uri: str, database: str) -> dict[str, str]:
    return service_env(mongo_uri, database, DNC_DRAIN_SECONDS="1", DNC_SHUTDOWN_GRACE_SECONDS="5")


def test_a_rolling_restart_of_two_replicas_fails_no_request(
    mongo_uri: str, own_org: OwnOrg, tmp_path: Path
) -> None:
    org = own_org
    with ExitStack() as running:
        replicas: list[Service] = []

        def stop_replicas() -> None:  # whichever run at the end
            for replica in replicas:
                replica.stop()

        running.callback(stop_replicas)
        for n in range(2):
            env = replica_env(mongo_uri, org.database)
            replicas.append(start_service(env, tmp_path / f"replica{n}.log"))
        target = "ipv4:" + ",".join(replica.target for replica in replicas)
        gateway = running.enter_context(
            start_gateway(gateway_env(target), tmp_path / "gateway.log")
        )
        load = SteadyLoad(gateway, org.token)
        with load.running():
            for n, replica in enumerate(list(replicas)):
                wait_for_new_calls(replicas)  # both take calls before each restart
                assert replica.process.terminate(timeout=20) == 0, replica.process.log()
                replicas[n] = start_service(replica.env, replica.process.log_path)
                wait_for_new_calls([replicas[n]])  # the gateway found it again
            before = load.total()
            wait_until(lambda: load.total() >= before + 100, timeout=20)
        assert load.failures == []
        assert set(load.statuses) == {200}
        counts = [calls_served(replica) for replica in replicas]
    assert sum(counts) >= load.total()  # retried reads show up twice
    assert min(counts) >= 0.25 * sum(counts), counts


def test_one_replica_stopping_under_load_answers_200_or_503_never_499(
    mongo_uri: str, own_org: OwnOrg, tmp_path: Path
) -> None:
    org = own_org
    env = replica_env(mongo_uri, org.database)
    with ExitStack() as running:
        service = running.enter_context(start_service(env, tmp_path / "service.log"))
        gateway = running.enter_context(
            start_gateway(gateway_env(service.target), tmp_path / "gateway.log")
        )
        # Many calls in flight when the service stops: the race that used to end CANCELLED.
        load = SteadyLoad(gateway, org.token, workers=32)
        with load.running():
            wait_until(lambda: load.statuses[200] >= 50, timeout=20)
            service.process.popen.send_signal(signal.SIGTERM)
            assert service.process.popen.wait(timeout=20) == 0, service.process.log()
            # Requests keep coming while the service is gone: refused, not cancelled.
            wait_until(lambda: load.statuses[503] >= 20, timeout=20)
        assert load.statuses[499] == 0, load.failures[:5]
        assert set(load.statuses) <= {200, 503}, load.failures[:5]
        assert '"message":"stopped"' in service.process.log()


def test_a_draining_replica_reports_not_serving_and_still_answers(
    mongo_uri: str, own_org: OwnOrg, tmp_path: Path
) -> None:
    """Clients that watch health move away; one that does not still gets answers in the drain."""
    org = own_org
    env = service_env(mongo_uri, org.database, DNC_DRAIN_SECONDS="3")
    with (
        start_service(env, tmp_path / "service.log") as service,
        start_gateway(gateway_env(service.target), tmp_path / "gateway.log") as gateway,
        grpc.insecure_channel(service.target) as channel,
    ):
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        started = time.monotonic()
        service.process.popen.send_signal(signal.SIGTERM)
        wait_until(lambda: health_status(service.target) == "NOT_SERVING", timeout=5)
        wait_until(lambda: gateway.health() == 503, timeout=5)  # the gateway saw it too
        reply = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=5)
        assert reply.pagination.total == 12  # still served
        assert time.monotonic() - started < 3
        assert service.process.popen.wait(timeout=20) == 0
        assert time.monotonic() - started >= 3  # it drained for DNC_DRAIN_SECONDS
    messages = [line["message"] for line in service.process.json_lines()]
    assert messages.index("shutting down") < messages.index("drained, no longer taking calls")
