"""Server wiring: the servicer, health and reflection on one grpc.aio server, and its lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.grpc_options import server_keepalive
from dnc_common.metrics import serve_metrics
from dnc_common.tracing import TraceSettings, configure_tracing, service_instrumentors, untraced

from . import reflection
from .admission import AdmissionInterceptor
from .auth import Authenticator, BearerVerifier, Caller
from .call import Metadata
from .checks import Checks
from .clock import Clock, system_clock
from .errors import DncError
from .history import History
from .listing import Listing
from .observability import ObservabilityInterceptor
from .page_tokens import PageTokens
from .recovery import run_logged, sweep
from .servicer import DncServicer
from .settings import Settings
from .store import Store, deadline
from .writes import Writes, write_policy

logger = logging.getLogger(__name__)

SERVICE_NAME = dnc_pb2.DESCRIPTOR.services_by_name["DncService"].full_name
# The process's name in traces (OTEL_SERVICE_NAME overrides it).
TRACE_SERVICE_NAME = "dnc-service"
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DncServer:
    """Owns the gRPC server, the store (database client) and the health of both."""

    def __init__(self, settings: Settings, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.store = Store(settings, clock)
        self.writes = Writes(
            self.store.writes, settings.write_scope, settings.request_timeout_seconds, clock
        )
        verifier = BearerVerifier.from_settings(settings)
        authenticator = Authenticator(verifier, self.store.users)
        tokens = PageTokens.from_settings(settings)
        servicer = DncServicer(
            authenticator,
            Listing(self.store.entries, tokens),
            self.writes,
            Checks(self.store.entries),
            History(self.store.history, tokens),
            settings.request_timeout_seconds,
            settings.export_timeout_seconds,
            settings.stream_timeout_seconds,
        )
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        # Observability first, so that refusals by admission are logged and counted too.
        self.admission = AdmissionInterceptor(
            settings.max_concurrent_rpcs,
            verifier.verify_metadata,
            bounded(authenticator, settings.request_timeout_seconds),
            settings.max_concurrent_rpcs_per_org,
            settings.max_concurrent_streaming_rpcs_per_org,
        )
        self.server = grpc.aio.server(
            interceptors=[ObservabilityInterceptor(), self.admission],
            options=[*connection_options(settings), *server_keepalive()],
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
        self._recovered = False
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
            with untraced():
                await self.check_database()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.health_check_interval_seconds)

    async def check_database(self) -> None:
        """Ping; before the first SERVING, ensure the indexes and complete what a crash left
        half-done (recovery.py), so the audit is whole before calls are taken (its markers are
        cleared by the sweep later: bookkeeping must not hold the start back)."""
        try:
            await self.store.ping()
            if not self._indexes_ensured:
                await self.store.ensure_indexes()
                self._indexes_ensured = True
            if not self._recovered:
                await run_logged(self.store, 0.0, "start-up", clear=False)
                self._recovered = True
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

    async def stop(self, hurry: asyncio.Event | None = None) -> None:
        """Drain, then stop: report NOT_SERVING at once but keep serving for the drain period,
        so that clients (the gateway watches health) move their calls to other replicas first;
        then refuse new calls, let in-flight ones finish within the grace period, and close.

        Without the drain, calls already sent but not yet picked up by the server would be reset
        as CANCELLED. `hurry` (a second signal) ends the drain early.
        """
        await self.health.enter_graceful_shutdown()
        if self.settings.drain_seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    (hurry or asyncio.Event()).wait(), self.settings.drain_seconds
                )
            logger.info("drained, no longer taking calls")
        await self.server.stop(self.settings.shutdown_grace_seconds)
        await self.writes.drain(self.settings.shutdown_grace_seconds)
        await self.store.close()
        logger.info("stopped")


async def serve(settings: Settings, tracing: TraceSettings | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    # Before the server and the database client exist: the instrumentations wrap their creation.
    configure_tracing(TRACE_SERVICE_NAME, service_instrumentors(), tracing)
    server = DncServer(settings)
    stop, hurry = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        (hurry if stop.is_set() else stop).set()  # a second signal cuts the drain short

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    if settings.metrics_addr:
        serve_metrics(settings.metrics_addr)
    await server.start()
    # Start-up's objects (descriptors, modules, the driver's pools) live as long as the
    # process: frozen, a full collection no longer walks them (a ~20 ms pause in the gateway).
    gc.freeze()
    logger.info(write_policy(settings.write_scope), extra={"write_scope": settings.write_scope})
    watcher = asyncio.create_task(server.watch_database(stop))
    sweeper = asyncio.create_task(sweep(server.store, settings, stop))
    await stop.wait()
    logger.info(
        "shutting down",
        extra={
            "drain_seconds": settings.drain_seconds,
            "grace_seconds": settings.shutdown_grace_seconds,
        },
    )
    watcher.cancel()  # a ping may be stuck on a slow database: don't wait for it
    sweeper.cancel()  # what it leaves half-done, the next run completes
    await server.stop(hurry)
    for task in (watcher, sweeper):
        with contextlib.suppress(asyncio.CancelledError):
            await task


def bounded(
    authenticator: Authenticator, seconds: float
) -> Callable[[Metadata], Awaitable[Caller]]:
    """`authenticator.authenticate` within `seconds` (the user lookup admission makes before a
    call has its own deadline): past them, DeadlineExceeded, which the servicer then answers."""

    async def authenticate(metadata: Metadata) -> Caller:
        async with deadline(seconds):
            return await authenticator.authenticate(metadata)

    return authenticate


def connection_options(settings: Settings) -> list[tuple[str, int]]:
    """Bounds on each client connection: streams at once, lifetime, idleness.

    Past its age a connection gets GOAWAY (clients reconnect transparently) and its calls get
    the grace to finish; then it is closed, whatever its calls are doing, so no call, idle or
    not, outlives age + grace.
    """
    return [
        ("grpc.max_concurrent_streams", settings.max_concurrent_streams),
        ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
        ("grpc.max_connection_age_grace_ms", int(settings.max_connection_age_grace_seconds * 1000)),
        ("grpc.max_connection_idle_ms", int(settings.max_connection_idle_seconds * 1000)),
    ]


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
