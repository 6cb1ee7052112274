"""Log lines are JSON and never carry a whole phone number."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc_common.logs import JsonFormatter, configure, mask_phone


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("12125551234", "*******1234"),
        ("call 447700900123 now", "call ********0123 now"),
        ("page 2", "page 2"),
        ("1234", "1234"),
        ("212/555/1234", "***/***/1234"),
        ("212_555_1234", "***_***_1234"),
        ("212\u2010555\u20131234", "***\u2010***\u20131234"),
        ("\u0662\u0661\u0662 555 1234", "*** *** 1234"),  # Arabic-Indic digits
        ("abc12345def", "abc*2345def"),
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


def record_line(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "dnc.test", "levelname": "WARNING", "msg": "m"}
    record = logging.makeLogRecord(base | fields)
    line: dict[str, object] = json.loads(JsonFormatter().format(record))
    return line


def test_a_line_has_exactly_the_standard_keys_then_the_extras() -> None:
    line = record_line(created=0.25, _private="hidden", request_id="r1")
    assert line == {
        "time": "1970-01-01T00:00:00.250+00:00",
        "level": "WARNING",
        "logger": "dnc.test",
        "message": "m",
        "request_id": "r1",
    }


def test_values_json_cannot_hold_are_written_as_text() -> None:
    assert record_line(where=Path("/tmp/x"))["where"] == "/tmp/x"


def test_an_exception_is_written_with_its_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = record_line(exc_info=sys.exc_info())
    exception = line["exception"]
    assert isinstance(exception, str)
    assert exception.startswith("Traceback")
    assert exception.endswith("ValueError: boom")


def test_configure_sends_every_logger_to_stderr_as_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure("DEBUG")
        (handler,) = root.handlers
        assert root.level == logging.DEBUG
        assert isinstance(handler, logging.StreamHandler)
        assert isinstance(handler.formatter, JsonFormatter)
        logging.getLogger("dnc.any").debug("hello %s", "there")
        (line,) = capsys.readouterr().err.splitlines()
        assert json.loads(line)["message"] == "hello there"
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


DIGITS = st.characters(categories=["Nd"])
SEPARATORS = st.text(
    st.characters(exclude_categories=["L", "M", "N", "Cs"]) | st.just("_"), max_size=3
)


@settings(max_examples=500)
@given(
    prefix=st.text(st.characters(categories=["L"]), max_size=3),
    groups=st.lists(st.tuples(st.lists(DIGITS, min_size=1, max_size=4), SEPARATORS), min_size=2),
)
def test_any_separated_digits_keep_at_most_their_last_four(
    prefix: str, groups: list[tuple[list[str], str]]
) -> None:
    """However digits are split (punctuation, Unicode dashes and spaces, any script's digits),
    once there are five or more only the last four survive."""
    digits = [digit for group, _ in groups for digit in group]
    text = prefix + "".join("".join(group) + separator for group, separator in groups)
    masked = mask_phone(text)
    survivors = [char for char in masked if char.isdecimal()]
    if len(digits) >= 5:
        assert survivors == digits[-4:]
        assert len(masked) == len(text)
    else:
        assert masked == text
