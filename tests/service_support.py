"""Running the real `python -m dnc_service` for tests, or its server in the test's own process
with a clock the test sets (`clocked_service`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.server import DncServer
from dnc_service.settings import Settings
from support import JWT_SECRET, Process, Samples, Stoppable, free_port, health_status, scrape


def service_env(mongo_uri: str, database: str, **overrides: str) -> dict[str, str]:
    """The environment a test's `python -m dnc_service` runs with."""
    return {
        "MONGODB_URI": mongo_uri,
        "DNC_MONGODB_DB": database,
        "DNC_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "DNC_JWT_SECRET": JWT_SECRET,
        "DNC_HEALTH_CHECK_INTERVAL_SECONDS": "0.5",
        "DNC_MONGODB_SERVER_SELECTION_TIMEOUT_SECONDS": "2",
        "DNC_DRAIN_SECONDS": "0.2",
        "DNC_SHUTDOWN_GRACE_SECONDS": "5",
        "DNC_LOG_LEVEL": "INFO",
        "DNC_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        # The audit sweep clears markers with an update each, which on FerretDB scans the
        # collection: the session's growing database would pay for it all suite long. The
        # tests of the sweep set their own interval (test_audit_recovery.py).
        "DNC_AUDIT_SWEEP_SECONDS": "3600",
        # FerretDB scans whole collections for most lookups, and the session's database grows
        # suite long on a shared 2-core machine: concurrent writes there (test_management's 20
        # adds of one number) outlast the default 10 s. Tests of the limit set their own.
        "DNC_REQUEST_TIMEOUT_SECONDS": "30",
        **overrides,
    }


@dataclass
class Service(Stoppable):
    """A running `python -m dnc_service` and the address it serves."""

    process: Process
    target: str
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.process.terminate()

    def metrics(self) -> Samples:
        return scrape(self.env["DNC_METRICS_ADDR"])


def start_service(
    env: dict[str, str],
    log_path: Path,
    expect_serving: bool = True,
    credentials: grpc.ChannelCredentials | None = None,
) -> Service:
    """Start the real gRPC server and wait until it answers health (SERVING when expected)."""
    process = Process("dnc_service", env, log_path)
    target = env["DNC_GRPC_ADDR"]
    wanted = {"SERVING"} if expect_serving else {"SERVING", "NOT_SERVING"}
    process.wait_ready(lambda: health_status(target, credentials=credentials) in wanted)
    return Service(process, target, env)


Metadata = tuple[tuple[str, str], ...]


def list_code(
    channel: grpc.Channel, metadata: Metadata, timeout: float | None = 10
) -> grpc.StatusCode:
    """The status of one ListDnc call on `channel` (OK when it answers): the probe of the tests
    that only care whether the service takes a call (TLS, tokens, faults)."""
    try:
        dnc_pb2_grpc.DncServiceStub(channel).ListDnc(
            dnc_pb2.ListDncRequest(), metadata=metadata, timeout=timeout
        )
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


class SetClock:
    """A clock the test sets (`clock.now = ...`): the service's one source of now."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def clocked_service(
    mongo_uri: str, database: str, clock: SetClock
) -> AsyncIterator[dnc_pb2_grpc.DncServiceAsyncStub]:
    """The real DncServer (store, validation, servicer) in this process, on a port of its own,
    its time `clock`'s: tests move time instead of waiting for it. Yields an aio stub."""
    env = service_env(mongo_uri, database, DNC_GRPC_ADDR="127.0.0.1:0")
    server = DncServer(Settings.from_env(env), clock)
    await server.store.ensure_indexes()
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield dnc_pb2_grpc.DncServiceStub(channel)
    finally:
        await channel.close(None)
        await server.server.stop(None)
        await server.store.close()
