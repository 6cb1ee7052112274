"""`dnc-service [serve | migrate | recover]`: run the gRPC server, backfill phoneE164 on old
rows, or complete the audit of changes a crash left half-done (and expire what is due).

Dev tokens and demo data: `python -m devtools`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from dnc_common import logs

from .settings import Settings, SettingsError

logger = logging.getLogger("dnc_service")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dnc-service", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC server (the default)")
    commands.add_parser(
        "migrate",
        help="backfill phoneE164 on rows that lack it (idempotent; deletes nothing)",
    )
    commands.add_parser(
        "recover",
        help="complete half-done changes' audit records and expire due entries (idempotent)",
    )
    command = parser.parse_args(argv).command

    try:
        settings = Settings.from_env()
        # Imported once the settings are sound: a bad setting fails fast, before OpenTelemetry.
        from dnc_common.tracing import TraceSettings

        tracing = TraceSettings.from_env()
    except SettingsError as error:
        print(f"dnc-service: configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    for deprecation in settings.deprecations:
        logger.warning(deprecation)

    if command == "migrate":
        from .migrate import migrate

        return asyncio.run(migrate(settings, sys.stdout))
    if command == "recover":
        from .recovery import recover

        return asyncio.run(recover(settings, sys.stdout))

    from .server import serve

    try:
        asyncio.run(serve(settings, tracing))
    except SettingsError as error:  # found while building the server, e.g. an unusable key file
        print(f"dnc-service: configuration error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # grpc refuses an address it cannot bind
        logger.error("cannot serve on %s: %s", settings.grpc_addr, error)
        return 1
    return 0
