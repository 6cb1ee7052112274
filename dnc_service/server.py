"""Server wiring: the servicer, health and reflection on one grpc.aio server, and its lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.metrics import serve_metrics

from . import reflection
from .auth import Authenticator, BearerVerifier
from .errors import DncError
from .management import Management
from .observability import ObservabilityInterceptor
from .servicer import DncServicer
from .settings import Settings
from .store import Store

logger = logging.getLogger(__name__)

SERVICE_NAME = dnc_pb2.DESCRIPTOR.services_by_name["DncService"].full_name
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DncServer:
    """Owns the gRPC server, the store (database client) and the health of both."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings)
        servicer = DncServicer(
            Authenticator(BearerVerifier.from_settings(settings), self.store.users),
            self.store.entries,
            Management(self.store.entries, self.store.writes, self.store.audit,
                       settings.write_scope),
            settings.request_timeout_seconds,
            settings.export_timeout_seconds,
        )  # fmt: skip
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        self.server = grpc.aio.server(
            interceptors=[ObservabilityInterceptor()],
            maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        )
        dnc_pb2_grpc.add_DncServiceServicer_to_server(servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable((SERVICE_NAME, health.SERVICE_NAME), self.server)
        credentials = server_credentials(settings)
        if credentials is None:
            self.port = self.server.add_insecure_port(settings.grpc_addr)
        else:
            self.port = self.server.add_secure_port(settings.grpc_addr, credentials)
        self._indexes_ensured = not settings.ensure_indexes
        self._serving: bool | None = None

    async def start(self) -> None:
        await self._set_serving(False)
        await self.server.start()
        host = self.settings.grpc_addr.rsplit(":", 1)[0]
        tls = (
            "mutual TLS"
            if self.settings.grpc_tls_client_ca_file
            else "TLS"
            if self.settings.grpc_tls_cert_file
            else "plaintext"
        )
        logger.info("listening on %s:%d (%s)", host, self.port, tls, extra={"port": self.port})

    async def watch_database(self, stop: asyncio.Event) -> None:
        """Report SERVING only while a ping succeeds; ensure indexes on the first success."""
        while not stop.is_set():
            await self.check_database()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.health_check_interval_seconds)

    async def check_database(self) -> None:
        try:
            await self.store.ping()
            if not self._indexes_ensured:
                await self.store.ensure_indexes()
                self._indexes_ensured = True
        except DncError as error:
            await self._set_serving(False, reason=error.message)
        else:
            await self._set_serving(True)

    async def _set_serving(self, serving: bool, reason: str = "") -> None:
        if serving == self._serving:
            return
        self._serving = serving
        status = _SERVING if serving else _NOT_SERVING
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)
        logger.log(
            logging.INFO if serving else logging.WARNING,
            "health %s%s", "SERVING" if serving else "NOT_SERVING", f": {reason}" if reason else "",
        )  # fmt: skip

    async def stop(self) -> None:
        """Refuse new calls, let in-flight ones finish within the grace period, then close."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.shutdown_grace_seconds)
        await self.store.close()
        logger.info("stopped")


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    server = DncServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if settings.metrics_addr:
        serve_metrics(settings.metrics_addr)
    await server.start()
    watcher = asyncio.create_task(server.watch_database(stop))
    await stop.wait()
    logger.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    watcher.cancel()  # a ping may be stuck on a slow database: don't wait for it
    await server.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS from certificate files; with a client CA, clients must present a certificate."""
    if settings.grpc_tls_cert_file is None or settings.grpc_tls_key_file is None:
        return None
    client_ca = (
        settings.grpc_tls_client_ca_file.read_bytes() if settings.grpc_tls_client_ca_file else None
    )
    return grpc.ssl_server_credentials(
        [(settings.grpc_tls_key_file.read_bytes(), settings.grpc_tls_cert_file.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )
