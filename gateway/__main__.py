"""`python -m gateway`: serve until SIGTERM/SIGINT, then drain in-flight requests and exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from dnc_common import logs
from dnc_common.metrics import serve_metrics

from .app import create_app
from .dnc_api import DNC_API
from .settings import Settings, SettingsError

logger = logging.getLogger("gateway")


async def serve(settings: Settings) -> None:
    """Bind, log the address, wait for a stop signal, then shut down gracefully."""
    runner = web.AppRunner(
        create_app(settings, spec=DNC_API),
        access_log=None,  # the gateway logs each request itself, as JSON
        shutdown_timeout=settings.shutdown_grace_seconds,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        logger.info(
            "listening on http://%s:%d, calling %s", shown, port, settings.grpc_target,
            extra={"port": port, "grpc_target": settings.grpc_target},
        )  # fmt: skip
        if settings.metrics_addr:
            serve_metrics(settings.metrics_addr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        logger.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    finally:
        # Stops listening, lets in-flight requests finish within the grace, then closes the channel.
        await runner.cleanup()
    logger.info("stopped")


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"dnc-gateway: configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except OSError as error:  # the address is taken or cannot be bound
        logger.error("cannot listen on %s: %s", settings.http_addr, error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
