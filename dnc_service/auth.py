"""Who is calling: the bearer JWT verified, then the organization read from the user's account.

Every token problem is UNAUTHENTICATED with a stable `reason` (TOKEN_MISSING, TOKEN_TOO_LARGE,
TOKEN_MALFORMED, TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_LIFETIME_TOO_LONG; the users store adds
UNKNOWN_USER and NO_ORGANIZATION), never an internal error, whatever the caller sends. A write
without the scope it needs is PERMISSION_DENIED (MISSING_SCOPE, `Caller.require_scope`).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import jwt
from cachetools import LRUCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dnc_common.env import SettingsError

from . import call
from .call import Metadata
from .errors import PermissionDenied, Unauthenticated
from .ids import is_hex_id
from .settings import MAX_TOKEN_LIFETIME_SECONDS, Settings

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

# Far above any real bearer token (typically < 1 KiB); bounds the work an anonymous caller can
# ask of us. gRPC itself refuses metadata over 8 KiB with RESOURCE_EXHAUSTED before we see it.
MAX_BEARER_TOKEN_BYTES = 4096
# RFC 7235: the scheme is case-insensitive and followed by one or more spaces.
_BEARER = re.compile(r"(?i:bearer) +([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*)", re.ASCII)
_NUMERIC_DATES = ("exp", "iat", "nbf")
# Verified tokens remembered per process (at most 4 KiB each, see MAX_BEARER_TOKEN_BYTES).
VERIFIED_TOKENS = 1024


def _invalid(detail: str = "") -> Unauthenticated:
    message = f"invalid bearer token: {detail}" if detail else "invalid bearer token"
    return Unauthenticated(message, reason="TOKEN_INVALID")


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
    """Verifies bearer JWTs with pinned algorithms: HS256 and a secret, or RS256/ES256 and a key.

    A public key verifies only its own algorithm (RS256 for RSA, ES256 for P-256), so a token
    naming another one is simply invalid. Clients send one token for many calls: a verified
    token is remembered (bounded, keyed by the whole token) with its `exp`, so a repeat costs a
    lookup and the expiry check instead of a signature check; a token that failed is not kept.
    """

    key: Any
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 0.0
    max_lifetime_seconds: int | None = None
    clock: Callable[[], float] = time.time
    _verified: LRUCache[str, tuple[Identity, float]] = field(
        default_factory=lambda: LRUCache(VERIFIED_TOKENS), init=False, repr=False, compare=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> BearerVerifier:
        """The verifier of the settings; SettingsError when the public key file is not one."""
        if settings.jwt_public_key_file is not None:
            # A public key never verifies HS256, so a key can't be misused as a shared secret.
            key, algorithm = load_public_key(settings.jwt_public_key_file)
            return cls(
                key, (algorithm,), settings.jwt_issuer, settings.jwt_audience,
                settings.jwt_leeway_seconds, settings.jwt_max_lifetime_seconds,
            )  # fmt: skip
        return cls(
            settings.jwt_secret, ("HS256",), settings.jwt_issuer, settings.jwt_audience,
            settings.jwt_leeway_seconds, settings.jwt_max_lifetime_seconds,
        )  # fmt: skip

    def verify_metadata(self, metadata: Metadata) -> Identity:
        """The verified identity of a call's metadata (CPU only: no database)."""
        return self.identity(authorization_of(metadata))

    def user_id(self, authorization: str | None) -> str:
        """The verified `sub` (24 lowercase hex) of an `authorization: Bearer <jwt>` value.

        Anything else is Unauthenticated.
        """
        return self.identity(authorization).user_id

    def identity(self, authorization: str | None) -> Identity:
        """The verified `sub` and `scope` of an `authorization: Bearer <jwt>` value."""
        if not authorization:
            raise Unauthenticated(
                "missing bearer token: send 'authorization: Bearer <jwt>'", reason="TOKEN_MISSING"
            )
        if len(authorization) > MAX_BEARER_TOKEN_BYTES:
            raise Unauthenticated("bearer token too large", reason="TOKEN_TOO_LARGE")
        match = _BEARER.fullmatch(authorization.strip())
        if match is None:
            raise Unauthenticated(
                "malformed authorization: expected 'Bearer <jwt>'", reason="TOKEN_MALFORMED"
            )
        token = match.group(1)
        remembered = self._verified.get(token)
        if remembered is not None:
            identity, expires = remembered
            if expires <= self.clock() - self.leeway_seconds:  # as jwt.decode decides it
                raise Unauthenticated("bearer token expired", reason="TOKEN_EXPIRED")
            return identity
        claims = self._decode(token)
        self._check_lifetime(claims)
        subject = claims["sub"]
        if not is_hex_id(subject):
            raise _invalid("sub is not a user id")
        identity = Identity(subject.lower(), _scopes(claims.get("scope")))
        self._verified[token] = (identity, claims["exp"])
        return identity

    def _decode(self, token: str) -> dict[str, Any]:
        required = ["exp", "sub"] + (["iat"] if self.max_lifetime_seconds else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_seconds,
                options={"require": required, "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("bearer token expired", reason="TOKEN_EXPIRED") from None
        except jwt.InvalidSignatureError:
            raise _invalid() from None
        except jwt.DecodeError:
            raise Unauthenticated("invalid bearer token", reason="TOKEN_MALFORMED") from None
        except jwt.PyJWTError:  # claims, algorithm, a key of another type, ...
            raise _invalid() from None
        except Exception as error:  # e.g. OverflowError for "exp": Infinity
            # Whatever the decoder trips over in hostile input, the token is simply not valid.
            logger.debug("bearer token refused: %s", type(error).__name__)
            raise _invalid() from None
        return claims

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """Dates are plain numbers, and the token expires within the allowed lifetime."""
        for name in _NUMERIC_DATES:
            if name in claims and not _is_number(claims[name]):
                raise _invalid(f"{name} is not a number")
        now = self.clock()
        cap = MAX_TOKEN_LIFETIME_SECONDS
        if self.max_lifetime_seconds is not None:
            cap = min(cap, self.max_lifetime_seconds)
            if claims["exp"] - claims["iat"] > self.max_lifetime_seconds:
                raise Unauthenticated(
                    "bearer token lives longer than allowed", reason="TOKEN_LIFETIME_TOO_LONG"
                )
        if claims["exp"] > now + cap + self.leeway_seconds:
            raise Unauthenticated(
                "bearer token expires too far ahead", reason="TOKEN_LIFETIME_TOO_LONG"
            )


def _scopes(claim: object) -> frozenset[str]:
    """OAuth 2.0's space-separated `scope` (RFC 8693), or a list of names as some issuers send.

    Split on the space character only (RFC 6749 3.3: scope-tokens joined by %x20): with
    str.split(), "dnc:read\u00a0dnc:write" or a tab would grant both scopes.
    """
    if isinstance(claim, str):
        return frozenset(name for name in claim.split(" ") if name)
    if isinstance(claim, list):
        return frozenset(name for name in claim if isinstance(name, str) and name)
    return frozenset()


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def load_public_key(path: Path) -> tuple[Any, str]:
    """The PEM public key in `path` and the one algorithm it verifies (RS256 or ES256)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError, OSError) as error:
        raise SettingsError(f"DNC_JWT_PUBLIC_KEY_FILE={str(path)!r}: {error}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise SettingsError(
        f"DNC_JWT_PUBLIC_KEY_FILE={str(path)!r}: expected an RSA or P-256 EC public key"
    )


class Users(Protocol):
    """Where a user's organization is read (store.UsersStore)."""

    async def organization_of(self, user_id: str) -> str: ...


class Authenticator:
    """Bearer token, then account: the organization a call may read."""

    def __init__(self, verifier: BearerVerifier, users: Users) -> None:
        self._verifier = verifier
        self._users = users

    async def authenticate(self, metadata: Metadata) -> Caller:
        """The caller (user, organization id as 24 lowercase hex, scopes), from the metadata.

        Resolved once per call: admission has usually done it (call.resolved), and verified
        the token before that (call.verified).
        """
        return await call.resolved(lambda: self._resolve(metadata))

    async def _resolve(self, metadata: Metadata) -> Caller:
        identity = call.verified(lambda: self._verifier.verify_metadata(metadata))
        org_id = await self._users.organization_of(identity.user_id)
        return Caller(org_id, identity.user_id, identity.scopes)


def authorization_of(metadata: Metadata) -> str | None:
    """The one `authorization` value of a call's metadata (None when absent)."""
    authorization = None
    for key, value in metadata or ():
        if key == "authorization":
            if authorization is not None:
                raise Unauthenticated(
                    "more than one authorization header", reason="TOKEN_MALFORMED"
                )
            authorization = value if isinstance(value, str) else None
    return authorization
