"""Log lines are JSON and never carry a whole phone number."""

from __future__ import annotations

import json
import logging

import pytest

from dnc_common.logs import JsonFormatter, mask_phone


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("12125551234", "*******1234"),
        ("call 447700900123 now", "call ********0123 now"),
        ("page 2", "page 2"),
        ("1234", "1234"),
    ],
)
def test_mask_phone(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


def test_json_lines_carry_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("you",), "port": 1}
    )
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["level"], line["port"]) == ("hello you", "INFO", 1)
