"""Optional TLS and mutual TLS on the gRPC server, with certificates made at test time."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from pymongo.database import Database

from certs import Pki, make_pki
from data_support import Document, OrgFactory
from gateway_support import GatewayFactory, error_envelope
from service_support import Service, list_code, service_env, start_service


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_service(
    mongo_uri: str, database: str, tmp_path: Path, credentials: grpc.ChannelCredentials, **tls: Path
) -> Service:
    """A service of the test's own with TLS files; use it as a context manager so it stops."""
    env = service_env(mongo_uri, database, **{name: str(path) for name, path in tls.items()})
    return start_service(env, tmp_path / "service.log", credentials=credentials)


def test_tls(
    mongo_uri: str,
    mongo_db: Database[Document],
    tmp_path: Path,
    pki: Pki,
    new_org: OrgFactory,
    gateway_factory: GatewayFactory,
) -> None:
    trusted = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    with tls_service(
        mongo_uri, mongo_db.name, tmp_path, trusted,
        DNC_GRPC_TLS_CERT_FILE=pki.server_cert, DNC_GRPC_TLS_KEY_FILE=pki.server_key,
    ) as service:  # fmt: skip
        org = new_org(entries=1)
        with grpc.secure_channel(service.target, trusted) as channel:
            assert list_code(channel, org.metadata, timeout=5) == grpc.StatusCode.OK
        with grpc.insecure_channel(service.target) as channel:
            assert list_code(channel, org.metadata, timeout=5) == grpc.StatusCode.UNAVAILABLE
        untrusted = grpc.ssl_channel_credentials()  # system roots do not know the test CA
        with grpc.secure_channel(service.target, untrusted) as channel:
            assert list_code(channel, org.metadata, timeout=5) == grpc.StatusCode.UNAVAILABLE
        assert "(TLS)" in service.process.log()
        # The gateway's upstream channel: trusting the CA works; the system roots alone do not.
        trusting = gateway_factory(service.target, DNC_GATEWAY_GRPC_TLS_CA_FILE=str(pki.ca))
        assert trusting.get("/api/dnc/list", org.token).status == 200
        distrusting = gateway_factory(
            service.target, expect_serving=False, DNC_GATEWAY_GRPC_TLS="true"
        )
        assert distrusting.health() == 503


def test_mutual_tls(
    mongo_uri: str,
    mongo_db: Database[Document],
    tmp_path: Path,
    pki: Pki,
    new_org: OrgFactory,
    gateway_factory: GatewayFactory,
) -> None:
    with_client_cert = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.read_bytes(),
        private_key=pki.client_key.read_bytes(),
        certificate_chain=pki.client_cert.read_bytes(),
    )
    with tls_service(
        mongo_uri, mongo_db.name, tmp_path, with_client_cert,
        DNC_GRPC_TLS_CERT_FILE=pki.server_cert, DNC_GRPC_TLS_KEY_FILE=pki.server_key,
        DNC_GRPC_TLS_CLIENT_CA_FILE=pki.ca,
    ) as service:  # fmt: skip
        org = new_org(entries=1)
        with grpc.secure_channel(service.target, with_client_cert) as channel:
            assert list_code(channel, org.metadata, timeout=5) == grpc.StatusCode.OK
        without = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
        with grpc.secure_channel(service.target, without) as channel:
            assert list_code(channel, org.metadata, timeout=5) == grpc.StatusCode.UNAVAILABLE
        assert "(mutual TLS)" in service.process.log()
        with_cert = gateway_factory(
            service.target,
            DNC_GATEWAY_GRPC_TLS_CA_FILE=str(pki.ca),
            DNC_GATEWAY_GRPC_TLS_CERT_FILE=str(pki.client_cert),
            DNC_GATEWAY_GRPC_TLS_KEY_FILE=str(pki.client_key),
        )
        assert with_cert.get("/api/dnc/list", org.token).status == 200
        without_cert = gateway_factory(
            service.target, expect_serving=False, DNC_GATEWAY_GRPC_TLS_CA_FILE=str(pki.ca)
        )
        error_envelope(without_cert.get("/api/dnc/list", org.token), 503)


def test_the_deprecated_tls_names_still_serve_tls(
    mongo_uri: str, mongo_db: Database[Document], tmp_path: Path, pki: Pki, new_org: OrgFactory
) -> None:
    trusted = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    with tls_service(
        mongo_uri, mongo_db.name, tmp_path, trusted,
        DNC_TLS_CERT_FILE=pki.server_cert, DNC_TLS_KEY_FILE=pki.server_key,
    ) as service:  # fmt: skip
        org = new_org(entries=1)
        with grpc.secure_channel(service.target, trusted) as channel:
            assert list_code(channel, org.metadata, timeout=5) == grpc.StatusCode.OK
        log = service.process.log()
        assert "(TLS)" in log
        assert "DNC_TLS_CERT_FILE is deprecated: set DNC_GRPC_TLS_CERT_FILE instead" in log
