"""mask_phone keeps the punctuation and the last four digits, whatever the number's spelling."""

from __future__ import annotations

import pytest

from dnc_common.logs import mask_phone


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+1 (212) 555-1234", "+* (***) ***-1234"),
        ("+1.212.555.1234", "+*.***.***.1234"),
        ("phone=44 7700 900123;", "phone=** **** **0123;"),
        ("12345", "*2345"),
        ("1-2-3-4", "1-2-3-4"),  # four digits are not phone-like
        ("no digits here", "no digits here"),
        ("", ""),
    ],
)
def test_punctuated_numbers_keep_their_shape(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


def test_every_number_in_a_line_is_masked() -> None:
    assert mask_phone("from 12125551234 to 447700900123") == "from *******1234 to ********0123"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("1234x5678", "1234x5678"),  # a letter ends a number: two groups of four
        ("212\t555\n1234", "***\t***\n1234"),  # any whitespace joins
        ("212\u00a0555\u202f1234", "***\u00a0***\u202f1234"),  # no-break spaces
        ("212--//..555__1234", "***--//..***__1234"),  # runs of separators
        ("2125551234567890123", "***************0123"),  # no upper bound
    ],
)
def test_only_letters_and_digits_separate_numbers(text: str, masked: str) -> None:
    assert mask_phone(text) == masked
