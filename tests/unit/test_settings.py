"""Settings come from the environment once, and a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_common.env import host_port
from dnc_service import cli
from dnc_service.server import connection_options
from dnc_service.settings import Settings, SettingsError
from dnc_service.writes import write_policy

SECRET = "s" * 32


def test_defaults() -> None:
    settings = Settings.from_env({"DNC_JWT_SECRET": SECRET})
    assert settings.mongodb_uri == "mongodb://127.0.0.1:27017"
    assert (settings.database, settings.entries_collection, settings.users_collection) == (
        "dnc",
        "dnc_entries",
        "users",
    )
    assert settings.grpc_addr == "127.0.0.1:50051"
    assert settings.ensure_indexes is True
    assert (settings.audit_collection, settings.write_scope) == ("dnc_audit", None)
    assert settings.export_timeout_seconds == 600


def test_management_settings() -> None:
    settings = Settings.from_env(
        {
            "DNC_JWT_SECRET": SECRET, "DNC_AUDIT_COLLECTION": "changes",
            "DNC_WRITE_SCOPE": "dnc:write", "DNC_EXPORT_TIMEOUT_SECONDS": "3600",
        }
    )  # fmt: skip
    assert (settings.audit_collection, settings.write_scope) == ("changes", "dnc:write")
    assert settings.export_timeout_seconds == 3600


def test_contract_names() -> None:
    settings = Settings.from_env(
        {
            "MONGODB_URI": "mongodb://db:1/", "DNC_MONGODB_DB": "x", "DNC_ENTRIES_COLLECTION": "e",
            "DNC_USERS_COLLECTION": "u", "DNC_GRPC_ADDR": "0.0.0.0:1", "DNC_JWT_SECRET": SECRET,
            "DNC_JWT_ISSUER": "iss", "DNC_JWT_AUDIENCE": "aud", "DNC_ENSURE_INDEXES": "false",
            "DNC_REQUEST_TIMEOUT_SECONDS": "2.5",
        }
    )  # fmt: skip
    assert (settings.mongodb_uri, settings.database, settings.entries_collection) == (
        "mongodb://db:1/",
        "x",
        "e",
    )
    assert (settings.users_collection, settings.grpc_addr) == ("u", "0.0.0.0:1")
    assert (settings.jwt_issuer, settings.jwt_audience) == ("iss", "aud")
    assert settings.ensure_indexes is False
    assert settings.request_timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "DNC_JWT_SECRET"),
        ({"DNC_JWT_SECRET": "short"}, "at least 32 characters"),
        (
            {"DNC_JWT_SECRET": SECRET, "DNC_REQUEST_TIMEOUT_SECONDS": "soon"},
            "DNC_REQUEST_TIMEOUT_SECONDS",
        ),
        (
            {"DNC_JWT_SECRET": SECRET, "DNC_REQUEST_TIMEOUT_SECONDS": "-1"},
            "DNC_REQUEST_TIMEOUT_SECONDS",
        ),
        ({"DNC_JWT_SECRET": SECRET, "DNC_ENSURE_INDEXES": "maybe"}, "DNC_ENSURE_INDEXES"),
        (
            {"DNC_JWT_SECRET": SECRET, "DNC_EXPORT_TIMEOUT_SECONDS": "0"},
            "DNC_EXPORT_TIMEOUT_SECONDS",
        ),
        ({"DNC_JWT_SECRET": SECRET, "DNC_MAX_CONCURRENT_RPCS": "0"}, "DNC_MAX_CONCURRENT_RPCS"),
        (
            {"DNC_JWT_SECRET": SECRET, "DNC_MAX_CONCURRENT_RPCS_PER_ORG": "0"},
            "DNC_MAX_CONCURRENT_RPCS_PER_ORG",
        ),
        (
            {
                "DNC_JWT_SECRET": SECRET,
                "DNC_MAX_CONCURRENT_RPCS": "8",
                "DNC_MAX_CONCURRENT_RPCS_PER_ORG": "9",
            },
            r"DNC_MAX_CONCURRENT_RPCS_PER_ORG=9: at most DNC_MAX_CONCURRENT_RPCS \(8\)",
        ),
        (
            {
                "DNC_JWT_SECRET": SECRET,
                "DNC_MAX_CONCURRENT_RPCS_PER_ORG": "4",
                "DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG": "5",
            },
            r"DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG=5: at most "
            r"DNC_MAX_CONCURRENT_RPCS_PER_ORG \(4\)",
        ),
        (
            {"DNC_JWT_SECRET": SECRET, "DNC_JWT_MAX_LIFETIME_SECONDS": "0"},
            "DNC_JWT_MAX_LIFETIME_SECONDS",
        ),
        (
            {"DNC_JWT_SECRET": SECRET, "DNC_JWT_MAX_LIFETIME_SECONDS": str(400 * 86400)},
            "DNC_JWT_MAX_LIFETIME_SECONDS",
        ),
        ({"DNC_JWT_SECRET": SECRET, "DNC_LOG_LEVEL": "LOUD"}, "DNC_LOG_LEVEL"),
        ({"DNC_JWT_PUBLIC_KEY_FILE": "/no/such/key.pem"}, "DNC_JWT_PUBLIC_KEY_FILE"),
    ],
)
def test_bad_values_name_their_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_a_public_key_replaces_the_secret(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\n")
    assert Settings.from_env({"DNC_JWT_PUBLIC_KEY_FILE": str(key)}).jwt_public_key_file == key


def test_tls_files_use_the_grpc_tls_names(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / name for name in ("cert.pem", "key.pem", "ca.pem"))
    for path in (cert, key, ca):
        path.write_text("pem")
    settings = Settings.from_env(
        {
            "DNC_JWT_SECRET": SECRET, "DNC_GRPC_TLS_CERT_FILE": str(cert),
            "DNC_GRPC_TLS_KEY_FILE": str(key), "DNC_GRPC_TLS_CLIENT_CA_FILE": str(ca),
        }
    )  # fmt: skip
    assert (settings.grpc_tls_cert_file, settings.grpc_tls_key_file) == (cert, key)
    assert settings.grpc_tls_client_ca_file == ca
    assert settings.deprecations == ()


def test_the_old_tls_names_still_work_and_are_reported(tmp_path: Path) -> None:
    old, new = tmp_path / "old.pem", tmp_path / "new.pem"
    old.write_text("pem")
    new.write_text("pem")
    settings = Settings.from_env(
        {"DNC_JWT_SECRET": SECRET, "DNC_TLS_CERT_FILE": str(old), "DNC_TLS_KEY_FILE": str(old)}
    )
    assert (settings.grpc_tls_cert_file, settings.grpc_tls_key_file) == (old, old)
    assert settings.deprecations == (
        "DNC_TLS_CERT_FILE is deprecated: set DNC_GRPC_TLS_CERT_FILE instead",
        "DNC_TLS_KEY_FILE is deprecated: set DNC_GRPC_TLS_KEY_FILE instead",
    )
    # The new name wins when both are set.
    both = Settings.from_env(
        {
            "DNC_JWT_SECRET": SECRET, "DNC_TLS_CERT_FILE": str(old), "DNC_TLS_KEY_FILE": str(old),
            "DNC_GRPC_TLS_CERT_FILE": str(new), "DNC_GRPC_TLS_KEY_FILE": str(new),
        }
    )  # fmt: skip
    assert (both.grpc_tls_cert_file, both.grpc_tls_key_file) == (new, new)
    assert both.deprecations == ()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DNC_GRPC_TLS_CERT_FILE": "/no/such.pem"}, "DNC_GRPC_TLS_CERT_FILE='/no/such.pem'"),
        ({"DNC_TLS_CERT_FILE": "/no/such.pem"}, "DNC_TLS_CERT_FILE='/no/such.pem'"),
    ],
)
def test_a_bad_tls_file_names_the_variable_that_was_set(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, **environ})


def test_half_a_tls_pair_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("pem")
    with pytest.raises(SettingsError, match="DNC_GRPC_TLS_CERT_FILE and DNC_GRPC_TLS_KEY_FILE"):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_GRPC_TLS_CERT_FILE": str(cert)})


def test_the_drain_defaults_to_five_seconds_and_may_be_off() -> None:
    assert Settings.from_env({"DNC_JWT_SECRET": SECRET}).drain_seconds == 5.0
    off = Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_DRAIN_SECONDS": "0"})
    assert off.drain_seconds == 0.0
    with pytest.raises(SettingsError, match="DNC_DRAIN_SECONDS"):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_DRAIN_SECONDS": "-1"})


def test_connection_limits() -> None:
    settings = Settings.from_env(
        {
            "DNC_JWT_SECRET": SECRET, "DNC_GRPC_MAX_CONCURRENT_STREAMS": "10",
            "DNC_GRPC_MAX_CONNECTION_AGE_SECONDS": "60",
            "DNC_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS": "5",
            "DNC_GRPC_MAX_CONNECTION_IDLE_SECONDS": "30",
        }
    )  # fmt: skip
    assert connection_options(settings) == [
        ("grpc.max_concurrent_streams", 10),
        ("grpc.max_connection_age_ms", 60_000),
        ("grpc.max_connection_age_grace_ms", 5_000),
        ("grpc.max_connection_idle_ms", 30_000),
    ]
    defaults = dict(connection_options(Settings.from_env({"DNC_JWT_SECRET": SECRET})))
    assert defaults["grpc.max_concurrent_streams"] == 100
    with pytest.raises(SettingsError, match="DNC_GRPC_MAX_CONCURRENT_STREAMS"):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_GRPC_MAX_CONCURRENT_STREAMS": "0"})


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("127.0.0.1:9100", ("127.0.0.1", 9100)),
        (":9100", ("", 9100)),
        ("[::1]:9100", ("::1", 9100)),
        ("metrics.internal:0", ("metrics.internal", 0)),
    ],
)
def test_host_port(value: str, parts: tuple[str, int]) -> None:
    assert host_port(value) == parts


@pytest.mark.parametrize(
    "value",
    ["nonsense", "127.0.0.1", "127.0.0.1:", "h:99999", "h:-1", "::1:80", "[::1:80", "a b:1"],
)
def test_a_metrics_address_must_be_host_port(value: str) -> None:
    with pytest.raises(SettingsError, match="DNC_METRICS_ADDR"):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_METRICS_ADDR": value})


@pytest.mark.parametrize("value", ["nonsense", "127.0.0.1", "h:99999", "::1:80", "a b:1"])
def test_the_grpc_address_is_checked_at_start(value: str) -> None:
    with pytest.raises(SettingsError, match="DNC_GRPC_ADDR"):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_GRPC_ADDR": value})


@pytest.mark.parametrize("prefix", ["DNC_MONGODB_", "DNC_MONGO_"])
def test_the_mongodb_timeouts_take_the_mongodb_prefix_and_the_old_one(prefix: str) -> None:
    settings = Settings.from_env(
        {
            "DNC_JWT_SECRET": SECRET, f"{prefix}SERVER_SELECTION_TIMEOUT_SECONDS": "1.5",
            f"{prefix}CONNECT_TIMEOUT_SECONDS": "2.5",
        }
    )  # fmt: skip
    assert (settings.server_selection_timeout_seconds, settings.connect_timeout_seconds) == (
        1.5,
        2.5,
    )
    old = () if prefix == "DNC_MONGODB_" else ("SERVER_SELECTION_TIMEOUT", "CONNECT_TIMEOUT")
    assert settings.deprecations == tuple(
        f"DNC_MONGO_{name}_SECONDS is deprecated: set DNC_MONGODB_{name}_SECONDS instead"
        for name in old
    )


def test_a_bad_grpc_address_stops_the_start_as_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DNC_JWT_SECRET", SECRET)
    monkeypatch.setenv("DNC_GRPC_ADDR", "localhost")
    assert cli.main(["serve"]) == 2
    assert "configuration error: DNC_GRPC_ADDR='localhost'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("environ", "limits"),
    [
        ({}, (256, 32, 8)),
        ({"DNC_MAX_CONCURRENT_RPCS": "4"}, (4, 4, 4)),  # unset: never above the limit above
        ({"DNC_MAX_CONCURRENT_RPCS_PER_ORG": "4"}, (256, 4, 4)),
        ({"DNC_MAX_CONCURRENT_RPCS": "8", "DNC_MAX_CONCURRENT_RPCS_PER_ORG": "8"}, (8, 8, 8)),
        ({"DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG": "2"}, (256, 32, 2)),
    ],
)
def test_the_per_organization_limits_are_within_the_global_one(
    environ: dict[str, str], limits: tuple[int, int, int]
) -> None:
    settings = Settings.from_env({"DNC_JWT_SECRET": SECRET, **environ})
    assert (
        settings.max_concurrent_rpcs,
        settings.max_concurrent_rpcs_per_org,
        settings.max_concurrent_streaming_rpcs_per_org,
    ) == limits


@pytest.mark.parametrize(
    ("value", "scope"), [("", None), ("   ", None), (" dnc:write ", "dnc:write")]
)
def test_an_empty_or_blank_write_scope_is_unset(value: str, scope: str | None) -> None:
    settings = Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_WRITE_SCOPE": value})
    assert settings.write_scope == scope


@pytest.mark.parametrize(
    "value", ["dnc write", "dnc:write\u00a0x", 'say"', "back\\slash", "caf\u00e9"]
)
def test_a_write_scope_must_be_one_scope_token(value: str) -> None:
    with pytest.raises(SettingsError, match="DNC_WRITE_SCOPE"):
        Settings.from_env({"DNC_JWT_SECRET": SECRET, "DNC_WRITE_SCOPE": value})


def test_the_write_policy_names_the_mode() -> None:
    assert write_policy("dnc:write") == "writes need scope 'dnc:write' in the bearer token"
    assert "DNC_WRITE_SCOPE unset or empty" in write_policy(None)
