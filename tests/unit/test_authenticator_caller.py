"""Authenticator: the metadata's bearer token, then the user's organization, make the Caller.

The users store is a small in-memory stand-in for the `Users` protocol (the real store is
tested against FerretDB in tests/integration); everything is built inside each test so that
mutation testing links each test to the code it runs (see docs/mutation.md).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from dnc_service.auth import Authenticator, BearerVerifier, Caller
from dnc_service.errors import PermissionDenied, Unauthenticated

SECRET = "unit-test-secret-0123456789abcdefghij"
USER = "64e5f12345abcdef00000001"
ORG = "64e5f12345abcdef12345678"


class Organizations:
    """The `Users` protocol over a dict; records who was asked for."""

    def __init__(self, organizations: dict[str, str]) -> None:
        self._organizations = organizations
        self.asked: list[str] = []

    async def organization_of(self, user_id: str) -> str:
        self.asked.append(user_id)
        if user_id not in self._organizations:
            raise PermissionDenied("no organization", reason="NO_ORGANIZATION")
        return self._organizations[user_id]


def bearer(**claims: Any) -> str:
    payload = {"sub": USER, "exp": int(time.time()) + 60, **claims}
    return f"Bearer {jwt.encode(payload, SECRET, algorithm='HS256')}"


@pytest.mark.asyncio
async def test_the_caller_is_the_user_their_organization_and_scopes() -> None:
    users = Organizations({USER: ORG})
    authenticator = Authenticator(BearerVerifier(SECRET, ("HS256",)), users)
    metadata = [("x-request-id", "1"), ("authorization", bearer(sub=USER.upper(), scope="a b"))]
    assert await authenticator.authenticate(metadata) == Caller(ORG, USER, frozenset({"a", "b"}))
    assert users.asked == [USER]  # the verified, lower-case id


@pytest.mark.asyncio
async def test_a_bad_token_never_reaches_the_users_store() -> None:
    users = Organizations({USER: ORG})
    authenticator = Authenticator(BearerVerifier(SECRET, ("HS256",)), users)
    with pytest.raises(Unauthenticated) as raised:
        await authenticator.authenticate([("authorization", "Bearer a.b.c")])
    assert raised.value.reason == "TOKEN_MALFORMED"
    with pytest.raises(Unauthenticated) as raised:
        await authenticator.authenticate(None)
    assert raised.value.reason == "TOKEN_MISSING"
    assert users.asked == []


@pytest.mark.asyncio
async def test_the_users_store_decides_the_organization() -> None:
    users = Organizations({})
    authenticator = Authenticator(BearerVerifier(SECRET, ("HS256",)), users)
    with pytest.raises(PermissionDenied) as raised:
        await authenticator.authenticate([("authorization", bearer())])
    assert raised.value.reason == "NO_ORGANIZATION"
    assert users.asked == [USER]
