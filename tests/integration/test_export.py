"""ExportDnc: every matching entry, newest first, streamed with flat memory; bounded by its own
timeout (DNC_EXPORT_TIMEOUT_SECONDS), not the unary one; logged and counted like unary calls."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import (
    BASE_TIME,
    Document,
    Org,
    OrgFactory,
    make_entry,
    seed_org,
)
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import Gateway
from service_support import Service, service_env, start_service
from support import wait_until

EXPORT = "/dnc.v1.DncService/ExportDnc"
LARGE = 20_000


@pytest.fixture(scope="module")
def large_db(mongo_db: Database[Document]) -> Iterator[Database[Document]]:
    """A database of its own for the large export, so its 20,000 rows slow no other test
    (FerretDB scans in memory); dropped at the end of the module."""
    db = mongo_db.client[f"{mongo_db.name}_export"]
    try:
        yield db
    finally:
        mongo_db.client.drop_database(db.name)


@pytest.fixture(scope="module")
def large_org(large_db: Database[Document]) -> Org:
    """An organization with 20,000 entries, inserted once for the module (pairs share a
    createdAt, so the _id tie-break is exercised), next to a small organization."""
    for size in (3, LARGE):
        org_id = ObjectId()
        org = seed_org(
            large_db,
            [make_entry(org_id, n, BASE_TIME - timedelta(seconds=n // 2)) for n in range(size)],
            org_id,
        )
    return org


@contextmanager
def stub_for(
    mongo_uri: str, db: Database[Document], log_path: Path, **overrides: str
) -> Iterator[dnc_pb2_grpc.DncServiceStub]:
    """A service of its own on `db` (stopped on leaving), and a stub calling it."""
    env = service_env(mongo_uri, db.name, **overrides)
    with start_service(env, log_path) as service, grpc.insecure_channel(service.target) as channel:
        yield dnc_pb2_grpc.DncServiceStub(channel)


def export(
    stub: dnc_pb2_grpc.DncServiceStub,
    metadata: tuple[tuple[str, str], ...],
    search: str = "",
    timeout: float = 120,
) -> list[dnc_pb2.DncEntry]:
    request = dnc_pb2.ExportDncRequest(search=search)
    return list(stub.ExportDnc(request, metadata=metadata, timeout=timeout))


def export_batches(
    stub: dnc_pb2_grpc.DncServiceStub, metadata: tuple[tuple[str, str], ...], search: str = ""
) -> list[list[dnc_pb2.DncEntry]]:
    request = dnc_pb2.ExportDncBatchesRequest(search=search)
    return [list(batch.entries) for batch in stub.ExportDncBatches(request, metadata=metadata)]


def test_a_large_export_streams_every_entry_newest_first(
    mongo_uri: str, large_db: Database[Document], large_org: Org, tmp_path: Path
) -> None:
    with stub_for(mongo_uri, large_db, tmp_path / "service.log") as stub:
        entries = export(stub, large_org.metadata)
        batches = export_batches(stub, large_org.metadata)
    assert len(entries) == LARGE
    # ExportDncBatches: the same entries in the same order, a database batch to a message.
    assert [entry for batch in batches for entry in batch] == entries
    assert max(len(batch) for batch in batches) == 500
    assert [entry.id for entry in entries] == [str(doc["_id"]) for doc in large_org.entries]
    assert {entry.org_id for entry in entries} == {str(large_org.org_id)}
    first = large_org.entries[0]
    assert (entries[0].phone_number, entries[0].request_uuid) == (
        first["phoneNumber"],
        first["requestUUID"],
    )


@pytest.mark.parametrize("search", ["", "0042", "+1 (212) 555", "customer", "nothing-matches"])
def test_the_export_matches_what_the_listing_finds(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, search: str
) -> None:
    org = new_org(entries=60)
    listed: list[dnc_pb2.DncEntry] = []
    for page in (1, 2):
        request = dnc_pb2.ListDncRequest(page=page, limit=100, search=search)
        listed += stub.ListDnc(request, metadata=org.metadata, timeout=10).dnc_list
    assert export(stub, org.metadata, search) == listed
    assert [entry for batch in export_batches(stub, org.metadata, search) for entry in batch] == (
        listed
    )


def test_a_bad_search_is_invalid_argument(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    for search in ("x" * 129, "a\x00b"):
        with pytest.raises(grpc.RpcError) as raised:
            export(stub, org.metadata, search)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_export_needs_a_token(stub: dnc_pb2_grpc.DncServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        export(stub, ())
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_export_is_logged_and_counted(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=7)
    request_id = str(uuid.uuid4())
    metadata = (*org.metadata, ("x-request-id", request_id))
    key = ("dnc_grpc_requests_total", (("code", "OK"), ("method", EXPORT)))
    before = grpc_service.metrics().get(key, 0.0)
    assert len(export(stub, metadata)) == 7
    wait_until(lambda: len(grpc_service.process.json_lines(request_id=request_id)) == 1, timeout=5)
    [line] = grpc_service.process.json_lines(request_id=request_id)
    assert (line["method"], line["code"], line["exported"]) == (EXPORT, "OK", 7)
    assert line["org_id"] == str(org.org_id)
    assert grpc_service.metrics()[key] == before + 1


def test_an_export_outlives_the_unary_timeout_but_not_its_own(
    mongo_uri: str, large_db: Database[Document], large_org: Org, tmp_path: Path
) -> None:
    unary = {"DNC_REQUEST_TIMEOUT_SECONDS": "0.05"}
    with stub_for(
        mongo_uri, large_db, tmp_path / "long.log", DNC_EXPORT_TIMEOUT_SECONDS="600", **unary
    ) as stub:
        assert len(export(stub, large_org.metadata)) == LARGE
    with stub_for(
        mongo_uri, large_db, tmp_path / "short.log", DNC_EXPORT_TIMEOUT_SECONDS="0.05", **unary
    ) as stub:
        with pytest.raises(grpc.RpcError) as raised:
            export(stub, large_org.metadata)
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


# Through the gateway: what a spreadsheet or a JavaScript consumer would make of hostile cells.
HOSTILE_CELLS = {
    "+1-1": "'+1-1",
    "+(1)-(2)": "'+(1)-(2)",
    "+1 (212) 555-1234": "'+1 (212) 555-1234",
    "-2+3": "'-2+3",
    '=HYPERLINK("x")': '\'=HYPERLINK("x")',
    "@SUM(A1)": "'@SUM(A1)",
    "\tx": "'\tx",
    "\x00=cmd": "'=cmd",  # the NUL goes first, and the guard still sees the formula
    "a\x00b": "ab",
    "+12125550100": "+12125550100",  # the forms the service writes stay numbers
    "12125550100": "12125550100",
}


def test_a_csv_export_is_a_safe_attachment(gateway: Gateway, new_org: OrgFactory) -> None:
    org_id = ObjectId()
    entries = [
        make_entry(org_id, n, BASE_TIME - timedelta(seconds=n), transcription=text)
        for n, text in enumerate(HOSTILE_CELLS)
    ]
    org = new_org(entries=entries, org_id=org_id)
    reply = gateway.get("/api/dnc/export", org.token, Accept="text/csv")
    assert reply.status == 200
    assert reply.headers["Content-Disposition"] == 'attachment; filename="dnc-export.csv"'
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert b"\x00" not in reply.body
    rows = list(csv.DictReader(io.StringIO(reply.body.decode())))
    assert [row["transcription"] for row in rows] == list(HOSTILE_CELLS.values())


def test_ndjson_escapes_the_javascript_line_separators(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    """U+2028 and U+2029 are valid in JSON but end a line for JavaScript and some readers."""
    text = "one\u2028two\u2029three"
    org_id = ObjectId()
    org = new_org(entries=[make_entry(org_id, 1, BASE_TIME, transcription=text)], org_id=org_id)
    reply = gateway.get("/api/dnc/export", org.token)
    assert reply.status == 200
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Disposition" not in reply.headers
    assert "\u2028".encode() not in reply.body
    assert "\u2029".encode() not in reply.body
    assert b"one\\u2028two\\u2029three" in reply.body
    [line] = reply.body.splitlines()
    assert json.loads(line)["transcription"] == text
