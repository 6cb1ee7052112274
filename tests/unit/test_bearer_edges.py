"""Bearer verification at its edges: each refusal's exact text and reason, the size and
lifetime bounds to the second, the leeway, the settings a verifier is built from, and the
`authorization` entry of a call's metadata.

Tokens and verifiers are built inside each test: tokens carry the time, and mutation testing
links each test to the code it runs (see docs/mutation.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dnc_common.env import SettingsError
from dnc_service.auth import MAX_BEARER_TOKEN_BYTES, BearerVerifier, load_public_key
from dnc_service.errors import Unauthenticated
from dnc_service.settings import MAX_TOKEN_LIFETIME_SECONDS, Settings

SECRET = "unit-test-secret-0123456789abcdefghij"
USER = "64e5f12345abcdef00000001"


def token(key: Any = SECRET, **claims: Any) -> str:
    payload = {"sub": USER, "exp": int(time.time()) + 60, **claims}
    return jwt.encode(payload, key, algorithm="HS256")


def refusal(verifier: BearerVerifier, header: str | None) -> tuple[str, str]:
    with pytest.raises(Unauthenticated) as raised:
        verifier.user_id(header)
    assert str(raised.value) == raised.value.message
    return raised.value.reason, raised.value.message


@pytest.mark.parametrize(
    ("header", "reason", "message"),
    [
        (lambda: None, "TOKEN_MISSING", "missing bearer token: send 'authorization: Bearer <jwt>'"),
        (lambda: "", "TOKEN_MISSING", "missing bearer token: send 'authorization: Bearer <jwt>'"),
        (lambda: "x" * 4097, "TOKEN_TOO_LARGE", "bearer token too large"),
        (
            lambda: "Basic abc",
            "TOKEN_MALFORMED",
            "malformed authorization: expected 'Bearer <jwt>'",
        ),
        (lambda: "Bearer a.b.c", "TOKEN_MALFORMED", "invalid bearer token"),
        (
            lambda: f"Bearer {token(key='another-secret-' * 3)}",
            "TOKEN_INVALID",
            "invalid bearer token",
        ),
        (
            lambda: f"Bearer {token(exp=int(time.time()) - 10)}",
            "TOKEN_EXPIRED",
            "bearer token expired",
        ),
        (
            lambda: f"Bearer {token(sub='nope')}",
            "TOKEN_INVALID",
            "invalid bearer token: sub is not a user id",
        ),
        (
            lambda: f"Bearer {token(iat=True)}",  # PyJWT reads true as 1; we do not
            "TOKEN_INVALID",
            "invalid bearer token: iat is not a number",
        ),
        (
            lambda: f"Bearer {token(nbf=False)}",
            "TOKEN_INVALID",
            "invalid bearer token: nbf is not a number",
        ),
        (
            lambda: f"Bearer {token(exp=int(time.time()) + MAX_TOKEN_LIFETIME_SECONDS + 60)}",
            "TOKEN_LIFETIME_TOO_LONG",
            "bearer token expires too far ahead",
        ),
    ],
    ids=[
        "none",
        "empty",
        "too-large",
        "basic",
        "not-json",
        "other-key",
        "expired",
        "bad-sub",
        "bool-iat",
        "bool-nbf",
        "far-ahead",
    ],
)
def test_each_refusal_has_its_text_and_reason(
    header: Callable[[], str | None], reason: str, message: str
) -> None:
    verifier = BearerVerifier(SECRET, ("HS256",))
    assert refusal(verifier, header()) == (reason, message)


def test_a_lifetime_above_the_configured_maximum_has_its_text() -> None:
    verifier = BearerVerifier(SECRET, ("HS256",), max_lifetime_seconds=600)
    now = int(time.time())
    assert verifier.user_id(f"Bearer {token(iat=now, exp=now + 600)}") == USER
    assert refusal(verifier, f"Bearer {token(iat=now, exp=now + 601)}") == (
        "TOKEN_LIFETIME_TOO_LONG",
        "bearer token lives longer than allowed",
    )


def test_the_size_limit_is_inclusive() -> None:
    verifier = BearerVerifier(SECRET, ("HS256",))
    header = f"Bearer {token()}"
    exact = header + " " * (MAX_BEARER_TOKEN_BYTES - len(header))  # trailing spaces are stripped
    assert len(exact) == MAX_BEARER_TOKEN_BYTES
    assert verifier.user_id(exact) == USER
    assert refusal(verifier, exact + " ")[0] == "TOKEN_TOO_LARGE"


def test_expiry_may_be_exactly_the_cap_ahead_plus_the_leeway() -> None:
    now = int(time.time())
    strict = BearerVerifier(SECRET, ("HS256",), clock=lambda: float(now))
    cap = MAX_TOKEN_LIFETIME_SECONDS
    assert strict.user_id(f"Bearer {token(exp=now + cap)}") == USER
    assert refusal(strict, f"Bearer {token(exp=now + cap + 1)}")[0] == "TOKEN_LIFETIME_TOO_LONG"
    lenient = BearerVerifier(SECRET, ("HS256",), leeway_seconds=30, clock=lambda: float(now))
    assert lenient.user_id(f"Bearer {token(exp=now + cap + 30)}") == USER
    assert refusal(lenient, f"Bearer {token(exp=now + cap + 31)}")[0] == "TOKEN_LIFETIME_TOO_LONG"


def test_the_leeway_also_forgives_a_just_expired_token() -> None:
    expired = f"Bearer {token(exp=int(time.time()) - 10)}"
    assert BearerVerifier(SECRET, ("HS256",), leeway_seconds=60).user_id(expired) == USER
    assert refusal(BearerVerifier(SECRET, ("HS256",)), expired)[0] == "TOKEN_EXPIRED"


def test_whatever_the_decoder_trips_over_is_invalid_and_logged_by_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No key at all: PyJWT raises a TypeError, not one of its own errors.
    verifier = BearerVerifier(None, ("HS256",))
    header = f"Bearer {token()}"
    with caplog.at_level(logging.DEBUG, logger="dnc_service.auth"):
        assert refusal(verifier, header) == ("TOKEN_INVALID", "invalid bearer token")
    assert [record.getMessage() for record in caplog.records] == ["bearer token refused: TypeError"]
    assert header.split()[1] not in caplog.text  # never the token


def test_a_verifier_from_a_secret_carries_every_setting() -> None:
    settings = Settings(
        jwt_secret=SECRET,
        jwt_issuer="https://idp",
        jwt_audience="dnc",
        jwt_leeway_seconds=5.0,
        jwt_max_lifetime_seconds=600,
    )
    assert BearerVerifier.from_settings(settings) == BearerVerifier(
        SECRET, ("HS256",), "https://idp", "dnc", 5.0, 600
    )


def test_a_verifier_from_a_public_key_carries_every_setting(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "public.pem"
    path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = Settings(
        jwt_public_key_file=path,
        jwt_issuer="https://idp",
        jwt_audience="dnc",
        jwt_leeway_seconds=5.0,
        jwt_max_lifetime_seconds=600,
    )
    verifier = BearerVerifier.from_settings(settings)
    assert (verifier.algorithms, verifier.issuer, verifier.audience) == (
        ("ES256",),
        "https://idp",
        "dnc",
    )
    assert (verifier.leeway_seconds, verifier.max_lifetime_seconds) == (5.0, 600)


def test_a_bad_key_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    with pytest.raises(SettingsError) as raised:
        load_public_key(path)
    assert str(raised.value).startswith(f"DNC_JWT_PUBLIC_KEY_FILE={str(path)!r}: ")
    path.write_bytes(
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(SettingsError) as raised:
        load_public_key(path)
    assert str(raised.value) == (
        f"DNC_JWT_PUBLIC_KEY_FILE={str(path)!r}: expected an RSA or P-256 EC public key"
    )


def test_metadata_gives_the_one_authorization_entry() -> None:
    verifier = BearerVerifier(SECRET, ("HS256",))
    header = f"Bearer {token()}"
    metadata = [("x-request-id", "1"), ("authorization", header)]
    assert verifier.verify_metadata(metadata).user_id == USER
    reordered = (("authorization", header), ("user-agent", "x"))
    assert verifier.verify_metadata(reordered).user_id == USER


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        [],
        [("x-request-id", "1")],
        [("authorization", b"Bearer x.y.z")],  # not text: not a bearer token
        [("AUTHORIZATION", "Bearer x.y.z")],  # gRPC delivers keys in lower case
    ],
    ids=["none", "empty", "other-keys", "bytes", "upper-case-key"],
)
def test_metadata_without_a_text_authorization_is_missing(
    metadata: list[tuple[str, str | bytes]] | None,
) -> None:
    verifier = BearerVerifier(SECRET, ("HS256",))
    with pytest.raises(Unauthenticated) as raised:
        verifier.verify_metadata(metadata)
    assert raised.value.reason == "TOKEN_MISSING"


def test_two_authorization_entries_are_malformed() -> None:
    verifier = BearerVerifier(SECRET, ("HS256",))
    header = f"Bearer {token()}"
    with pytest.raises(Unauthenticated) as raised:
        verifier.verify_metadata([("authorization", header), ("authorization", header)])
    assert (raised.value.reason, raised.value.message) == (
        "TOKEN_MALFORMED",
        "more than one authorization header",
    )
