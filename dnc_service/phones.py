"""Phone numbers to E.164, the one form the list is keyed on (parsed by `phonenumbers`).

A number always carries its country code, "+" optional, as in the original API: so
`12125551234`, `+1 (212) 555-1234` and `+1.212.555.1234` are all `+12125551234`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from dnc.v1 import dnc_pb2

from .errors import InvalidArgument
from .validation.rules import field_rules

# Longer than any real number with generous punctuation; bounds parsing work per item. The
# proto's rule on AddDncRequest.phone_number; CheckDnc's numbers are bounded by it here.
MAX_PHONE_CHARS = field_rules(dnc_pb2.AddDncRequest.DESCRIPTOR, "phone_number").string.max_len
# Digits and the punctuation people write numbers with; letters (vanity numbers) are refused.
_PHONE_TEXT = re.compile(r"\+?[0-9 ().\-]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class Phone:
    """A parsed number: E.164 (`+12125551234`) and the stored digits form (`12125551234`)."""

    e164: str

    @property
    def digits(self) -> str:
        return self.e164[1:]


def normalize(raw: str) -> Phone:
    """Parse `raw` with its country code; InvalidArgument when it is not a possible number."""
    text = raw.strip()
    if not text:
        raise InvalidArgument("phone number is empty")
    if len(text) > MAX_PHONE_CHARS:
        raise InvalidArgument(f"phone number must be at most {MAX_PHONE_CHARS} characters")
    if not _PHONE_TEXT.fullmatch(text):
        raise InvalidArgument(
            "phone number may hold only digits, a leading '+', spaces and ( ) . -"
        )
    try:
        number = phonenumbers.parse(text if text.startswith("+") else f"+{text}", None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise InvalidArgument(
            "not a possible phone number: give the country code, e.g. +1 212 555 1234"
        )
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_stored(value: object) -> Phone | None:
    """The E.164 form of a legacy stored `phoneNumber` (text, int64 or double), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer() or value <= 0:
            return None
        value = int(value)
    if isinstance(value, int):
        if value <= 0:
            return None
        value = str(value)
    if not isinstance(value, str):
        return None
    try:
        return normalize(value)
    except InvalidArgument:
        return None
