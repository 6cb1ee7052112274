"""Gateway settings from the environment: defaults, parsing, and errors naming the variable."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.grpc_target == "127.0.0.1:50051"
    assert settings.timeout_seconds == 10.0
    assert settings.cors_allowed_origins == ()
    assert settings.shutdown_grace_seconds == 10.0
    assert settings.log_level == "INFO"


def test_every_variable() -> None:
    settings = Settings.from_env(
        {
            "DNC_HTTP_ADDR": "0.0.0.0:9000",
            "DNC_GRPC_TARGET": "dns:///dnc-service:50051",
            "DNC_GATEWAY_TIMEOUT_SECONDS": "2.5",
            "DNC_CORS_ALLOWED_ORIGINS": " https://a.example.com, http://localhost:3000/ ,",
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
    assert Settings.from_env({"DNC_HTTP_ADDR": "  ", "DNC_LOG_LEVEL": ""}) == Settings()


@pytest.mark.parametrize(
    ("addr", "host", "port"),
    [
        ("[::1]:8081", "::1", 8081),
        ("localhost:0", "localhost", 0),
        ("127.0.0.1:65535", "127.0.0.1", 65535),
    ],
)
def test_http_addr_forms(addr: str, host: str, port: int) -> None:
    settings = Settings.from_env({"DNC_HTTP_ADDR": addr})
    assert (settings.http_host, settings.http_port) == (host, port)
    assert settings.http_addr == addr


def test_cors_wildcard() -> None:
    assert Settings.from_env({"DNC_CORS_ALLOWED_ORIGINS": "*"}).cors_allowed_origins == ("*",)


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
        ("DNC_CORS_ALLOWED_ORIGINS", "example.com"),
        ("DNC_CORS_ALLOWED_ORIGINS", "https://ok.example.com,ftp://x"),
        ("DNC_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().http_port = 1  # type: ignore[misc]
