"""Dev tokens: bearer tokens like an identity provider would issue, signed with the dev secret."""

from __future__ import annotations

import time

import jwt

from dnc_service.settings import Settings, SettingsError


def issue_dev_token(settings: Settings, user_id: str, ttl_seconds: int = 3600) -> str:
    """An HS256 bearer token for `user_id` that the service's verifier accepts."""
    if settings.jwt_public_key_file is not None or not settings.jwt_secret:
        raise SettingsError("dev tokens need DNC_JWT_SECRET (HS256) and no public key file")
    now = int(time.time())
    claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + ttl_seconds}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.write_scope:
        claims["scope"] = settings.write_scope  # so the dev user may write when a scope is required
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
