"""Gateway settings from the environment: defaults, parsing, and errors naming the variable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dnc_common.env import Env
from gateway.settings import DEPRECATED_NAMES, GatewaySettings, SettingsError

CONFIGURATION = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_defaults() -> None:
    settings = GatewaySettings.from_env({})
    assert settings == GatewaySettings()
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.grpc_target == "127.0.0.1:50051"
    assert settings.timeout_seconds == 10.0
    assert settings.cors_allowed_origins == ()
    assert settings.shutdown_grace_seconds == 10.0
    assert settings.log_level == "INFO"


def test_every_variable() -> None:
    settings = GatewaySettings.from_env(
        {
            "DNC_HTTP_ADDR": "0.0.0.0:9000",
            "DNC_GRPC_TARGET": "dns:///dnc-service:50051",
            "DNC_GATEWAY_TIMEOUT_SECONDS": "2.5",
            "DNC_GATEWAY_CORS_ALLOWED_ORIGINS": " https://a.example.com, http://localhost:3000/ ,",
            "DNC_GATEWAY_SHUTDOWN_GRACE_SECONDS": "0",
            "DNC_LOG_LEVEL": "debug",
        }
    )
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 9000)
    assert settings.grpc_target == "dns:///dnc-service:50051"
    assert settings.timeout_seconds == 2.5
    assert settings.cors_allowed_origins == ("https://a.example.com", "http://localhost:3000")
    assert settings.shutdown_grace_seconds == 0.0
    assert settings.log_level == "DEBUG"


def test_blank_values_mean_the_default() -> None:
    assert (
        GatewaySettings.from_env({"DNC_HTTP_ADDR": "  ", "DNC_LOG_LEVEL": ""}) == GatewaySettings()
    )


@pytest.mark.parametrize(
    ("addr", "host", "port"),
    [
        ("[::1]:8081", "::1", 8081),
        ("localhost:0", "localhost", 0),
        ("127.0.0.1:65535", "127.0.0.1", 65535),
    ],
)
def test_http_addr_forms(addr: str, host: str, port: int) -> None:
    settings = GatewaySettings.from_env({"DNC_HTTP_ADDR": addr})
    assert (settings.http_host, settings.http_port) == (host, port)
    assert settings.http_addr == addr


def test_cors_wildcard() -> None:
    assert GatewaySettings.from_env(
        {"DNC_GATEWAY_CORS_ALLOWED_ORIGINS": "*"}
    ).cors_allowed_origins == ("*",)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DNC_HTTP_ADDR", "8080"),
        ("DNC_HTTP_ADDR", "127.0.0.1:"),
        ("DNC_HTTP_ADDR", ":8080"),
        ("DNC_HTTP_ADDR", "127.0.0.1:http"),
        ("DNC_HTTP_ADDR", "127.0.0.1:65536"),
        ("DNC_HTTP_ADDR", "::1:8080"),
        ("DNC_HTTP_ADDR", "[nope]:8080"),
        ("DNC_GATEWAY_TIMEOUT_SECONDS", "ten"),
        ("DNC_GATEWAY_TIMEOUT_SECONDS", "0"),
        ("DNC_GATEWAY_TIMEOUT_SECONDS", "-1"),
        ("DNC_GATEWAY_TIMEOUT_SECONDS", "nan"),
        ("DNC_GATEWAY_TIMEOUT_SECONDS", "inf"),
        ("DNC_GATEWAY_SHUTDOWN_GRACE_SECONDS", "-0.5"),
        ("DNC_GATEWAY_CORS_ALLOWED_ORIGINS", "example.com"),
        ("DNC_GATEWAY_CORS_ALLOWED_ORIGINS", "https://ok.example.com,ftp://x"),
        ("DNC_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        GatewaySettings.from_env({name: value})


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """GatewaySettings check only that the file exists; gRPC reads it when the channel opens."""
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def test_tls_is_off_by_default_and_on_when_asked() -> None:
    assert GatewaySettings.from_env({}).grpc_tls is False
    settings = GatewaySettings.from_env({"DNC_GATEWAY_GRPC_TLS": "true"})
    assert settings.grpc_tls is True
    assert settings.grpc_tls_ca_file is None  # the system's CAs


def test_a_certificate_file_implies_tls(pem: Path) -> None:
    settings = GatewaySettings.from_env({"DNC_GATEWAY_GRPC_TLS_CA_FILE": str(pem)})
    assert (settings.grpc_tls, settings.grpc_tls_ca_file) == (True, pem)
    mutual = GatewaySettings.from_env(
        {"DNC_GATEWAY_GRPC_TLS_CERT_FILE": str(pem), "DNC_GATEWAY_GRPC_TLS_KEY_FILE": str(pem)}
    )
    assert (mutual.grpc_tls, mutual.grpc_tls_cert_file, mutual.grpc_tls_key_file) == (
        True,
        pem,
        pem,
    )


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"DNC_GATEWAY_GRPC_TLS_CERT_FILE": "{pem}"}, "DNC_GATEWAY_GRPC_TLS_KEY_FILE"),
        ({"DNC_GATEWAY_GRPC_TLS_KEY_FILE": "{pem}"}, "DNC_GATEWAY_GRPC_TLS_CERT_FILE"),
        (
            {"DNC_GATEWAY_GRPC_TLS": "false", "DNC_GATEWAY_GRPC_TLS_CA_FILE": "{pem}"},
            "DNC_GATEWAY_GRPC_TLS is false",
        ),
        ({"DNC_GATEWAY_GRPC_TLS_CA_FILE": "/nonexistent/ca.pem"}, "DNC_GATEWAY_GRPC_TLS_CA_FILE="),
        ({"DNC_GATEWAY_GRPC_TLS": "maybe"}, "DNC_GATEWAY_GRPC_TLS="),
    ],
)
def test_inconsistent_tls_settings_are_refused(
    pem: Path, environ: dict[str, str], complaint: str
) -> None:
    filled = {name: value.format(pem=pem) for name, value in environ.items()}
    with pytest.raises(SettingsError, match=re.escape(complaint)):
        GatewaySettings.from_env(filled)


def test_the_old_tls_names_still_work(pem: Path) -> None:
    old = GatewaySettings.from_env({"DNC_GRPC_TLS_CA_FILE": str(pem)})
    new = GatewaySettings.from_env({"DNC_GATEWAY_GRPC_TLS_CA_FILE": str(pem)})
    assert old == new
    assert new.grpc_tls_ca_file == pem
    assert GatewaySettings.from_env({"DNC_GRPC_TLS": "on"}).grpc_tls is True


def test_the_services_certificate_names_never_reach_the_gateway(pem: Path) -> None:
    """DNC_GRPC_TLS_CERT_FILE/KEY_FILE are the service's server certificate now."""
    shared = GatewaySettings.from_env(
        {"DNC_GRPC_TLS_CERT_FILE": str(pem), "DNC_GRPC_TLS_KEY_FILE": str(pem)}
    )
    assert shared.grpc_tls_cert_file is None
    assert shared.grpc_tls_key_file is None
    assert shared.grpc_tls is False


def test_a_new_name_wins_over_its_old_one(pem: Path) -> None:
    settings = GatewaySettings.from_env(
        {"DNC_GATEWAY_GRPC_TLS_CA_FILE": str(pem), "DNC_GRPC_TLS_CA_FILE": "/nonexistent"}
    )
    assert settings.grpc_tls_ca_file == pem
    assert (
        GatewaySettings.from_env({"DNC_GATEWAY_GRPC_TLS": "off", "DNC_GRPC_TLS": "on"}).grpc_tls
        is False
    )


def test_an_error_names_the_old_variable_when_that_is_what_was_set() -> None:
    with pytest.raises(SettingsError, match=r"^DNC_GRPC_TLS_CA_FILE="):
        GatewaySettings.from_env({"DNC_GRPC_TLS_CA_FILE": "/nonexistent/ca.pem"})


def test_env_aliases_are_read_in_order_when_the_name_is_blank() -> None:
    env = Env({"NEW": " ", "OLD": "", "OLDER": "x", "OLDEST": "y"})
    assert env.optional("NEW") is None
    assert env.optional("NEW", ("OLD", "OLDER", "OLDEST")) == "x"
    assert env.text("NEW", "default", ("OLD",)) == "default"
    assert Env({"NEW": "yes", "OLD": "no"}).boolean("NEW", False, ("OLD",)) is True
    assert Env({"OLD": "no"}).boolean("NEW", True, ("OLD",)) is False


class Recording(dict[str, str]):
    """An empty environment that remembers every name looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.names.add(key)
        return super().get(key, default)


def test_the_readme_documents_exactly_the_variables_read() -> None:
    environ = Recording()
    GatewaySettings.from_env(environ)
    text = CONFIGURATION.read_text()
    table = text.split("## Gateway settings", 1)[1].split("\n## ", 1)[0]
    retired = set(re.findall(r"\| `(DNC_[A-Z_]*[A-Z])` \|.*no longer read", table))
    documented = set(re.findall(r"`(DNC_[A-Z_]*[A-Z])`", table)) - retired
    assert retired == {"DNC_GRPC_TLS_CERT_FILE", "DNC_GRPC_TLS_KEY_FILE"}
    old_names = {old for names in DEPRECATED_NAMES.values() for old in names}
    assert environ.names - old_names == documented - old_names
    assert old_names <= environ.names
    assert old_names <= documented  # the renamed-settings note


@pytest.mark.parametrize("value", ["nonsense", "9090", "127.0.0.1:", "host:99999", "::1:9090"])
def test_a_bad_metrics_address_names_its_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="DNC_GATEWAY_METRICS_ADDR"):
        GatewaySettings.from_env({"DNC_GATEWAY_METRICS_ADDR": value})


def test_a_metrics_address_is_kept() -> None:
    settings = GatewaySettings.from_env({"DNC_GATEWAY_METRICS_ADDR": "[::1]:9091"})
    assert settings.metrics_addr == "[::1]:9091"
    assert GatewaySettings.from_env({}).metrics_addr is None


def test_the_header_timeout() -> None:
    assert GatewaySettings.from_env({}).header_timeout_seconds == 10.0
    settings = GatewaySettings.from_env({"DNC_GATEWAY_HEADER_TIMEOUT_SECONDS": "2.5"})
    assert settings.header_timeout_seconds == 2.5
    with pytest.raises(SettingsError, match="DNC_GATEWAY_HEADER_TIMEOUT_SECONDS"):
        GatewaySettings.from_env({"DNC_GATEWAY_HEADER_TIMEOUT_SECONDS": "0"})


def test_the_old_cors_name_is_still_read_and_reported_deprecated() -> None:
    settings = GatewaySettings.from_env({"DNC_CORS_ALLOWED_ORIGINS": "https://a.example.com"})
    assert settings.cors_allowed_origins == ("https://a.example.com",)
    assert settings.deprecations == (
        "DNC_CORS_ALLOWED_ORIGINS is deprecated: set DNC_GATEWAY_CORS_ALLOWED_ORIGINS instead",
    )
    both = GatewaySettings.from_env(
        {"DNC_CORS_ALLOWED_ORIGINS": "https://old.test", "DNC_GATEWAY_CORS_ALLOWED_ORIGINS": "*"}
    )
    assert (both.cors_allowed_origins, both.deprecations) == (("*",), ())


def test_the_contracts_stable_names_are_read_without_deprecation() -> None:
    settings = GatewaySettings.from_env(
        {"DNC_HTTP_ADDR": "127.0.0.1:9000", "DNC_GRPC_TARGET": "ipv4:10.0.0.1:50051,10.0.0.2:50051"}
    )
    assert (settings.http_port, settings.deprecations) == (9000, ())


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1:50051", "[::1]:50051", "dns:///dnc.internal:50051", "unix:///run/dnc.sock", "dnc"],
)
def test_grpc_targets_are_kept(target: str) -> None:
    assert GatewaySettings.from_env({"DNC_GRPC_TARGET": target}).grpc_target == target


@pytest.mark.parametrize("target", ["127.0.0.1:port", "::1:50051", "dnc service:50051"])
def test_a_bad_grpc_target_is_refused_at_start(target: str) -> None:
    with pytest.raises(SettingsError, match="DNC_GRPC_TARGET"):
        GatewaySettings.from_env({"DNC_GRPC_TARGET": target})


def test_body_limits_and_the_connection_cap() -> None:
    assert GatewaySettings().body_idle_seconds <= GatewaySettings().body_timeout_seconds
    settings = GatewaySettings.from_env(
        {
            "DNC_GATEWAY_BODY_IDLE_SECONDS": "1.5",
            "DNC_GATEWAY_BODY_TIMEOUT_SECONDS": "20",
            "DNC_GATEWAY_MAX_CONNECTIONS": "64",
        }
    )
    assert (settings.body_idle_seconds, settings.body_timeout_seconds) == (1.5, 20.0)
    assert settings.max_connections == 64
    for name, value in (
        ("DNC_GATEWAY_BODY_IDLE_SECONDS", "0"),
        ("DNC_GATEWAY_BODY_TIMEOUT_SECONDS", "soon"),
        ("DNC_GATEWAY_MAX_CONNECTIONS", "0"),
    ):
        with pytest.raises(SettingsError, match=name):
            GatewaySettings.from_env({name: value})
