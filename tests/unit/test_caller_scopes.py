"""The caller a token names: its scopes, and the write scope check (no database)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from devtools.dev_tokens import issue_dev_token
from dnc_service.auth import BearerVerifier, Caller, Identity
from dnc_service.errors import PermissionDenied
from dnc_service.settings import Settings

SECRET = "unit-test-secret-0123456789abcdefghij"
USER = "64e5f12345abcdef00000001"
ORG = "64e5f12345abcdef12345678"
HS256 = BearerVerifier(SECRET, ("HS256",))


def bearer(**claims: Any) -> str:
    payload = {"sub": USER, "exp": int(time.time()) + 60, **claims}
    return f"Bearer {jwt.encode(payload, SECRET, algorithm='HS256')}"


@pytest.mark.parametrize(
    ("claim", "scopes"),
    [
        ("dnc:write", {"dnc:write"}),
        ("openid  dnc:write profile", {"openid", "dnc:write", "profile"}),
        (["openid", "dnc:write", 7, ""], {"openid", "dnc:write"}),
        ("", set()),
        (" dnc:write ", {"dnc:write"}),
        ("dnc:read\u00a0dnc:write", {"dnc:read\u00a0dnc:write"}),  # one (unknown) scope
        ("dnc:read\tdnc:write\u2028x", {"dnc:read\tdnc:write\u2028x"}),
        (42, set()),
        ({"dnc:write": True}, set()),
    ],
)
def test_scopes_come_from_the_scope_claim(claim: object, scopes: set[str]) -> None:
    assert HS256.identity(bearer(scope=claim)) == Identity(USER, frozenset(scopes))


def test_no_scope_claim_is_no_scopes() -> None:
    assert HS256.identity(bearer()).scopes == frozenset()


def test_a_required_scope_must_be_granted() -> None:
    Caller(ORG, USER).require_scope(None)  # nothing required
    Caller(ORG, USER, frozenset({"dnc:write"})).require_scope("dnc:write")
    for scopes in (frozenset(), frozenset({"dnc:writer", "write"})):
        with pytest.raises(PermissionDenied) as raised:
            Caller(ORG, USER, scopes).require_scope("dnc:write")
        assert raised.value.reason == "MISSING_SCOPE"
        assert "dnc:write" in raised.value.message


def test_dev_tokens_carry_the_write_scope_when_one_is_required() -> None:
    for write_scope, scopes in ((None, frozenset()), ("dnc:write", frozenset({"dnc:write"}))):
        settings = Settings(jwt_secret=SECRET, write_scope=write_scope)
        token = issue_dev_token(settings, USER)
        assert HS256.identity(f"Bearer {token}").scopes == scopes
