"""json_format's parse errors reworded for a JSON client: the texts a 400 carries, pinned."""

from __future__ import annotations

import pytest

from gateway.transcoding import _parse_error_text


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (ValueError(), "ValueError"),  # no text: the kind of error, never an empty detail
        (TypeError(""), "TypeError"),
        (
            TypeError(
                "Failed to parse name field: expected string or bytes-like object, got 'int'."
            ),
            "name field: expected a string, got a number",
        ),
        (
            ValueError("Failed to parse flag field: 'dict' is not 'bool'.."),
            "flag field: an object is not a boolean",
        ),
        (ValueError("a..b.."), "a.b"),
        (
            ValueError("got 'list', 'float', 'str' and 'NoneType'"),
            "got an array, a number, a string and null",
        ),
    ],
)
def test_parse_errors_are_said_in_jsons_words(raised: Exception, said: str) -> None:
    assert _parse_error_text(raised) == said


def test_a_long_parse_error_is_cut_at_300_characters() -> None:
    assert _parse_error_text(ValueError("x" * 300)) == "x" * 300
    assert _parse_error_text(ValueError("x" * 301)) == "x" * 300 + "..."
