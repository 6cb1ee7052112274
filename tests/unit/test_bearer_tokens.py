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

from dnc_service.auth import MAX_BEARER_TOKEN_BYTES, BearerVerifier
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
        f"bearer {token()}",
        f"Bearer {token()} extra",
        "Bearer a.b",
    ],
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
    """Whatever a correctly signed token claims, the verifier answers cleanly."""
    header = f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"
    try:
        user = HS256.user_id(header)
    except Unauthenticated:
        return
    assert re.fullmatch("[0-9a-f]{24}", user)
