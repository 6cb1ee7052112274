"""Settings come from the environment once, and a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_service.settings import Settings, SettingsError

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
        ({"DNC_JWT_SECRET": SECRET, "DNC_MAX_CONCURRENT_RPCS": "0"}, "DNC_MAX_CONCURRENT_RPCS"),
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
