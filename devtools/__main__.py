"""`python -m devtools token --user ID` prints a dev token; `seed-demo` inserts the demo data.

Both read the service's settings (DNC_JWT_SECRET, MONGODB_URI, ...) from the environment.
"""

from __future__ import annotations

import argparse
import re
import sys

from dnc_service.settings import Settings, SettingsError

from .demo import DEMO_USER_ID, seed_demo
from .dev_tokens import issue_dev_token


def _user_id(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{24}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a user id (24 hex characters)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a dev bearer token (JWT) for a user id")
    token.add_argument(
        "--user", required=True, type=_user_id, help="the user's _id, 24 hex characters"
    )
    token.add_argument("--ttl-seconds", type=int, default=3600)
    commands.add_parser("seed-demo", help="insert demo data into an empty database")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "token":
            print(issue_dev_token(settings, args.user, args.ttl_seconds))
        else:
            inserted = seed_demo(settings)
            print(f"demo data {'inserted' if inserted else 'already present'}", file=sys.stderr)
            print(DEMO_USER_ID)
    except SettingsError as error:
        print(f"devtools: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
