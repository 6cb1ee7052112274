"""A database outage is UNAVAILABLE within seconds and NOT_SERVING, and the service recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from data_support import TokenFactory, seed_user
from devtools import ferretdb
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from service_support import service_env, start_service
from support import health_status, wait_until


@pytest.fixture
def private_database(tmp_path: Path) -> Iterator[ferretdb.FerretDB]:
    """A FerretDB of this test's own (even when MONGODB_URI is set), so it can be stopped."""
    server = ferretdb.start(tmp_path / "db")
    try:
        yield server
    finally:
        server.stop()


def test_database_down_is_unavailable_then_recovers(
    private_database: ferretdb.FerretDB, tmp_path: Path, make_token: TokenFactory
) -> None:
    user_id = seed_user(private_database.uri, "dnc", entries=1)
    env = service_env(private_database.uri, "dnc", DNC_MONGODB_SERVER_SELECTION_TIMEOUT_SECONDS="1")
    metadata = (("authorization", f"Bearer {make_token(str(user_id))}"),)
    with (
        start_service(env, tmp_path / "service.log") as service,
        grpc.insecure_channel(service.target) as channel,
    ):
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        response = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
        assert response.pagination.total == 1

        private_database.stop()
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as raised:
            stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert time.monotonic() - started < 5
        assert raised.value.details() == "the database is unavailable, try again later"
        wait_until(lambda: health_status(service.target) == "NOT_SERVING", timeout=10)

        restarted = ferretdb.start(private_database.data_dir, port=private_database.port)
        try:
            wait_until(lambda: health_status(service.target) == "SERVING", timeout=20)
            response = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
            assert response.pagination.total == 1
        finally:
            restarted.stop()
    assert "Traceback" not in service.process.log()
