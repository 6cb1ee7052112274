"""Phone numbers to E.164, the one form the list is keyed on (parsed by `phonenumbers`).

A number carries its country code, "+" optional, as in the original API: so `12125551234`,
`+1 (212) 555-1234` and `+1.212.555.1234` are all `+12125551234`. Given a `region` (ISO 3166
alpha-2), a number without "+" is read as that region's national number: `(212) 555-1234`
with `US` is `+12125551234`.

A full parse costs ~15 us; scrubs and imports carry millions of numbers, most already in a
canonical North American form. `_fast` answers those with a regex, and only those whose answer
`phonenumbers` is certain to give (tests/unit/test_phones_fast_path.py compares the two on
generated inputs); everything else takes the full parse.
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
# Country code 1 (the North American plan: US metadata, national prefix "1", numbers of ten
# digits whose area code starts 2-9): "+1" and ten such digits is always possible, whatever the
# punctuation around them, and a national number of a plan member region reads the same way.
_NANP_INTERNATIONAL = re.compile(r"\+1([2-9][0-9]{9})", re.ASCII)
_NANP_NATIONAL = re.compile(r"1?([2-9][0-9]{9})", re.ASCII)
_PUNCTUATION = str.maketrans("", "", " ().-")
_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
_SUPPORTED_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
_NOT_POSSIBLE = "not a possible phone number: give the country code, e.g. +1 212 555 1234"


@dataclass(frozen=True, slots=True)
class Phone:
    """A parsed number: E.164 (`+12125551234`) and the stored digits form (`12125551234`)."""

    e164: str

    @property
    def digits(self) -> str:
        return self.e164[1:]


def region_code(value: str | None) -> str | None:
    """The upper-case region `value` names (None when absent); InvalidArgument when unknown.

    Checked once per request, never per number."""
    if not value:
        return None
    region = value.upper()
    if region not in _SUPPORTED_REGIONS:
        raise InvalidArgument(f"unknown region {value!r}: give an ISO 3166 alpha-2 code such as US")
    return region


def normalize(raw: str, region: str | None = None) -> Phone:
    """Parse `raw` (with its country code, or national in `region`, a value of `region_code`);
    InvalidArgument when it is not a possible number."""
    text = raw.strip()
    if not text:
        raise InvalidArgument("phone number is empty")
    if len(text) > MAX_PHONE_CHARS:
        raise InvalidArgument(f"phone number must be at most {MAX_PHONE_CHARS} characters")
    if not _PHONE_TEXT.fullmatch(text):
        raise InvalidArgument(
            "phone number may hold only digits, a leading '+', spaces and ( ) . -"
        )
    return _fast(text, region) or _full(text, region)


def _fast(text: str, region: str | None) -> Phone | None:
    """The E.164 form of a North American number when a regex is certain of it, else None."""
    bare = text.translate(_PUNCTUATION)
    if region is None or bare.startswith("+"):
        found = _NANP_INTERNATIONAL.fullmatch(bare if bare.startswith("+") else "+" + bare)
    elif region in _NANP_REGIONS:
        found = _NANP_NATIONAL.fullmatch(bare)
    else:
        return None
    return Phone("+1" + found.group(1)) if found else None


def _full(text: str, region: str | None) -> Phone:
    """`phonenumbers`' answer: the country code required unless a region is given."""
    if region is None and not text.startswith("+"):
        text = f"+{text}"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise InvalidArgument(_NOT_POSSIBLE)
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
