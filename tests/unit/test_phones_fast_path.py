"""The fast path gives exactly what the full `phonenumbers` parse gives, or steps aside."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dnc_service.errors import InvalidArgument
from dnc_service.phones import _fast, _full, normalize, region_code

REGIONS = [None, "US", "CA", "PR", "JM", "GB", "DE", "FR", "IN", "AU"]
PUNCTUATION = st.sampled_from([" ", "(", ")", ".", "-", ""])
# North American shapes (what the fast path takes) near misses and anything else of digits.
DIGITS = st.one_of(
    st.from_regex(r"1?[0-9]{10}", fullmatch=True),
    st.from_regex(r"1?[2-9][0-9]{8,10}", fullmatch=True),
    st.from_regex(r"[0-9]{3,16}", fullmatch=True),
)


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """Digits as people write them: an optional "+", punctuation between and around."""
    digits = draw(DIGITS)
    parts = [draw(PUNCTUATION) + digit for digit in digits]
    return draw(st.sampled_from(["", "+"])) + "".join(parts) + draw(PUNCTUATION)


def full_or_refused(text: str, region: str | None) -> str | None:
    try:
        return _full(text, region).e164
    except InvalidArgument:
        return None


@given(text=written_numbers(), region=st.sampled_from(REGIONS))
@example(text="2125551234", region="US")
@example(text="+1 (212) 555-1234", region=None)
@example(text="1 212 555 1234", region="GB")
@example(text="12125551234", region="CA")
def test_the_fast_path_agrees_with_the_full_parse(text: str, region: str | None) -> None:
    fast = _fast(text.strip(), region)
    if fast is not None:
        assert fast.e164 == full_or_refused(text.strip(), region)


@given(text=written_numbers(), region=st.sampled_from(REGIONS))
def test_normalize_is_the_full_parse(text: str, region: str | None) -> None:
    stripped = text.strip()
    if not stripped:
        return
    try:
        answer: str | None = normalize(text, region).e164
    except InvalidArgument:
        answer = None
    assert answer == full_or_refused(stripped, region)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(212) 555-1234", "US", "+12125551234"),
        ("212.555.1234", "us", "+12125551234"),
        ("1 212 555 1234", "US", "+12125551234"),
        ("020 7946 0500", "GB", "+442079460500"),
        ("+1 212 555 1234", "GB", "+12125551234"),
        ("12125551234", None, "+12125551234"),
    ],
)
def test_a_region_reads_national_numbers(raw: str, region: str, e164: str) -> None:
    assert normalize(raw, region_code(region)).e164 == e164


def test_without_a_region_the_country_code_is_required() -> None:
    with pytest.raises(InvalidArgument, match="not a possible"):
        normalize("(212) 555-1234")


@pytest.mark.parametrize("region", ["ZZ", "XX", "us1"])
def test_an_unknown_region_is_refused(region: str) -> None:
    with pytest.raises(InvalidArgument, match="unknown region"):
        region_code(region)


def test_no_region_is_none() -> None:
    assert region_code(None) is None
    assert region_code("") is None
