"""The gateway's one settings object, read from the environment once at start."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dnc_common.env import Env, SettingsError, host_port

__all__ = ["GatewaySettings", "SettingsError"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_HTTP_ADDR = "127.0.0.1:8080"


@dataclass(frozen=True)
class GatewaySettings:
    """Everything the gateway can be configured with (docs/configuration.md, "Gateway settings")."""

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_target: str = "127.0.0.1:50051"
    timeout_seconds: float = 10.0
    # A server stream (an export) may take far longer than one call: its own deadline.
    stream_timeout_seconds: float = 600.0
    # Longest request body read; 1 MiB holds a 1000-item batch with every optional field.
    max_body_bytes: int = 1024 * 1024
    header_timeout_seconds: float = 10.0
    # A body that sends no byte for this long is ended (408); a slow but live upload goes on.
    body_idle_seconds: float = 10.0
    # A unary call's whole body: 1 MiB within it is 35 KB/s, slower than any real client.
    body_timeout_seconds: float = 30.0
    # Open connections past this get a 503 and are closed: bounds the memory stalled clients hold.
    max_connections: int = 512
    cors_allowed_origins: tuple[str, ...] = ()
    shutdown_grace_seconds: float = 10.0
    log_level: str = "INFO"
    metrics_addr: str | None = None
    grpc_tls: bool = False
    grpc_tls_ca_file: Path | None = None
    grpc_tls_cert_file: Path | None = None
    grpc_tls_key_file: Path | None = None
    # "X is deprecated: set Y instead", for each old name the environment used (logged at start).
    deprecations: tuple[str, ...] = field(default=(), compare=False)

    @property
    def http_addr(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"{host}:{self.http_port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        """Build and validate settings; raise SettingsError naming the first bad variable."""
        env = Env(os.environ if environ is None else environ)
        host, port = parse_http_addr(
            "DNC_HTTP_ADDR", env.optional("DNC_HTTP_ADDR"), DEFAULT_HTTP_ADDR
        )
        settings = cls(
            http_host=host,
            http_port=port,
            grpc_target=_grpc_target(
                "DNC_GRPC_TARGET", env.text("DNC_GRPC_TARGET", cls.grpc_target)
            ),
            timeout_seconds=env.seconds("DNC_GATEWAY_TIMEOUT_SECONDS", cls.timeout_seconds),
            stream_timeout_seconds=env.seconds(
                "DNC_GATEWAY_STREAM_TIMEOUT_SECONDS", cls.stream_timeout_seconds
            ),
            max_body_bytes=env.integer(
                "DNC_GATEWAY_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024
            ),
            header_timeout_seconds=env.seconds(
                "DNC_GATEWAY_HEADER_TIMEOUT_SECONDS", cls.header_timeout_seconds
            ),
            body_idle_seconds=env.seconds("DNC_GATEWAY_BODY_IDLE_SECONDS", cls.body_idle_seconds),
            body_timeout_seconds=env.seconds(
                "DNC_GATEWAY_BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds
            ),
            max_connections=env.integer(
                "DNC_GATEWAY_MAX_CONNECTIONS", cls.max_connections, minimum=1
            ),
            cors_allowed_origins=_origins(env, "DNC_GATEWAY_CORS_ALLOWED_ORIGINS"),
            shutdown_grace_seconds=env.seconds(
                "DNC_GATEWAY_SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds, minimum=0
            ),
            log_level=env.choice("DNC_LOG_LEVEL", cls.log_level, LOG_LEVELS),
            # Checked at start, so that a typo stops the start instead of the first scrape.
            metrics_addr=env.address("DNC_GATEWAY_METRICS_ADDR"),
        )
        settings = _with_grpc_tls(settings, env)
        return replace(settings, deprecations=tuple(env.deprecations))


# Before DNC_GATEWAY_ prefixed the gateway's own variables; still read when the new one is unset.
# DNC_HTTP_ADDR and DNC_GRPC_TARGET keep their names: the contract makes them stable.
DEPRECATED_NAMES = {
    "DNC_GATEWAY_CORS_ALLOWED_ORIGINS": ("DNC_CORS_ALLOWED_ORIGINS",),
    "DNC_GATEWAY_GRPC_TLS": ("DNC_GRPC_TLS",),
    "DNC_GATEWAY_GRPC_TLS_CA_FILE": ("DNC_GRPC_TLS_CA_FILE",),
    # No aliases for the client certificate: DNC_GRPC_TLS_CERT_FILE/KEY_FILE now name the
    # service's own certificate, and a shared environment must not hand it to the gateway.
    "DNC_GATEWAY_GRPC_TLS_CERT_FILE": (),
    "DNC_GATEWAY_GRPC_TLS_KEY_FILE": (),
}


def _with_grpc_tls(settings: GatewaySettings, env: Env) -> GatewaySettings:
    """The channel's TLS: on when asked for or when any certificate file is given."""

    def path(name: str) -> Path | None:
        return env.path(name, DEPRECATED_NAMES[name])

    ca_file = path("DNC_GATEWAY_GRPC_TLS_CA_FILE")
    cert_file = path("DNC_GATEWAY_GRPC_TLS_CERT_FILE")
    key_file = path("DNC_GATEWAY_GRPC_TLS_KEY_FILE")
    given = any((ca_file, cert_file, key_file))
    tls = env.boolean("DNC_GATEWAY_GRPC_TLS", given, DEPRECATED_NAMES["DNC_GATEWAY_GRPC_TLS"])
    if given and not tls:
        raise SettingsError(
            "DNC_GATEWAY_GRPC_TLS is false but a DNC_GATEWAY_GRPC_TLS_*_FILE is set: unset one"
        )
    if (cert_file is None) != (key_file is None):
        raise SettingsError(
            "set both DNC_GATEWAY_GRPC_TLS_CERT_FILE and DNC_GATEWAY_GRPC_TLS_KEY_FILE "
            "(mutual TLS), or neither"
        )
    return replace(
        settings,
        grpc_tls=tls,
        grpc_tls_ca_file=ca_file,
        grpc_tls_cert_file=cert_file,
        grpc_tls_key_file=key_file,
    )


def parse_http_addr(name: str, value: str | None, default: str) -> tuple[str, int]:
    """`host:port` or `[ipv6]:port`; port 0 asks the system for a free port."""
    text = value or default
    try:
        host, port = host_port(text)
    except ValueError as error:
        raise SettingsError(f"{name}={text!r}: {error}, e.g. 127.0.0.1:8080") from None
    if not host:
        raise SettingsError(f"{name}={text!r}: name the host, e.g. 0.0.0.0:8080 for every one")
    if text.strip().startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise SettingsError(f"{name}={text!r}: {host!r} is not an IPv6 address") from None
    return host, port


# Resolver schemes of gRPC target URIs (gRPC's naming doc); anything else is host[:port].
_TARGET_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:", "xds:")


def _grpc_target(name: str, value: str) -> str:
    """A gRPC target URI, or `host:port`: checked at start rather than at the first call."""
    if any(char.isspace() for char in value):
        raise SettingsError(f"{name}={value!r}: a gRPC target has no spaces")
    if value.startswith(_TARGET_SCHEMES) or ":" not in value:
        return value
    try:
        host_port(value)
    except ValueError as error:
        raise SettingsError(
            f"{name}={value!r}: {error}, or a gRPC target URI such as dns:///host:50051"
        ) from None
    return value


def _origins(env: Env, name: str) -> tuple[str, ...]:
    """Comma-separated origins such as `https://app.example.com`, or `*` for any."""
    value = env.optional(name, DEPRECATED_NAMES[name])
    if value is None:
        return ()
    origins = tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if origin != "*" and (not sep or scheme not in ("http", "https") or not rest):
            raise SettingsError(
                f"{name}={value!r}: {origin!r} is not an origin like https://app.example.com or *"
            )
    return origins
