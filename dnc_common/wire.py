"""Metadata names the service and the gateway agree on: defined once, documented in docs/api.md
and docs/operations.md."""

from __future__ import annotations

import re

# A caller's request id: taken from the REST request (X-Request-Id) or made by the gateway,
# sent to the service as metadata and logged by both processes.
REQUEST_ID_KEY = "x-request-id"
MAX_REQUEST_ID_CHARS = 128
# Printable ASCII without spaces: an id labels log lines, audit records and a response header,
# so no control character, no byte a terminal or a log reader would interpret, bounded.
_REQUEST_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_REQUEST_ID_CHARS}}}")
# The service names the caller's organization in this trailing metadata so the gateway's
# access log can carry it; clients may read it too (it is their own organization).
ORG_ID_TRAILER = "dnc-org-id"
# gRFC A6 retry pushback: a negative value tells a client's retry policy not to retry. The
# service sends it with UNAVAILABLE when its database is unreachable: every replica shares that
# database, so a retry elsewhere would only wait again. (The gateway retries reads when a
# replica itself is unreachable or restarting.)
RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms"
DO_NOT_RETRY = "-1"


def is_request_id(value: str) -> bool:
    """Whether a caller's request id may be used as given (both processes apply this rule)."""
    return _REQUEST_ID.fullmatch(value) is not None
