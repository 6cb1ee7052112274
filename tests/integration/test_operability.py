"""What operators rely on: health, reflection with the real grpcurl, indexes, clean shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo.database import Database

from data_support import Document, OrgFactory
from dnc_service.store.order import LISTING_INDEX, LISTING_INDEX_NAME
from service_support import Service, service_env, start_service
from support import ROOT, grpcurl, health_status


@pytest.mark.parametrize("service", ["", "dnc.v1.DncService"])
def test_health_is_serving(grpc_service: Service, service: str) -> None:
    assert health_status(grpc_service.target, service) == "SERVING"


def test_health_of_an_unknown_service_is_not_found(grpc_service: Service) -> None:
    assert health_status(grpc_service.target, "no.such.Service") == "NOT_FOUND"


def test_grpcurl_lists_services(grpc_service: Service) -> None:
    result = grpcurl("-plaintext", grpc_service.target, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "dnc.v1.DncService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ]


def test_grpcurl_describes_the_service_with_its_comments(grpc_service: Service) -> None:
    result = grpcurl("-plaintext", grpc_service.target, "describe", "dnc.v1.DncService")
    assert result.returncode == 0, result.stderr
    assert (
        "rpc ListDnc ( .dnc.v1.ListDncRequest ) returns ( .dnc.v1.ListDncResponse )"
        in result.stdout
    )
    assert "newest first" in result.stdout
    method = grpcurl("-plaintext", grpc_service.target, "describe", "dnc.v1.DncService.ListDnc")
    assert method.returncode == 0, method.stderr  # load tools (ghz) look methods up by name
    assert "dnc.v1.DncService.ListDnc is a method" in method.stdout
    message = grpcurl("-plaintext", grpc_service.target, "describe", "dnc.v1.ListDncRequest")
    assert "optional int32 page = 1 [" in message.stdout
    assert "at most" in message.stdout
    # The request rules are part of what reflection serves (validate.proto with them).
    assert "(.buf.validate.field) = { int32: { gte: 1 } }" in message.stdout, message.stdout


@pytest.mark.parametrize(
    ("rpc", "comment"),
    [
        ("rpc AddDnc ( .dnc.v1.AddDncRequest ) returns ( .dnc.v1.AddDncResponse )",
         "ALREADY_EXISTS"),
        ("rpc RemoveDnc ( .dnc.v1.RemoveDncRequest ) returns ( .dnc.v1.RemoveDncResponse )",
         "NOT_FOUND"),
        ("rpc BatchAddDnc ( .dnc.v1.BatchAddDncRequest ) returns ( .dnc.v1.BatchAddDncResponse )",
         "up to 1000 numbers"),
        ("rpc CheckDnc ( .dnc.v1.CheckDncRequest ) returns ( .dnc.v1.CheckDncResponse )",
         "before dialing"),
        ("rpc ExportDnc ( .dnc.v1.ExportDncRequest ) returns ( stream .dnc.v1.DncEntry )",
         "however many there are"),
    ],
)  # fmt: skip
def test_grpcurl_describes_the_management_rpcs(
    grpc_service: Service, rpc: str, comment: str
) -> None:
    result = grpcurl("-plaintext", grpc_service.target, "describe", "dnc.v1.DncService")
    assert result.returncode == 0, result.stderr
    described = result.stdout
    assert rpc in described
    # The comment sits right above its rpc.
    assert comment in described[: described.index(rpc)].rsplit("}", 1)[-1]


def test_grpcurl_adds_checks_and_exports(grpc_service: Service, new_org: OrgFactory) -> None:
    org = new_org()
    auth = f"authorization: Bearer {org.token}"
    added = grpcurl(
        "-plaintext", "-H", auth, "-d", '{"phoneNumber": "+1 (212) 555-0900", "type": "cli"}',
        grpc_service.target, "dnc.v1.DncService/AddDnc",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    entry = json.loads(added.stdout)["entry"]
    assert (entry["phoneNumber"], entry["type"]) == ("12125550900", "cli")
    checked = grpcurl(
        "-plaintext", "-H", auth, "-d", '{"phoneNumbers": ["12125550900", "12125550901"]}',
        grpc_service.target, "dnc.v1.DncService/CheckDnc",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    results = json.loads(checked.stdout)["results"]
    assert [result.get("listed", False) for result in results] == [True, False]
    exported = grpcurl(
        "-plaintext", "-H", auth, "-d", "{}", grpc_service.target, "dnc.v1.DncService/ExportDnc"
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["_id"] == entry["_id"]


def test_grpcurl_calls_list_dnc_with_a_bearer_token(
    grpc_service: Service, new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    result = grpcurl(
        "-plaintext", "-H", f"authorization: Bearer {org.token}", "-d", '{"page":1,"limit":2}',
        grpc_service.target, "dnc.v1.DncService/ListDnc",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    # The served descriptors carry json_name, so grpcurl prints the seed's keys.
    assert [entry["_id"] for entry in body["dncList"]] == [str(e["_id"]) for e in org.entries[:2]]
    assert body["dncList"][0]["requestUUID"] == org.entries[0]["requestUUID"]
    assert body["pagination"] == {"total": 3, "page": 1, "limit": 2, "totalPages": 2}


def test_grpcurl_without_a_token_is_unauthenticated(grpc_service: Service) -> None:
    result = grpcurl("-plaintext", "-d", "{}", grpc_service.target, "dnc.v1.DncService/ListDnc")
    assert result.returncode != 0
    assert "Code: Unauthenticated" in result.stdout + result.stderr


def test_the_listing_index_is_ensured_at_start(
    grpc_service: Service, mongo_db: Database[Document]
) -> None:
    indexes = mongo_db.dnc_entries.index_information()
    assert indexes[LISTING_INDEX_NAME]["key"] == LISTING_INDEX


def test_sigterm_turns_health_not_serving_and_exits_zero(
    mongo_uri: str, mongo_db: Database[Document], tmp_path: Path
) -> None:
    service = start_service(service_env(mongo_uri, mongo_db.name), tmp_path / "service.log")
    seen: list[str] = []
    with service.process, grpc.insecure_channel(service.target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=20
        )
        first = next(watch)
        seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(first.status))

        def follow() -> None:
            try:
                for update in watch:
                    seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(update.status))
            except grpc.RpcError:
                pass  # the stream ends when the server stops

        follower = threading.Thread(target=follow)
        follower.start()
        service.process.popen.send_signal(signal.SIGTERM)
        code = service.process.popen.wait(timeout=15)
        follower.join(timeout=5)
    assert code == 0, service.process.log()
    assert seen[0] == "SERVING"
    assert "NOT_SERVING" in seen[1:]
    assert '"message":"stopped"' in service.process.log()


SECRET = "s" * 32


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DNC_JWT_SECRET": "short"}, "DNC_JWT_SECRET must be at least 32 characters"),
        ({"DNC_JWT_SECRET": SECRET, "DNC_METRICS_ADDR": "nonsense"}, "DNC_METRICS_ADDR"),
        ({"DNC_JWT_SECRET": SECRET, "DNC_METRICS_ADDR": "127.0.0.1:99999"}, "DNC_METRICS_ADDR"),
        ({"DNC_JWT_SECRET": SECRET, "DNC_PAGE_TOKEN_KEYS": "short"}, "DNC_PAGE_TOKEN_KEYS"),
        ({"DNC_JWT_PUBLIC_KEY_FILE": str(ROOT / "README.md")}, "DNC_JWT_PUBLIC_KEY_FILE"),
    ],
)
def test_a_bad_setting_stops_the_start_with_a_clear_message(
    env: dict[str, str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dnc_service"],
        env={"PATH": "/usr/bin:/bin", "DNC_GRPC_ADDR": "127.0.0.1:0", **env}, cwd=ROOT,
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "configuration error" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
