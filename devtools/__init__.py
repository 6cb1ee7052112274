"""Developer tooling: the local FerretDB, demo data, dev tokens and `make run`; not shipped."""

from pathlib import Path

# The checkout's cache: tools built by `make tools` (bin/) and local data.
_CACHE = Path(__file__).resolve().parents[1] / ".cache"
