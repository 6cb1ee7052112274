"""A test's own FerretDB behind a real toxiproxy, and a service on it: faults between the
service and the database that never leak into other tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from data_support import TokenFactory, seed_user
from devtools import ferretdb
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from service_support import Service, list_code, service_env, start_service
from toxiproxy import Toxiproxy


@dataclass
class Stack:
    proxy: Toxiproxy
    service: Service
    channel: grpc.Channel
    metadata: tuple[tuple[str, str], ...]
    # The database itself, not through the proxy: what a test reads to see what was written.
    direct_uri: str = ""

    @property
    def stub(self) -> dnc_pb2_grpc.DncServiceStub:
        return dnc_pb2_grpc.DncServiceStub(self.channel)

    def call(self, timeout: float | None = 10) -> dnc_pb2.ListDncResponse:
        stub = dnc_pb2_grpc.DncServiceStub(self.channel)
        return stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=self.metadata, timeout=timeout)

    def code_of(self, timeout: float | None = 10) -> grpc.StatusCode:
        return list_code(self.channel, self.metadata, timeout)


@contextmanager
def build_stack(tmp_path: Path, make_token: TokenFactory, **settings: str) -> Iterator[Stack]:
    """FerretDB, toxiproxy in front of it and the service; all stopped however the test ends."""
    with ExitStack() as running:
        database = ferretdb.start(tmp_path / "db")
        running.callback(database.stop)
        user_id = seed_user(database.uri, "dnc", entries=3)
        proxy = Toxiproxy(f"127.0.0.1:{database.port}", tmp_path / "toxiproxy.log")
        running.callback(proxy.stop)
        env = service_env(
            f"mongodb://{proxy.listen}/?directConnection=true",
            "dnc",
            DNC_MONGODB_SERVER_SELECTION_TIMEOUT_SECONDS="1",
            DNC_HEALTH_CHECK_INTERVAL_SECONDS="0.3",
            **settings,
        )
        service = running.enter_context(start_service(env, tmp_path / "service.log"))
        channel = running.enter_context(grpc.insecure_channel(service.target))
        metadata = (("authorization", f"Bearer {make_token(str(user_id))}"),)
        yield Stack(proxy, service, channel, metadata, database.uri)
    assert "Traceback" not in service.process.log()
