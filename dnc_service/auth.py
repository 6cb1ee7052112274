"""Who is calling: the bearer JWT verified, then the organization read from the user's account."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from bson import ObjectId
from cachetools import TTLCache
from pymongo.asynchronous.collection import AsyncCollection

from .database import Document, driver_errors
from .errors import PermissionDenied, Unauthenticated
from .settings import Settings

# Far above any real token (typically < 1 KiB); bounds the work an anonymous caller can ask
# of us. gRPC itself refuses metadata over 8 KiB with RESOURCE_EXHAUSTED before we see it.
MAX_TOKEN_BYTES = 4096
_BEARER = re.compile(r"Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*)", re.ASCII)
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}", re.ASCII)


@dataclass(frozen=True, slots=True)
class TokenVerifier:
    """Verifies tokens with pinned algorithms: HS256 with a secret, or RS256/ES256 with a key."""

    key: Any
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
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

    def user_id(self, authorization: str | None) -> ObjectId:
        """The verified `sub` of an `authorization: Bearer <jwt>` value, or Unauthenticated."""
        if not authorization:
            raise Unauthenticated("missing bearer token: send 'authorization: Bearer <jwt>'")
        if len(authorization) > MAX_TOKEN_BYTES:
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
        if not isinstance(subject, str) or not _OBJECT_ID.fullmatch(subject):
            raise Unauthenticated("invalid bearer token: sub is not a user id")
        return ObjectId(subject)


class OrganizationResolver:
    """Reads a user's organization from the users collection: the only source of tenancy.

    With `cache_ttl_seconds` > 0, found organizations are remembered that long: one query
    less per call, at the price that a user moved or removed keeps their old organization
    until the entry expires. Failures are never cached.
    """

    def __init__(
        self, users: AsyncCollection[Document], cache_ttl_seconds: float = 0, cache_size: int = 1
    ) -> None:
        self._users = users
        self._cache: TTLCache[ObjectId, ObjectId] | None = (
            TTLCache(cache_size, cache_ttl_seconds) if cache_ttl_seconds > 0 else None
        )

    async def organization_of(self, user_id: ObjectId) -> ObjectId:
        if self._cache is not None and (cached := self._cache.get(user_id)) is not None:
            return cached
        org_id = await self._lookup(user_id)
        if self._cache is not None:
            self._cache[user_id] = org_id
        return org_id

    async def _lookup(self, user_id: ObjectId) -> ObjectId:
        with driver_errors():
            user = await self._users.find_one({"_id": user_id}, {"orgId": 1})
        if user is None:
            raise Unauthenticated("invalid bearer token: unknown user")
        org_id = user.get("orgId")
        if isinstance(org_id, str) and _OBJECT_ID.fullmatch(org_id):
            org_id = ObjectId(org_id)
        if not isinstance(org_id, ObjectId):
            raise PermissionDenied("the user does not belong to an organization")
        return org_id


class Authenticator:
    """Token, then account: the organization a call may read."""

    def __init__(self, verifier: TokenVerifier, resolver: OrganizationResolver) -> None:
        self._verifier = verifier
        self._resolver = resolver

    async def organization_for(
        self, metadata: Iterable[tuple[str, str | bytes]] | None
    ) -> ObjectId:
        authorization = None
        for key, value in metadata or ():
            if key == "authorization":
                if authorization is not None:
                    raise Unauthenticated("more than one authorization header")
                authorization = value if isinstance(value, str) else None
        user_id = self._verifier.user_id(authorization)
        return await self._resolver.organization_of(user_id)
