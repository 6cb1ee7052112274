"""Who is calling: the bearer JWT verified, then the organization read from the user's account."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from .errors import PermissionDenied, Unauthenticated
from .settings import Settings

# Far above any real bearer token (typically < 1 KiB); bounds the work an anonymous caller can
# ask of us. gRPC itself refuses metadata over 8 KiB with RESOURCE_EXHAUSTED before we see it.
MAX_BEARER_TOKEN_BYTES = 4096
_BEARER = re.compile(r"Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*)", re.ASCII)
_USER_ID = re.compile(r"[0-9a-fA-F]{24}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Identity:
    """What a verified token says: the user (`sub`) and the scopes it grants."""

    user_id: str
    scopes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the user, their organization (the only one they may touch), their scopes."""

    org_id: str
    user_id: str
    scopes: frozenset[str] = frozenset()

    def require_scope(self, scope: str | None) -> None:
        """PermissionDenied unless the token grants `scope`; no scope required when None."""
        if scope is not None and scope not in self.scopes:
            raise PermissionDenied(
                f"this call needs the '{scope}' scope in the bearer token",
                reason="MISSING_SCOPE",
            )


@dataclass(frozen=True, slots=True)
class BearerVerifier:
    """Verifies bearer JWTs with pinned algorithms: HS256 and a secret, or RS256/ES256 and a key."""

    key: Any
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BearerVerifier:
        if settings.jwt_public_key_file is not None:
            key = settings.jwt_public_key_file.read_bytes()
            # A public key never verifies HS256, so a key can't be misused as a shared secret.
            return cls(
                key, ("RS256", "ES256"), settings.jwt_issuer, settings.jwt_audience,
                settings.jwt_leeway_seconds,
            )  # fmt: skip
        return cls(
            settings.jwt_secret, ("HS256",), settings.jwt_issuer, settings.jwt_audience,
            settings.jwt_leeway_seconds,
        )  # fmt: skip

    def user_id(self, authorization: str | None) -> str:
        """The verified `sub` (24 lowercase hex) of an `authorization: Bearer <jwt>` value.

        Anything else is Unauthenticated.
        """
        return self.identity(authorization).user_id

    def identity(self, authorization: str | None) -> Identity:
        """The verified `sub` and `scope` of an `authorization: Bearer <jwt>` value."""
        if not authorization:
            raise Unauthenticated("missing bearer token: send 'authorization: Bearer <jwt>'")
        if len(authorization) > MAX_BEARER_TOKEN_BYTES:
            raise Unauthenticated("bearer token too large")
        match = _BEARER.fullmatch(authorization.strip())
        if match is None:
            raise Unauthenticated("malformed authorization: expected 'Bearer <jwt>'")
        try:
            claims = jwt.decode(
                match.group(1),
                self.key,
                algorithms=list(self.algorithms),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("bearer token expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("invalid bearer token") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
            raise Unauthenticated("invalid bearer token: sub is not a user id")
        return Identity(subject.lower(), _scopes(claims.get("scope")))


def _scopes(claim: object) -> frozenset[str]:
    """OAuth 2.0's space-separated `scope` (RFC 8693), or a list of names as some issuers send."""
    if isinstance(claim, str):
        return frozenset(claim.split())
    if isinstance(claim, list):
        return frozenset(name for name in claim if isinstance(name, str) and name)
    return frozenset()


class Users(Protocol):
    """Where a user's organization is read (store.UsersStore)."""

    async def organization_of(self, user_id: str) -> str: ...


class Authenticator:
    """Bearer token, then account: who calls and the organization they may read and change."""

    def __init__(self, verifier: BearerVerifier, users: Users) -> None:
        self._verifier = verifier
        self._users = users

    async def authenticate(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
        """The caller (user, organization id as 24 lowercase hex, scopes), from the metadata."""
        authorization = None
        for key, value in metadata or ():
            if key == "authorization":
                if authorization is not None:
                    raise Unauthenticated("more than one authorization header")
                authorization = value if isinstance(value, str) else None
        identity = self._verifier.identity(authorization)
        org_id = await self._users.organization_of(identity.user_id)
        return Caller(org_id, identity.user_id, identity.scopes)
