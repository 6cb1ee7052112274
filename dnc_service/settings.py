"""One typed settings object, read from the environment once at start."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dnc_common.env import Env, SettingsError

# No token may claim to live longer than this, whatever DNC_JWT_MAX_LIFETIME_SECONDS says.
MAX_TOKEN_LIFETIME_SECONDS = 366 * 86400

__all__ = ["Settings", "SettingsError"]


@dataclass(frozen=True)
class Settings:
    """Everything the gRPC service can be configured with (docs/configuration.md)."""

    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    database: str = "dnc"
    entries_collection: str = "dnc_entries"
    users_collection: str = "users"
    audit_collection: str = "dnc_audit"
    grpc_addr: str = "127.0.0.1:50051"
    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: float = 0.0
    jwt_max_lifetime_seconds: int | None = None
    server_selection_timeout_seconds: float = 3.0
    connect_timeout_seconds: float = 3.0
    request_timeout_seconds: float = 10.0
    # An export streams a whole list: it may outlive the per-call limit above.
    export_timeout_seconds: float = 600.0
    # A scrub or an import streams a whole campaign or list: the same idea, its own limit.
    stream_timeout_seconds: float = 3600.0
    # When set, writes need this value among the token's space-separated `scope` claim.
    write_scope: str | None = None
    health_check_interval_seconds: float = 2.0
    drain_seconds: float = 5.0
    shutdown_grace_seconds: float = 10.0
    max_concurrent_rpcs: int = 256
    # No organization holds more of the slots above than this (streams included, for their life).
    max_concurrent_rpcs_per_org: int = 32
    # ... and no more streaming calls (exports, imports, scrubs) open than this, among those.
    max_concurrent_streaming_rpcs_per_org: int = 8
    max_concurrent_streams: int = 100
    max_connection_age_seconds: float = 1800.0
    max_connection_age_grace_seconds: float = 300.0
    max_connection_idle_seconds: float = 300.0
    ensure_indexes: bool = True
    metrics_addr: str | None = None
    page_token_keys: tuple[bytes, ...] = field(default=(), repr=False)
    org_cache_ttl_seconds: float = 0.0
    org_cache_size: int = 10_000
    grpc_tls_cert_file: Path | None = None
    grpc_tls_key_file: Path | None = None
    grpc_tls_client_ca_file: Path | None = None
    log_level: str = "INFO"
    # The audit's recovery and expiry sweep: how often, and how old a half-done change must be
    # before the sweep completes it (live calls finish their own).
    audit_sweep_seconds: float = 10.0
    audit_sweep_grace_seconds: float = 5.0
    # Deprecated variable names found in the environment, for the CLI to warn about once logging
    # is configured (docs/configuration.md, "Renamed settings").
    deprecations: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build and validate settings; raise SettingsError naming the first bad variable."""
        env = Env(os.environ if environ is None else environ)
        settings = cls(
            mongodb_uri=env.text("MONGODB_URI", cls.mongodb_uri),
            database=env.text("DNC_MONGODB_DB", cls.database),
            entries_collection=env.text("DNC_ENTRIES_COLLECTION", cls.entries_collection),
            users_collection=env.text("DNC_USERS_COLLECTION", cls.users_collection),
            audit_collection=env.text("DNC_AUDIT_COLLECTION", cls.audit_collection),
            grpc_addr=env.address("DNC_GRPC_ADDR") or cls.grpc_addr,
            jwt_secret=env.optional("DNC_JWT_SECRET"),
            jwt_public_key_file=env.path("DNC_JWT_PUBLIC_KEY_FILE"),
            jwt_issuer=env.optional("DNC_JWT_ISSUER"),
            jwt_audience=env.optional("DNC_JWT_AUDIENCE"),
            jwt_leeway_seconds=env.seconds("DNC_JWT_LEEWAY_SECONDS", cls.jwt_leeway_seconds, 0),
            jwt_max_lifetime_seconds=env.optional_integer("DNC_JWT_MAX_LIFETIME_SECONDS"),
            server_selection_timeout_seconds=env.seconds(
                "DNC_MONGODB_SERVER_SELECTION_TIMEOUT_SECONDS",
                cls.server_selection_timeout_seconds,
                deprecated=("DNC_MONGO_SERVER_SELECTION_TIMEOUT_SECONDS",),
            ),
            connect_timeout_seconds=env.seconds(
                "DNC_MONGODB_CONNECT_TIMEOUT_SECONDS",
                cls.connect_timeout_seconds,
                deprecated=("DNC_MONGO_CONNECT_TIMEOUT_SECONDS",),
            ),
            request_timeout_seconds=env.seconds(
                "DNC_REQUEST_TIMEOUT_SECONDS", cls.request_timeout_seconds
            ),
            export_timeout_seconds=env.seconds(
                "DNC_EXPORT_TIMEOUT_SECONDS", cls.export_timeout_seconds
            ),
            stream_timeout_seconds=env.seconds(
                "DNC_STREAM_TIMEOUT_SECONDS", cls.stream_timeout_seconds
            ),
            write_scope=_scope_token("DNC_WRITE_SCOPE", env.optional("DNC_WRITE_SCOPE")),
            health_check_interval_seconds=env.seconds(
                "DNC_HEALTH_CHECK_INTERVAL_SECONDS", cls.health_check_interval_seconds
            ),
            drain_seconds=env.seconds("DNC_DRAIN_SECONDS", cls.drain_seconds, 0),
            shutdown_grace_seconds=env.seconds(
                "DNC_SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds, 0
            ),
            max_concurrent_rpcs=env.integer("DNC_MAX_CONCURRENT_RPCS", cls.max_concurrent_rpcs),
            max_concurrent_rpcs_per_org=per_org_limit(env),
            max_concurrent_streaming_rpcs_per_org=streams_per_org_limit(env),
            max_concurrent_streams=env.integer(
                "DNC_GRPC_MAX_CONCURRENT_STREAMS", cls.max_concurrent_streams
            ),
            max_connection_age_seconds=env.seconds(
                "DNC_GRPC_MAX_CONNECTION_AGE_SECONDS", cls.max_connection_age_seconds, 1
            ),
            max_connection_age_grace_seconds=env.seconds(
                "DNC_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS", cls.max_connection_age_grace_seconds, 1
            ),
            max_connection_idle_seconds=env.seconds(
                "DNC_GRPC_MAX_CONNECTION_IDLE_SECONDS", cls.max_connection_idle_seconds, 1
            ),
            ensure_indexes=env.boolean("DNC_ENSURE_INDEXES", cls.ensure_indexes),
            metrics_addr=env.address("DNC_METRICS_ADDR"),
            page_token_keys=page_token_keys(env.optional("DNC_PAGE_TOKEN_KEYS")),
            org_cache_ttl_seconds=env.seconds(
                "DNC_ORG_CACHE_TTL_SECONDS", cls.org_cache_ttl_seconds, 0
            ),
            org_cache_size=env.integer("DNC_ORG_CACHE_SIZE", cls.org_cache_size),
            grpc_tls_cert_file=env.path(
                "DNC_GRPC_TLS_CERT_FILE", deprecated=("DNC_TLS_CERT_FILE",)
            ),
            grpc_tls_key_file=env.path("DNC_GRPC_TLS_KEY_FILE", deprecated=("DNC_TLS_KEY_FILE",)),
            grpc_tls_client_ca_file=env.path(
                "DNC_GRPC_TLS_CLIENT_CA_FILE", deprecated=("DNC_TLS_CLIENT_CA_FILE",)
            ),
            log_level=env.choice(
                "DNC_LOG_LEVEL", cls.log_level, ("DEBUG", "INFO", "WARNING", "ERROR")
            ),
            audit_sweep_seconds=env.seconds(
                "DNC_AUDIT_SWEEP_SECONDS", cls.audit_sweep_seconds, 0.1
            ),
            audit_sweep_grace_seconds=env.seconds(
                "DNC_AUDIT_SWEEP_GRACE_SECONDS", cls.audit_sweep_grace_seconds, 0
            ),
        )
        _check_jwt(settings)
        _check_tls(settings)
        return replace(settings, deprecations=tuple(env.deprecations))


def per_org_limit(env: Env) -> int:
    """DNC_MAX_CONCURRENT_RPCS_PER_ORG: at most the global limit; unset, 32 or the global limit
    when that is smaller (so a small DNC_MAX_CONCURRENT_RPCS alone stays a valid setting)."""
    total = env.integer("DNC_MAX_CONCURRENT_RPCS", Settings.max_concurrent_rpcs)
    per_org = env.optional_integer("DNC_MAX_CONCURRENT_RPCS_PER_ORG")
    if per_org is None:
        return min(Settings.max_concurrent_rpcs_per_org, total)
    if per_org > total:
        raise SettingsError(
            f"DNC_MAX_CONCURRENT_RPCS_PER_ORG={per_org}: at most DNC_MAX_CONCURRENT_RPCS ({total})"
        )
    return per_org


def streams_per_org_limit(env: Env) -> int:
    """DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG: at most the per-organization limit; unset, 8
    or that limit when it is smaller."""
    per_org = per_org_limit(env)
    streams = env.optional_integer("DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG")
    if streams is None:
        return min(Settings.max_concurrent_streaming_rpcs_per_org, per_org)
    if streams > per_org:
        raise SettingsError(
            f"DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG={streams}: at most "
            f"DNC_MAX_CONCURRENT_RPCS_PER_ORG ({per_org})"
        )
    return streams


# RFC 6749 3.3: a scope-token is printable ASCII but for space, `"` and `\`.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def _scope_token(name: str, value: str | None) -> str | None:
    """One OAuth scope, or None (unset, empty or blank: writes are open, as the start says)."""
    if value is not None and not _SCOPE_TOKEN.fullmatch(value):
        raise SettingsError(
            f"{name}={value!r}: expected one OAuth scope (printable ASCII without spaces, "
            "quotes or backslashes), e.g. dnc:write"
        )
    return value


def _check_jwt(settings: Settings) -> None:
    """A verification key is set, and strong enough; the lifetime cap is within bounds."""
    if settings.jwt_public_key_file is None and not settings.jwt_secret:
        raise SettingsError(
            "set DNC_JWT_SECRET (HS256) or DNC_JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM key)"
        )
    if (settings.jwt_max_lifetime_seconds or 0) > MAX_TOKEN_LIFETIME_SECONDS:
        raise SettingsError(
            f"DNC_JWT_MAX_LIFETIME_SECONDS: at most {MAX_TOKEN_LIFETIME_SECONDS} (366 days)"
        )
    if settings.jwt_public_key_file is None and len(settings.jwt_secret or "") < 32:
        # RFC 7518 section 3.2: an HS256 key must be at least 256 bits.
        raise SettingsError("DNC_JWT_SECRET must be at least 32 characters")


def _check_tls(settings: Settings) -> None:
    """TLS files come as a certificate and key pair; a client CA needs them."""
    if (settings.grpc_tls_cert_file is None) != (settings.grpc_tls_key_file is None):
        raise SettingsError("set both DNC_GRPC_TLS_CERT_FILE and DNC_GRPC_TLS_KEY_FILE, or neither")
    if settings.grpc_tls_client_ca_file is not None and settings.grpc_tls_cert_file is None:
        raise SettingsError(
            "DNC_GRPC_TLS_CLIENT_CA_FILE (mutual TLS) needs DNC_GRPC_TLS_CERT_FILE/KEY_FILE"
        )


_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


def page_token_keys(value: str | None) -> tuple[bytes, ...]:
    """DNC_PAGE_TOKEN_KEYS: comma-separated 32-byte keys, each as 64 hex digits or base64
    (standard or URL-safe); the first seals new tokens, all open them. Errors never echo a key."""
    if value is None:
        return ()
    keys = []
    for number, text in enumerate((part.strip() for part in value.split(",")), start=1):
        if _HEX_KEY.fullmatch(text):
            keys.append(bytes.fromhex(text))
            continue
        try:
            key = base64.b64decode(
                text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
            )
        except (ValueError, binascii.Error):
            key = b""
        if len(key) != 32:
            raise SettingsError(
                f"DNC_PAGE_TOKEN_KEYS: key {number} is not 32 bytes as 64 hex digits or base64"
            )
        keys.append(key)
    return tuple(keys)
