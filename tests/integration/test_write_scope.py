"""DNC_WRITE_SCOPE: when set, writes need it in the token's `scope`; reads never do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from pymongo.database import Database

from data_support import Document, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from management_support import audit_of, entries_of, import_rows, rpc_error, scoped
from service_support import Service, service_env, start_service
from support import Process

SCOPE = "dnc:write"


OPEN_WRITES = "any user of the organization may write (DNC_WRITE_SCOPE unset or empty)"


@pytest.fixture(scope="module")
def scoped_service(
    mongo_uri: str, mongo_db: Database[Document], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A service of the session's database that requires the write scope."""
    env = service_env(mongo_uri, mongo_db.name, DNC_WRITE_SCOPE=SCOPE)
    log_path = tmp_path_factory.mktemp("scoped") / "service.log"
    with start_service(env, log_path) as service:
        yield service


@pytest.fixture(scope="module")
def scoped_stub(scoped_service: Service) -> Iterator[dnc_pb2_grpc.DncServiceStub]:
    with grpc.insecure_channel(scoped_service.target) as channel:
        yield dnc_pb2_grpc.DncServiceStub(channel)


def writes(entry_id: str) -> list[tuple[str, object]]:
    return [
        ("AddDnc", dnc_pb2.AddDncRequest(phone_number="12125550600")),
        ("RemoveDnc", dnc_pb2.RemoveDncRequest(id=entry_id)),
        ("BatchAddDnc", dnc_pb2.BatchAddDncRequest(
            entries=[dnc_pb2.AddDncRequest(phone_number="12125550601")]
        )),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "scope",
    [
        None,
        "",
        "dnc:read",
        "dnc:writer",
        "openid dnc:read",
        # RFC 6749 separates scopes by one space (%x20) only (was: any Unicode whitespace).
        f"openid\u00a0{SCOPE}",
        f"openid\t{SCOPE}",
        f"openid\n{SCOPE}",
        f"dnc:read\u2003{SCOPE}",
        f"{SCOPE}\u3000",
    ],
)
def test_writes_without_the_scope_are_denied_and_change_nothing(
    scoped_stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    scope: str | None,
) -> None:
    org = new_org(entries=1)
    before = entries_of(mongo_db, org)
    for method, request in writes(str(org.entries[0]["_id"])):
        error = rpc_error(getattr(scoped_stub, method), request, metadata=scoped(org, scope))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, method
        assert SCOPE in (error.details() or "")
    assert entries_of(mongo_db, org) == before
    assert audit_of(mongo_db, org) == []


def test_bad_input_without_the_scope_is_still_denied(
    scoped_stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    error = rpc_error(
        scoped_stub.AddDnc, dnc_pb2.AddDncRequest(phone_number="911"), metadata=scoped(org, None)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # the scope is checked first


@pytest.mark.parametrize("scope", [SCOPE, f"openid {SCOPE} profile", ["openid", SCOPE]])
def test_writes_with_the_scope_succeed(
    scoped_stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    scope: str | list[str],
) -> None:
    org = new_org(entries=1)
    metadata = scoped(org, scope)
    for method, request in writes(str(org.entries[0]["_id"])):
        getattr(scoped_stub, method)(request, metadata=metadata, timeout=10)
    assert {doc.get("phoneE164") for doc in entries_of(mongo_db, org)} == {
        "+12125550600",
        "+12125550601",
    }
    assert [record["action"] for record in audit_of(mongo_db, org)] == ["add", "remove", "add"]


def test_reads_need_no_scope(scoped_stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory) -> None:
    org = new_org(entries=2)
    metadata = scoped(org, None)
    listed = scoped_stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=metadata, timeout=10)
    assert len(listed.dnc_list) == 2
    check = dnc_pb2.CheckDncRequest(phone_numbers=[org.entries[0]["phoneNumber"]])
    assert scoped_stub.CheckDnc(check, metadata=metadata, timeout=10).results[0].error == ""
    exported = scoped_stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=metadata, timeout=10)
    assert len(list(exported)) == 2


def test_without_a_configured_scope_any_user_of_the_org_writes(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    for method, request in writes(str(org.entries[0]["_id"])):
        getattr(stub, method)(request, metadata=scoped(org, None), timeout=10)
    # Added one, removed the seeded one, added another.
    assert {doc.get("phoneE164") for doc in entries_of(mongo_db, org)} == {
        "+12125550600",
        "+12125550601",
    }


def test_an_import_needs_the_scope_even_for_a_dry_run(
    scoped_stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    for dry_run in (False, True):
        with pytest.raises(grpc.RpcError) as raised:
            import_rows(scoped_stub, scoped(org, "dnc:read"), [["12125550602"]], dry_run=dry_run)
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert entries_of(mongo_db, org) == []
    assert audit_of(mongo_db, org) == []
    response = import_rows(scoped_stub, scoped(org, SCOPE), [["12125550602"]])
    assert response.added == 1
    assert [record["action"] for record in audit_of(mongo_db, org)] == ["add"]


def test_the_write_policy_is_logged_at_start(
    scoped_service: Service, grpc_service: Service
) -> None:
    """Was: nothing at start said whether writes were open to every user of an organization."""
    [scoped_line] = scoped_service.process.json_lines(write_scope=SCOPE)
    assert scoped_line["message"] == f"writes need scope '{SCOPE}' in the bearer token"
    assert scoped_line["level"] == "INFO"
    [open_line] = grpc_service.process.json_lines(write_scope=None, message=OPEN_WRITES)
    assert open_line["level"] == "INFO"


def test_a_blank_write_scope_is_unset_and_says_so(
    mongo_uri: str,
    mongo_db: Database[Document],
    tmp_path: Path,
    new_org: OrgFactory,
) -> None:
    env = service_env(mongo_uri, mongo_db.name, DNC_WRITE_SCOPE="  ")
    with start_service(env, tmp_path / "service.log") as service:
        assert service.process.json_lines(message=OPEN_WRITES)
        with grpc.insecure_channel(service.target) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            org = new_org()
            request = dnc_pb2.AddDncRequest(phone_number="12125550602")
            stub.AddDnc(request, metadata=scoped(org, None), timeout=10)
    assert len(entries_of(mongo_db, org)) == 1


def test_a_write_scope_that_is_no_scope_token_stops_the_start(
    mongo_uri: str, mongo_db: Database[Document], tmp_path: Path
) -> None:
    """With a space in it, no token's scope could ever match: every write would be denied."""
    env = service_env(mongo_uri, mongo_db.name, DNC_WRITE_SCOPE="dnc write")
    process = Process("dnc_service", env, tmp_path / "service.log")
    assert process.popen.wait(timeout=30) == 2
    assert "DNC_WRITE_SCOPE" in process.log()
    assert "Traceback" not in process.log()
