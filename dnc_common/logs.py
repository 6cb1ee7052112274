"""JSON log lines on stderr; phone numbers are masked and tokens never reach a log call."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# Five or more digits (any script's), split by anything but letters and digits: "+1 (212)
# 555-1234", "212/555/1234", "212_555_1234", "212\u2010555\u20101234" (a Unicode hyphen).
# Masking a date or an amount too is the safe side of the trade.
_PHONE_LIKE = re.compile(r"\d(?:[\W_]*\d){4,}")
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def mask_phone(text: str) -> str:
    """Keep the last four digits of phone-like text: '+1 (212) 555-1234' -> '+* (***) ***-1234'"""
    return _PHONE_LIKE.sub(_mask_digits, text)


def _mask_digits(match: re.Match[str]) -> str:
    digits_left = sum(char.isdecimal() for char in match[0])
    masked = []
    for char in match[0]:
        if char.isdecimal():
            masked.append(char if digits_left <= 4 else "*")
            digits_left -= 1
        else:
            masked.append(char)
    return "".join(masked)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure(level: str) -> None:
    """Send every logger to stderr as JSON at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
