"""A verified token is remembered: a repeat skips the signature check, never the expiry."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from dnc_service.auth import BearerVerifier
from dnc_service.errors import Unauthenticated

SECRET = "unit-test-secret-0123456789abcdefghij"
USER = "64e5f12345abcdef00000001"


def bearer(now: float, **claims: Any) -> str:
    payload = {"sub": USER, "exp": now + 60, **claims}
    return f"Bearer {jwt.encode(payload, SECRET, algorithm='HS256')}"


@pytest.fixture
def now() -> float:
    """This test's start: jwt.decode checks `exp` against the real clock, so tokens are made
    when the test runs, not when the module is imported (a long suite would expire them)."""
    return float(int(time.time()))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_repeated_token_is_verified_once(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    verifier = BearerVerifier(SECRET, ("HS256",), clock=Clock(now))
    decoded: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(
            token, *args, **{**kwargs, "options": {**kwargs["options"], "verify_exp": False}}
        )

    monkeypatch.setattr(jwt, "decode", counting)
    header = bearer(now, scope="dnc:write")
    first, second = verifier.identity(header), verifier.identity(header)
    assert first == second
    assert (first.user_id, first.scopes) == (USER, frozenset({"dnc:write"}))
    assert len(decoded) == 1
    verifier.identity(bearer(now, scope="other"))
    assert len(decoded) == 2  # another token is verified on its own


@pytest.mark.parametrize(("leeway", "expired_after"), [(0.0, 60.0), (30.0, 90.0)])
def test_a_remembered_token_still_expires(leeway: float, expired_after: float, now: float) -> None:
    clock = Clock(now)
    verifier = BearerVerifier(SECRET, ("HS256",), leeway_seconds=leeway, clock=clock)
    header = bearer(now)
    verifier.identity(header)
    clock.now = now + expired_after - 0.5
    assert verifier.identity(header).user_id == USER
    clock.now = now + expired_after
    with pytest.raises(Unauthenticated) as raised:
        verifier.identity(header)
    assert (raised.value.reason, raised.value.message) == ("TOKEN_EXPIRED", "bearer token expired")


def test_a_refused_token_is_refused_every_time(now: float) -> None:
    verifier = BearerVerifier(SECRET, ("HS256",), clock=Clock(now))
    header = bearer(now, sub="not-a-user")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="sub is not a user id"):
            verifier.identity(header)
