"""Entity ids: 24 hexadecimal characters (a MongoDB ObjectId), defined once.

The proto's rules spell the same pattern (`batch_id`, `RemoveDncRequest.id`); ids the service
hands out or stores are lowercase.
"""

from __future__ import annotations

import re
from typing import TypeGuard

# As proto/dnc/v1/dnc.proto's buf.validate rules spell it.
HEX_ID_PATTERN = "^[0-9a-fA-F]{24}$"
_HEX_ID = re.compile(HEX_ID_PATTERN, re.ASCII)


def is_hex_id(value: object) -> TypeGuard[str]:
    """Whether `value` is a text of exactly 24 hexadecimal characters, in either case."""
    return isinstance(value, str) and _HEX_ID.fullmatch(value) is not None


def is_lowercase_hex_id(value: object) -> TypeGuard[str]:
    """Whether `value` is an id in the form the service writes: 24 lowercase hex characters."""
    return is_hex_id(value) and value == value.lower()
