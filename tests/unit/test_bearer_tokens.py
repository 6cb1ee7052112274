"""Bearer token verification with pinned algorithms, without a database."""

from __future__ import annotations

import base64
import hmac
import json
import re
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from dnc_common.env import SettingsError
from dnc_service.auth import MAX_BEARER_TOKEN_BYTES, BearerVerifier, load_public_key
from dnc_service.errors import Unauthenticated
from dnc_service.settings import Settings

SECRET = "unit-test-secret-0123456789abcdefghij"
USER = "64e5f12345abcdef00000001"
HS256 = BearerVerifier(SECRET, ("HS256",))


def token(key: Any = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    payload = {"sub": USER, "exp": int(time.time()) + 60, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm)


def test_a_valid_token_gives_the_user_id() -> None:
    assert HS256.user_id(f"Bearer {token()}") == USER


def test_the_user_id_is_plain_lowercase_hex() -> None:
    assert HS256.user_id(f"Bearer {token(sub=USER.upper())}") == USER


def test_an_oversized_bearer_token_is_refused_before_decoding() -> None:
    padded = f"Bearer {token(pad='x' * MAX_BEARER_TOKEN_BYTES)}"
    assert len(padded) > MAX_BEARER_TOKEN_BYTES
    with pytest.raises(Unauthenticated, match="too large"):
        HS256.user_id(padded)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        f"Basic {token()}",
        f"Bearer {token()} extra",
        f"Bearer\t{token()}",
        "Bearer a.b",
    ],
    # Fixed ids: a token in an id changes with the clock, and mutmut reruns tests by id.
    ids=["none", "empty", "scheme-only", "basic", "extra", "tab", "two-parts"],
)
def test_malformed_headers(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        HS256.user_id(header)


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": None},
        {"sub": None},
        {"exp": int(time.time()) - 10},
        {"sub": "nope"},
        {"sub": 42},
        {"nbf": int(time.time()) + 3600},
    ],
)
def test_bad_claims(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        HS256.user_id(f"Bearer {token(**claims)}")


def test_issuer_and_audience_are_checked_when_configured() -> None:
    verifier = BearerVerifier(SECRET, ("HS256",), issuer="https://idp", audience="dnc")
    assert verifier.user_id(f"Bearer {token(iss='https://idp', aud='dnc')}") == USER
    for claims in ({"iss": "https://other", "aud": "dnc"}, {"iss": "https://idp", "aud": "x"}, {}):
        with pytest.raises(Unauthenticated):
            verifier.user_id(f"Bearer {token(**claims)}")


def test_an_unconfigured_audience_is_not_checked() -> None:
    assert HS256.user_id(f"Bearer {token(aud='anything')}") == USER


def hs256_signed_with(key: bytes) -> str:
    """An HS256 token keyed with arbitrary bytes (PyJWT refuses PEM keys, as it should)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": USER, "exp": int(time.time()) + 60}).encode())
    signature = b64(hmac.digest(key, header + b"." + payload, "sha256"))
    return (header + b"." + payload + b"." + signature).decode()


def _key_files(tmp_path: Path, private: Any) -> Path:
    public = tmp_path / "public.pem"
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public


@pytest.mark.parametrize(
    ("private", "algorithm"),
    [
        (rsa.generate_private_key(65537, 2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    ],
)
def test_public_key_verification(tmp_path: Path, private: Any, algorithm: str) -> None:
    public = _key_files(tmp_path, private)
    verifier = BearerVerifier.from_settings(
        Settings.from_env({"DNC_JWT_PUBLIC_KEY_FILE": str(public)})
    )
    assert verifier.user_id(f"Bearer {token(private, algorithm)}") == USER
    # The classic confusion: the public key used as an HS256 secret must not verify.
    with pytest.raises(Unauthenticated):
        verifier.user_id(f"Bearer {hs256_signed_with(public.read_bytes())}")
    with pytest.raises(Unauthenticated):
        verifier.user_id(f"Bearer {token()}")


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_any_header_is_a_user_id_or_unauthenticated(header: str) -> None:
    try:
        user = HS256.user_id(header)
    except Unauthenticated:
        return
    assert re.fullmatch("[0-9a-f]{24}", user)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.text(max_size=10), st.none() | st.integers() | st.text(max_size=30), max_size=6
    )
)
def test_any_signed_claims_are_a_user_or_unauthenticated(claims: dict[str, Any]) -> None:
    """Whatever a correctly signed token claims, the verifier answers cleanly.

    Signed by hand: PyJWT's encode refuses some claims (a non-string `iss`) that a forger's
    token can still carry.
    """
    header = f"Bearer {hs256_with_payload(json.dumps(claims))}"
    try:
        user = HS256.user_id(header)
    except Unauthenticated:
        return
    assert re.fullmatch("[0-9a-f]{24}", user)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "Bearer  "])
def test_the_scheme_is_case_insensitive(scheme: str) -> None:
    assert HS256.user_id(f"{scheme} {token()}") == USER


def hs256_with_payload(payload: str) -> str:
    """An HS256 token signed with SECRET around a raw JSON payload (any numbers PyJWT reads)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    body = b64(payload.encode())
    signature = b64(hmac.digest(SECRET.encode(), header + b"." + body, "sha256"))
    return (header + b"." + body + b"." + signature).decode()


@pytest.mark.parametrize(
    ("exp", "reason"),
    [
        ('"9999999999"', "TOKEN_INVALID"),
        ("1e308", "TOKEN_LIFETIME_TOO_LONG"),
        (str(10**30), "TOKEN_LIFETIME_TOO_LONG"),
        ("Infinity", "TOKEN_MALFORMED"),
        ("NaN", "TOKEN_MALFORMED"),
        ("true", "TOKEN_EXPIRED"),  # PyJWT reads it as 1
        (str(int(time.time()) + 400 * 86400), "TOKEN_LIFETIME_TOO_LONG"),
    ],
    ids=["string", "1e308", "10**30", "infinity", "nan", "true", "400-days"],
)
def test_exp_must_be_a_number_not_far_ahead(exp: str, reason: str) -> None:
    payload = '{"sub": "%s", "exp": %s}' % (USER, exp)  # noqa: UP031 - raw JSON numbers
    with pytest.raises(Unauthenticated) as raised:
        HS256.user_id(f"Bearer {hs256_with_payload(payload)}")
    assert raised.value.reason == reason


def test_a_float_expiry_within_range_is_fine() -> None:
    assert HS256.user_id(f"Bearer {token(exp=time.time() + 60.5)}") == USER


def test_a_maximum_lifetime_needs_iat_and_bounds_exp() -> None:
    verifier = BearerVerifier(SECRET, ("HS256",), max_lifetime_seconds=3600)
    now = int(time.time())
    assert verifier.user_id(f"Bearer {token(iat=now, exp=now + 3600)}") == USER
    for claims in (
        {"iat": now, "exp": now + 3601},
        {"iat": now - 10, "exp": now + 7200},
        {"exp": now + 60},
        {"iat": str(now), "exp": now + 60},
    ):
        with pytest.raises(Unauthenticated):
            verifier.user_id(f"Bearer {token(**claims)}")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "TOKEN_MISSING"),
        ("Basic abc", "TOKEN_MALFORMED"),
        ("Bearer " + "a" * MAX_BEARER_TOKEN_BYTES, "TOKEN_TOO_LARGE"),
        ("Bearer eyJhbGciOi.garbage.garbage", "TOKEN_MALFORMED"),
        (f"Bearer {token(key='another-secret-another-secret-0123456')}", "TOKEN_INVALID"),
        (f"Bearer {token(exp=int(time.time()) - 10)}", "TOKEN_EXPIRED"),
        # (valid for a day: the parameters are built when the suite is collected)
        (f"Bearer {token(sub='nope', exp=int(time.time()) + 86400)}", "TOKEN_INVALID"),
    ],
    ids=["missing", "basic", "too-large", "garbage", "other-key", "expired", "bad-sub"],
)
def test_every_refusal_has_a_stable_reason(header: str | None, reason: str) -> None:
    with pytest.raises(Unauthenticated) as raised:
        HS256.user_id(header)
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("private", "other"),
    [
        (rsa.generate_private_key(65537, 2048), "ES256"),
        (ec.generate_private_key(ec.SECP256R1()), "RS256"),
    ],
)
def test_a_key_verifies_only_its_own_algorithm(tmp_path: Path, private: Any, other: str) -> None:
    """A token naming the other algorithm is TOKEN_INVALID, not a key-type crash."""
    verifier = BearerVerifier.from_settings(
        Settings.from_env({"DNC_JWT_PUBLIC_KEY_FILE": str(_key_files(tmp_path, private))})
    )
    header = base64.urlsafe_b64encode(json.dumps({"alg": other}).encode()).rstrip(b"=").decode()
    body = token().split(".")[1]
    with pytest.raises(Unauthenticated) as raised:
        verifier.user_id(f"Bearer {header}.{body}.AAAA")
    assert raised.value.reason == "TOKEN_INVALID"


def test_a_key_file_that_is_not_a_public_key_is_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    with pytest.raises(SettingsError, match="DNC_JWT_PUBLIC_KEY_FILE"):
        load_public_key(path)
    curve = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(SettingsError, match="P-256"):
        load_public_key(_key_files(tmp_path, curve))
