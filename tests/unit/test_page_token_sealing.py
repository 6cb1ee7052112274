"""The sealed page-token format, byte for byte: what one replica writes, another (of another
version) must open. Tokens are built here by hand from the documented layout (version 2, a
12-byte nonce, the AES-256-GCM sealed JSON body, unpadded base64url; the organization and
the search as associated data) and compared with what PageTokens writes and opens.

Every PageTokens is built inside its test so that mutation testing links each test to the
code it runs (see docs/mutation.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dnc_service import page_tokens
from dnc_service.errors import InvalidArgument
from dnc_service.page_tokens import (
    INVALID_MESSAGE,
    MAX_PAGE_TOKEN_CHARS,
    PagePosition,
    PageTokens,
    derive_key,
)
from dnc_service.settings import Settings

ID = "64e5f12345abcdef98765432"
ORG = "64e5f12345abcdef00000001"
KEY, OTHER_KEY = b"k" * 32, b"o" * 32


def associated(org: str, search: str) -> bytes:
    """Version byte, organization, search (lone surrogates kept), separated by NUL bytes."""
    return b"\x02\x00" + org.encode() + b"\x00" + search.encode("utf-8", "surrogatepass")


def seal(body: bytes, nonce: bytes, org: str = ORG, search: str = "", key: bytes = KEY) -> str:
    sealed = AESGCM(key).encrypt(nonce, body, associated(org, search))
    return base64.urlsafe_b64encode(b"\x02" + nonce + sealed).decode().rstrip("=")


def opened(body: object) -> PagePosition:
    """What the service makes of a token sealed by hand around `body` (JSON)."""
    return PageTokens([KEY]).decode(seal(json.dumps(body).encode(), bytes(12)), ORG, "")


def open_by_hand(token: str, org: str = ORG, search: str = "", key: bytes = KEY) -> bytes:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert raw[:1] == b"\x02"
    return AESGCM(key).decrypt(raw[1:13], raw[13:], associated(org, search))


def test_the_body_is_compact_json_of_the_position() -> None:
    tokens = PageTokens([KEY])
    moment = datetime(2025, 5, 15, 10, 30, 0, 123000, tzinfo=UTC)
    token = tokens.encode(PagePosition(3, 40, ID, moment), ORG, "abc")
    assert open_by_hand(token, search="abc") == (
        b'{"p":3,"n":40,"i":"64e5f12345abcdef98765432","c":1747305000123}'
    )
    assert open_by_hand(tokens.encode(PagePosition(2, 10), ORG, ""), search="") == b'{"p":2,"n":10}'


def test_a_purpose_is_a_last_nul_separated_part_of_the_associated_data() -> None:
    tokens = PageTokens([KEY])
    token = tokens.encode(PagePosition(2, 10), ORG, "+12125551234", "history")
    assert open_by_hand(token, search="+12125551234\x00history") == b'{"p":2,"n":10}'
    assert tokens.decode(token, ORG, "+12125551234", "history") == PagePosition(2, 10)
    with pytest.raises(InvalidArgument) as raised:
        tokens.decode(token, ORG, "+12125551234", invalid_message="not for this RPC")
    assert raised.value.message == "not for this RPC"


def test_a_token_is_exactly_version_nonce_and_sealed_body(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"p":2,"n":5}'  # 42 bytes sealed: 56 characters, no padding to strip
    # A nonce whose token ends in "X": only "=" padding is stripped, never a character.
    nonce = next(
        nonce
        for nonce in (count.to_bytes(12, "big") for count in range(100_000))
        if seal(body, nonce).endswith("X")
    )
    expected = seal(body, nonce)
    monkeypatch.setattr(page_tokens, "os", SimpleNamespace(urandom=lambda size: nonce[:size]))
    tokens = PageTokens([KEY])
    assert tokens.encode(PagePosition(2, 5), ORG, "") == expected
    assert tokens.decode(expected, ORG, "") == PagePosition(2, 5)


def test_tokens_of_every_length_open() -> None:
    tokens = PageTokens([KEY])
    nonce = bytes(range(12))
    # JSON allows spaces: 12 bodies of consecutive lengths give tokens of every length mod 4.
    for spaces in range(12):
        token = seal(b'{"p":2,' + b" " * spaces + b'"n":10}', nonce)
        assert tokens.decode(token, ORG, "") == PagePosition(2, 10), len(token)


def test_the_length_cap_is_inclusive() -> None:
    tokens = PageTokens([KEY])
    # 256 characters are 192 bytes: the version, the nonce, 16 bytes of tag and a 163-byte body.
    body = b'{"p":2,"n":10' + b" " * 149 + b"}"
    assert len(body) == 163
    token = seal(body, bytes(12))
    assert len(token) == MAX_PAGE_TOKEN_CHARS
    assert tokens.decode(token, ORG, "") == PagePosition(2, 10)
    longer = seal(body + b" " * 3, bytes(12))  # 260 characters
    with pytest.raises(InvalidArgument):
        tokens.decode(longer, ORG, "")


@pytest.mark.parametrize(
    "change",
    [
        lambda token: token[:8] + "...." + token[8:],  # base64 decoders skip what they don't know
        lambda token: token[:8] + " \n\t " + token[8:],
        lambda token: token + "=" * (-len(token) % 4 or 4),  # padded
        lambda token: token.replace("-", "+").replace("_", "/"),  # the standard alphabet
    ],
)
def test_only_unpadded_base64url_is_read(change: Callable[[str], str]) -> None:
    tokens = PageTokens([KEY])
    token = next(  # one that holds both "-" and "_"
        token
        for token in (seal(b'{"p":2,"n":10}', count.to_bytes(12, "big")) for count in range(10_000))
        if "-" in token and "_" in token
    )
    assert tokens.decode(token, ORG, "") == PagePosition(2, 10)
    with pytest.raises(InvalidArgument) as raised:
        tokens.decode(change(token), ORG, "")
    assert raised.value.message == INVALID_MESSAGE
    assert raised.value.field == "page_token"


def test_a_search_with_a_lone_surrogate_is_bound_too() -> None:
    tokens = PageTokens([KEY])
    token = tokens.encode(PagePosition(2, 10), ORG, "a\ud800")
    assert open_by_hand(token, search="a\ud800") == b'{"p":2,"n":10}'
    assert tokens.decode(token, ORG, "a\ud800") == PagePosition(2, 10)
    with pytest.raises(InvalidArgument):
        tokens.decode(token, ORG, "a\ud801")


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"p": 1, "n": 0}, True),
        ({"p": 1, "n": 1}, False),  # nothing comes before the first page
        ({"p": 3, "n": 2}, True),  # two pages of one entry
        ({"p": 3, "n": 1}, False),
        ({"p": 3, "n": 200}, True),  # two pages of 100
        ({"p": 3, "n": 201}, False),
        ({"p": 2**31 - 1, "n": 2**31 - 2}, True),  # the last int32 page
        ({"p": 2**31, "n": 2**31 - 1}, False),
    ],
)
def test_the_offset_is_within_the_pages_before(body: dict[str, int], valid: bool) -> None:
    if valid:
        assert opened(body) == PagePosition(body["p"], body["n"])
    else:
        with pytest.raises(InvalidArgument):
            opened(body)


@pytest.mark.parametrize(
    ("milliseconds", "moment"),
    [
        (-62135596800000, datetime(1, 1, 1, tzinfo=UTC)),
        (-62135596800001, None),
        (253402300799999, datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        (253402300800000, None),
    ],
    ids=["year-1", "before-year-1", "year-9999", "after-year-9999"],
)
def test_dates_are_those_python_can_hold(milliseconds: int, moment: datetime | None) -> None:
    body = {"p": 2, "n": 10, "i": ID, "c": milliseconds}
    if moment is None:
        with pytest.raises(InvalidArgument):
            opened(body)
    else:
        assert opened(body) == PagePosition(2, 10, ID, moment)


def test_a_naive_date_is_utc_and_an_aware_one_keeps_its_instant() -> None:
    tokens = PageTokens([KEY])
    naive = datetime(2025, 5, 15, 10, 30)
    opened = tokens.decode(tokens.encode(PagePosition(2, 10, ID, naive), ORG, ""), ORG, "")
    assert opened.created_at == naive.replace(tzinfo=UTC)
    paris = datetime(2025, 5, 15, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    opened = tokens.decode(tokens.encode(PagePosition(2, 10, ID, paris), ORG, ""), ORG, "")
    assert opened.created_at == datetime(2025, 5, 15, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "keys",
    [[], [b"k" * 16], [b"k" * 24], [KEY, b"k" * 31], [KEY, b"k" * 33]],
)
def test_keys_are_32_bytes_at_least_one(keys: list[bytes]) -> None:
    # AES-GCM itself takes 16- and 24-byte keys: the check is ours.
    with pytest.raises(ValueError, match=r"^page token keys are 32 bytes, at least one$"):
        PageTokens(keys)


def test_a_refused_token_says_how_to_use_tokens() -> None:
    tokens = PageTokens([KEY])
    with pytest.raises(InvalidArgument) as raised:
        tokens.decode("abc", ORG, "")
    assert raised.value.message == INVALID_MESSAGE
    assert str(raised.value) == (
        "page_token is not valid: pass next_page_token as given, with the same search"
    )


def test_configured_keys_seal_with_the_first() -> None:
    tokens = PageTokens.from_settings(Settings(page_token_keys=(OTHER_KEY, KEY)))
    token = tokens.encode(PagePosition(2, 10), ORG, "")
    assert open_by_hand(token, key=OTHER_KEY) == b'{"p":2,"n":10}'
    assert tokens.decode(seal(b'{"p":2,"n":10}', bytes(12)), ORG, "") == PagePosition(2, 10)


def test_without_keys_or_a_secret_a_random_key_is_used_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dnc_service.page_tokens"):
        first = PageTokens.from_settings(Settings())
        second = PageTokens.from_settings(Settings())
    assert [record.getMessage() for record in caplog.records] == [
        "page tokens use a random key of this process: they will not survive a restart "
        "or work across replicas; set DNC_PAGE_TOKEN_KEYS"
    ] * 2
    token = first.encode(PagePosition(2, 10), ORG, "")
    assert first.decode(token, ORG, "") == PagePosition(2, 10)
    with pytest.raises(InvalidArgument):
        second.decode(token, ORG, "")


def test_the_derived_key_is_hkdf_sha256_of_the_secret() -> None:
    # RFC 5869 by hand: no salt (32 zero bytes), info "dnc.v1 page tokens", one block.
    secret = "s" * 32
    prk = hmac.new(bytes(32), secret.encode(), hashlib.sha256).digest()
    okm = hmac.new(prk, b"dnc.v1 page tokens\x01", hashlib.sha256).digest()
    assert derive_key(secret) == okm


def body(**fields: Any) -> dict[str, Any]:
    return {"p": 3, "n": 20, "i": ID, "c": 0, **fields}


@pytest.mark.parametrize(
    "bad",
    [
        body(p=True),
        body(p=1.0),
        body(p="3"),
        body(p=0),
        body(p=2**31),
        body(n=2**31 - 1),  # beyond 2 pages of the largest size
        body(n=1),  # less than one entry per page
        body(n=None),
        body(i=None),
        body(i=ID.upper()),
        body(i=ID[:-1]),
        body(c=None),
        body(c=1.5),
        body(c=10**20),
        body(v=1),  # unknown keys
        {"p": 3, "n": 20, "c": 0},  # a date without an id
        {"p": 3},
        [3, 20],
    ],
)
def test_bodies_are_exact(bad: Any) -> None:
    with pytest.raises(InvalidArgument):
        opened(bad)


def test_the_body_rules_accept_what_the_server_writes() -> None:
    assert opened(body()) == PagePosition(3, 20, ID, datetime(1970, 1, 1, tzinfo=UTC))
    assert opened({"p": 1, "n": 0}) == PagePosition(1, 0)
    assert opened({"p": 3, "n": 200}) == PagePosition(3, 200)
