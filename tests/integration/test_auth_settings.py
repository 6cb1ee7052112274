"""Authentication under non-default settings, through the real server: public keys (a token of
another algorithm is UNAUTHENTICATED, never INTERNAL) and a cap on token lifetime."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pymongo.database import Database

from data_support import Document, OrgFactory, make_token
from service_support import Service, list_code, service_env, start_service

RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], user_id: str) -> str:
    """A token with any header and a junk signature, as an attacker would send it."""
    claims = {"sub": user_id, "exp": int(time.time()) + 600}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.AAAA"


def code_of(service: Service, token: str) -> grpc.StatusCode:
    with grpc.insecure_channel(service.target) as channel:
        return list_code(channel, (("authorization", f"Bearer {token}"),))


def public_key_file(tmp_path: Path, private: Any) -> Path:
    path = tmp_path / "public.pem"
    path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.mark.parametrize(
    ("private", "algorithm", "other"),
    [(RSA_KEY, "RS256", "ES256"), (EC_KEY, "ES256", "RS256")],
)
def test_a_token_of_the_other_algorithm_is_unauthenticated(
    tmp_path: Path,
    mongo_uri: str,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    private: Any,
    algorithm: str,
    other: str,
) -> None:
    org = new_org(entries=1)
    user = str(org.user_id)
    env = service_env(
        mongo_uri,
        mongo_db.name,
        DNC_JWT_PUBLIC_KEY_FILE=str(public_key_file(tmp_path, private)),
        DNC_JWT_SECRET="",  # public keys only: page tokens get a random key, with a warning
    )
    with start_service(env, tmp_path / "service.log") as service:
        assert code_of(service, make_token(user, private, algorithm)) == grpc.StatusCode.OK
        for header in ({"alg": other}, {"alg": other, "typ": "JWT"}, {"alg": "HS256"}):
            assert code_of(service, unsigned(header, user)) == grpc.StatusCode.UNAUTHENTICATED
        assert code_of(service, unsigned({"alg": algorithm}, user)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        log = service.process.log()
    assert "Traceback" not in log
    assert not service.process.json_lines(level="ERROR")
    warnings = [line["message"] for line in service.process.json_lines(level="WARNING")]
    assert any("page tokens use a random key" in message for message in warnings)


def test_a_lifetime_cap_refuses_long_lived_tokens(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    user = str(org.user_id)
    now = int(time.time())
    env = service_env(mongo_uri, mongo_db.name, DNC_JWT_MAX_LIFETIME_SECONDS="3600")
    with start_service(env, tmp_path / "service.log") as service:
        assert code_of(service, make_token(user, iat=now, exp=now + 600)) == grpc.StatusCode.OK
        claim_sets: list[dict[str, Any]] = [
            {"iat": now, "exp": now + 7200},  # lives longer than the cap
            {"iat": now + 5000, "exp": now + 5400},  # short-lived, but issued in the future
            {"exp": now + 600},  # no iat, so no way to know its lifetime
        ]
        for claims in claim_sets:
            assert code_of(service, make_token(user, **claims)) == (
                grpc.StatusCode.UNAUTHENTICATED
            ), claims
