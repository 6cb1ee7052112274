"""A request message that does not decode: refused as INVALID_ARGUMENT, like any bad request.

grpc would answer UNKNOWN with the exception's text and log a traceback. The observability
interceptor installs `tolerant` as each method's deserializer and refuses `MALFORMED` with
INVALID_ARGUMENT and MALFORMED_MESSAGE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError

# What the tolerant deserializer returns for bytes that are not the request message.
MALFORMED = object()
MALFORMED_MESSAGE = "malformed request message"


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """`deserializer`, answering MALFORMED instead of raising on bytes that do not decode."""
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return MALFORMED

    return deserialize
