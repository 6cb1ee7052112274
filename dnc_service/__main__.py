"""`python -m dnc_service` runs the gRPC server (and the CLI's other commands)."""

import sys

from .cli import main

sys.exit(main())
