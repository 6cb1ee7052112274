"""`python -m dnc_service` runs the gRPC server."""

import sys

from .cli import main

sys.exit(main())
