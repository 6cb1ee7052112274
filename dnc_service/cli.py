"""`dnc-service [serve]`, `dnc-service token --user ID`, `dnc-service seed-demo`."""

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
    token = commands.add_parser("token", help="print a dev JWT for a user id")
    token.add_argument("--user", required=True, help="the user's _id, 24 hex characters")
    token.add_argument("--ttl-seconds", type=int, default=3600)
    commands.add_parser("seed-demo", help="insert demo data into an empty database")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"dnc-service: configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)

    if args.command == "token":
        from .tokens import issue_token

        print(issue_token(settings, args.user, args.ttl_seconds))
        return 0
    if args.command == "seed-demo":
        from .demo import DEMO_USER_ID, seed_demo

        inserted = seed_demo(settings)
        logger.info("demo data %s", "inserted" if inserted else "already present")
        print(DEMO_USER_ID)
        return 0

    from .server import serve

    try:
        asyncio.run(serve(settings))
    except RuntimeError as error:  # grpc refuses an address it cannot bind
        logger.error("cannot serve on %s: %s", settings.grpc_addr, error)
        return 1
    return 0
