"""The management routes through the real gateway and service: every route in the contract's
table, its success envelope exactly, its refusals, and the export whole and in order, or cut."""

from __future__ import annotations

import csv
import http.client
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory, make_entry, make_token, newest_first
from gateway_support import (
    COMPLIANCE_KEYS,
    ENVELOPE_KEYS,
    SEED_ENTRY_KEYS,
    Gateway,
    GatewayFactory,
    Reply,
    error_envelope,
    gateway_env,
    start_gateway,
)
from service_support import Service, service_env, start_service
from toxiproxy import Toxiproxy

ADDED = "Phone number added to DNC successfully"
DELETED = "DNC record deleted successfully"
BATCH_DONE = "DNC batch processed successfully"
CHECKED = "DNC check completed successfully"
BATCH_ID = "64e5f12345abcdef87654321"
REQUEST_UUID = "550e8400-e29b-41d4-a716-446655440000"


def call(
    gateway: Gateway,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    raw: bytes | None = None,
    **headers: str,
) -> Reply:
    """One request; `body` is sent as JSON, `raw` as given."""
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    return gateway.request(path, method=method, headers=sent, body=data, timeout=120)


def success(reply: Reply, message: str) -> Any:
    """The success envelope, exactly: keys in the seed's order; returns `data`."""
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert list(body) == ENVELOPE_KEYS
    assert (body["message"], body["status"], body["code"], body["errorMessage"]) == (
        message,
        True,
        200,
        "",
    )
    return body["data"]


def add(gateway: Gateway, token: str, number: str, **fields: str) -> Reply:
    return call(gateway, "POST", "/api/dnc/add", token, {"phoneNumber": number, **fields})


# --- add ---


def test_add_answers_the_new_entry_in_the_lists_format(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    reply = add(
        gateway,
        org.token,
        "+1 (212) 555-0100",
        batchId=BATCH_ID,
        requestUUID=REQUEST_UUID,
        type="customer_request",
        unknownKey="ignored",
    )
    entry = success(reply, ADDED)
    assert list(entry) == [
        "_id",
        "phoneNumber",
        "type",
        "orgId",
        "batchId",
        "requestUUID",
        "createdAt",
        "requestedAt",
        "addedBy",
    ]
    assert entry["requestedAt"] == entry["createdAt"]  # absent from the request: the add's time
    assert entry["addedBy"] == str(org.user_id)
    assert entry["phoneNumber"] == "12125550100"
    assert (entry["orgId"], entry["batchId"], entry["requestUUID"]) == (
        str(org.org_id),
        BATCH_ID,
        REQUEST_UUID,
    )
    listed = success(gateway.get("/api/dnc/list", org.token), "DNC list fetched successfully")
    assert listed["dncList"] == [entry]


def test_proto_names_work_and_a_number_already_listed_is_409(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    entry = success(
        call(gateway, "POST", "/api/dnc/add", org.token, {"phone_number": "12125550101"}), ADDED
    )
    assert list(entry) == ["_id", "phoneNumber", "orgId", "createdAt", "requestedAt", "addedBy"]
    again = error_envelope(add(gateway, org.token, "+1.212.555.0101"), 409)
    assert again["message"] == "Conflict"
    listed = success(gateway.get("/api/dnc/list", org.token), "DNC list fetched successfully")
    assert listed["pagination"]["total"] == 1


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        (b'{"phoneNumber": "12125550102"', "not valid JSON"),
        (b'["12125550102"]', "must be a JSON object"),
        (b'{"phoneNumber": 12125550102}', "'phoneNumber' must be a string, not a number"),
        (b'{"phoneNumber": "911"}', "phone number"),
        (b'{"phoneNumber": "12125550102", "batchId": "xyz"}', "batch_id"),
        (b'{"phoneNumber": "12125550102", "requestUUID": "not-a-uuid"}', "request_uuid"),
        (b"{}", "phone_number is required"),
    ],
)
def test_add_refuses_bad_bodies_with_400(
    gateway: Gateway, new_org: OrgFactory, raw: bytes, complaint: str
) -> None:
    org = new_org()
    refused = error_envelope(call(gateway, "POST", "/api/dnc/add", org.token, raw=raw), 400)
    assert complaint in refused["errorMessage"]
    listed = success(gateway.get("/api/dnc/list", org.token), "DNC list fetched successfully")
    assert listed["pagination"]["total"] == 0


def test_oversized_bodies_are_413_and_other_media_types_415(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    huge = {"phoneNumbers": ["+1 212 555 0100" + " " * 64] * 20_000}  # > 1 MiB
    too_large = error_envelope(call(gateway, "POST", "/api/dnc/check", org.token, huge), 413)
    assert "1048576" in too_large["errorMessage"]
    form = call(
        gateway, "POST", "/api/dnc/add", org.token, raw=b"phoneNumber=1",
        Content_Type="application/x-www-form-urlencoded",
    )  # fmt: skip
    error_envelope(form, 415)


# --- remove ---


def test_delete_removes_the_entry_and_answers_data_null(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org(entries=2)
    target = str(org.entries[0]["_id"])
    data = success(call(gateway, "DELETE", f"/api/dnc/delete/{target}", org.token), DELETED)
    assert data is None
    listed = success(gateway.get("/api/dnc/list", org.token), "DNC list fetched successfully")
    assert [entry["_id"] for entry in listed["dncList"]] == [str(org.entries[1]["_id"])]
    again = error_envelope(call(gateway, "DELETE", f"/api/dnc/delete/{target}", org.token), 404)
    assert again["message"] == "Not found"


def test_another_organizations_entry_is_404_and_stays(
    gateway: Gateway, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    owner, other = new_org(entries=1), new_org()
    target = owner.entries[0]["_id"]
    error_envelope(call(gateway, "DELETE", f"/api/dnc/delete/{target}", other.token), 404)
    error_envelope(call(gateway, "DELETE", f"/api/dnc/delete/{ObjectId()}", other.token), 404)
    assert mongo_db.dnc_entries.count_documents({"_id": target}) == 1
    error_envelope(call(gateway, "DELETE", "/api/dnc/delete/not-hex", other.token), 400)


def test_wrong_methods_are_405_with_allow(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    on_delete = call(gateway, "GET", f"/api/dnc/delete/{ObjectId()}", org.token)
    error_envelope(on_delete, 405)
    assert on_delete.headers["Allow"] == "DELETE"
    on_add = call(gateway, "GET", "/api/dnc/add", org.token)
    error_envelope(on_add, 405)
    assert on_add.headers["Allow"] == "POST"


# --- batch add and check ---


def test_batch_add_answers_each_item_and_is_idempotent(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    items = [
        {"phoneNumber": "12125550110", "type": "customer_request"},
        {"phoneNumber": "letters"},
        {"phoneNumber": "+1 212 555 0110"},
        {"phoneNumber": "+44 20 7946 0958", "batchId": BATCH_ID},
    ]
    first = success(
        call(gateway, "POST", "/api/dnc/batch-add", org.token, {"entries": items}), BATCH_DONE
    )
    results = first["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, "BATCH_ADD_STATUS_ADDED"),
        (1, "BATCH_ADD_STATUS_INVALID"),
        (2, "BATCH_ADD_STATUS_ALREADY_LISTED"),
        (3, "BATCH_ADD_STATUS_ADDED"),
    ]
    assert list(results[0]) == ["index", "phoneE164", "status", "entryId"]
    assert results[0]["phoneE164"] == "+12125550110"
    assert results[2]["entryId"] == results[0]["entryId"]
    assert list(results[1]) == ["index", "status", "error"]
    assert results[1]["error"]
    again = success(
        call(gateway, "POST", "/api/dnc/batch-add", org.token, {"entries": items}), BATCH_DONE
    )
    assert [r["status"] for r in again["results"]] == [
        "BATCH_ADD_STATUS_ALREADY_LISTED",
        "BATCH_ADD_STATUS_INVALID",
        "BATCH_ADD_STATUS_ALREADY_LISTED",
        "BATCH_ADD_STATUS_ALREADY_LISTED",
    ]
    listed = success(gateway.get("/api/dnc/list", org.token), "DNC list fetched successfully")
    assert listed["pagination"]["total"] == 2


def test_check_answers_in_request_order(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    entry = success(add(gateway, org.token, "12125550120", type="litigator"), ADDED)
    asked = ["+1 (212) 555-0120", "12125550121", "911"]
    results = success(
        call(gateway, "POST", "/api/dnc/check", org.token, {"phoneNumbers": asked}), CHECKED
    )["results"]
    assert results[0] == {
        "input": "+1 (212) 555-0120",
        "phoneE164": "+12125550120",
        "listed": True,
        "entryId": entry["_id"],
        "type": "litigator",
        "createdAt": entry["createdAt"],
    }
    assert results[1] == {"input": "12125550121", "phoneE164": "+12125550121", "listed": False}
    assert (results[2]["input"], results[2]["listed"]) == ("911", False)
    assert results[2]["error"]


@pytest.mark.parametrize(
    ("path", "body", "complaint"),
    [
        ("/api/dnc/check", {"phoneNumbers": "12125550100"}, "must be an array, not a string"),
        ("/api/dnc/check", {"phoneNumbers": 5}, "must be an array, not a number"),
        ("/api/dnc/check", {"phoneNumbers": [None]}, "must not be null"),
        ("/api/dnc/check", {"phoneNumbers": []}, "phone_numbers"),
        ("/api/dnc/check", {"phoneNumbers": ["12125550100"] * 1001}, "phone_numbers"),
        ("/api/dnc/batch-add", {"entries": {"phoneNumber": "1"}}, "must be an array"),
        ("/api/dnc/batch-add", {"entries": ["12125550100"]}, "must be an object"),
        ("/api/dnc/batch-add", {"entries": [{"phoneNumber": "12125550100"}] * 1001}, "entries"),
    ],
)
def test_check_and_batch_add_refuse_bad_bodies_and_too_many_items(
    gateway: Gateway, new_org: OrgFactory, path: str, body: Any, complaint: str
) -> None:
    org = new_org()
    assert (
        complaint
        in error_envelope(call(gateway, "POST", path, org.token, body), 400)["errorMessage"]
    )
    listed = success(gateway.get("/api/dnc/list", org.token), "DNC list fetched successfully")
    assert listed["pagination"]["total"] == 0


def test_a_batch_of_1000_fits(large_stack: Stack) -> None:
    org = large_stack.org(0)
    gateway = large_stack.gateway
    items = [
        {"phoneNumber": f"+1 212 555 {n:04d}", "batchId": BATCH_ID, "requestUUID": REQUEST_UUID,
         "type": "x" * 64}
        for n in range(1000)
    ]  # fmt: skip
    results = success(
        call(gateway, "POST", "/api/dnc/batch-add", org.token, {"entries": items}), BATCH_DONE
    )["results"]
    assert [r["status"] for r in results] == ["BATCH_ADD_STATUS_ADDED"] * 1000
    numbers = [item["phoneNumber"] for item in items]
    checked = success(
        call(gateway, "POST", "/api/dnc/check", org.token, {"phoneNumbers": numbers}), CHECKED
    )["results"]
    assert all(result["listed"] for result in checked)


# --- authentication and the write scope ---


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/dnc/add", {"phoneNumber": "12125550130"}),
        ("DELETE", f"/api/dnc/delete/{ObjectId()}", None),
        ("POST", "/api/dnc/batch-add", {"entries": [{"phoneNumber": "12125550130"}]}),
        ("POST", "/api/dnc/check", {"phoneNumbers": ["12125550130"]}),
        ("GET", "/api/dnc/export", None),
    ],
)
def test_every_route_needs_a_token(gateway: Gateway, method: str, path: str, body: Any) -> None:
    for token in (None, "not-a-jwt"):
        refused = call(gateway, method, path, token, body)
        error_envelope(refused, 401)
        assert refused.headers["WWW-Authenticate"] == "Bearer"


@pytest.fixture
def scoped(
    mongo_uri: str,
    mongo_db: Database[Document],
    tmp_path: Path,
    gateway_factory: GatewayFactory,
) -> Iterator[Gateway]:
    """A service that requires the `dnc:write` scope for writes, and a gateway in front of it."""
    env = service_env(mongo_uri, mongo_db.name, DNC_WRITE_SCOPE="dnc:write")
    with start_service(env, tmp_path / "service.log") as service:
        yield gateway_factory(service.target)


def test_writes_need_the_write_scope_when_one_is_set(scoped: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    reader = org.token
    writer = make_token(str(org.user_id), scope="openid dnc:write")
    target = str(org.entries[0]["_id"])
    for method, path, body in [
        ("POST", "/api/dnc/add", {"phoneNumber": "12125550140"}),
        ("DELETE", f"/api/dnc/delete/{target}", None),
        ("POST", "/api/dnc/batch-add", {"entries": [{"phoneNumber": "12125550141"}]}),
    ]:
        refused = error_envelope(call(scoped, method, path, reader, body), 403)
        assert "dnc:write" in refused["errorMessage"]
    check = {"phoneNumbers": ["12125550140"]}
    assert success(call(scoped, "POST", "/api/dnc/check", reader, check), CHECKED)
    success(add(scoped, writer, "12125550140"), ADDED)
    success(call(scoped, "DELETE", f"/api/dnc/delete/{target}", writer), DELETED)


# --- export, and the big writes: a database of their own ---

LARGE = 20_000


@dataclass
class Stack:
    """A service and gateway on a database of their own, so that the large organizations here
    slow no other test (FerretDB v1 scans a whole collection for every query)."""

    db: Database[Document]
    service: Service
    gateway: Gateway

    def org(self, entries: int) -> Org:
        org_id = ObjectId()
        user_id = self.db.users.insert_one({"orgId": org_id}).inserted_id
        docs = [
            make_entry(org_id, n, BASE_TIME - timedelta(seconds=n // 3)) for n in range(entries)
        ]
        if docs:
            self.db.dnc_entries.insert_many(docs)
        return Org(org_id, user_id, make_token(str(user_id)), newest_first(docs))


@pytest.fixture(scope="module")
def large_stack(
    mongo_uri: str, mongo_db: Database[Document], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    db = mongo_db.client[f"{mongo_db.name}_gwlarge"]
    logs = tmp_path_factory.mktemp("gwlarge")
    try:
        env = service_env(mongo_uri, db.name)
        with (
            start_service(env, logs / "service.log") as service,
            start_gateway(gateway_env(service.target), logs / "gateway.log") as gateway,
        ):
            yield Stack(db, service, gateway)
    finally:
        mongo_db.client.drop_database(db.name)


@pytest.fixture(scope="module")
def large_org(large_stack: Stack) -> tuple[str, list[Document]]:
    """An organization with LARGE entries (three share each createdAt), newest first."""
    org = large_stack.org(LARGE)
    return org.token, org.entries


def test_export_streams_every_entry_as_ndjson_newest_first(
    large_stack: Stack, large_org: tuple[str, list[Document]]
) -> None:
    gateway = large_stack.gateway
    token, docs = large_org
    reply = call(gateway, "GET", "/api/dnc/export", token)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/x-ndjson"
    lines = reply.body.splitlines()
    assert len(lines) == LARGE
    entries = [json.loads(line) for line in lines]
    assert [entry["_id"] for entry in entries] == [str(doc["_id"]) for doc in docs]
    assert list(entries[0]) == SEED_ENTRY_KEYS
    assert entries[0]["phoneNumber"] == docs[0]["phoneNumber"]


def test_export_as_csv_has_a_header_row_and_every_entry(
    large_stack: Stack, large_org: tuple[str, list[Document]]
) -> None:
    gateway = large_stack.gateway
    token, docs = large_org
    reply = call(gateway, "GET", "/api/dnc/export", token, Accept="text/csv")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(reply.body.decode())))
    assert rows[0] == SEED_ENTRY_KEYS + COMPLIANCE_KEYS  # new columns after the seed's
    assert len(rows) == LARGE + 1
    assert [row[0] for row in rows[1:]] == [str(doc["_id"]) for doc in docs]
    assert rows[1][1] == docs[0]["phoneNumber"]


def test_export_takes_the_search_and_the_lists_entry_format(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org(entries=30)
    reply = call(gateway, "GET", "/api/dnc/export?search=555-001", org.token)
    entries = [json.loads(line) for line in reply.body.splitlines()]
    assert {entry["phoneNumber"] for entry in entries} == {f"121255500{n}" for n in range(10, 20)}
    listed = success(
        gateway.get("/api/dnc/list?search=555-001&limit=100", org.token),
        "DNC list fetched successfully",
    )
    assert entries == listed["dncList"]  # the same entries, in the same order and format
    empty = call(gateway, "GET", "/api/dnc/export?search=nothing-matches", org.token)
    assert (empty.status, empty.body) == (200, b"")


def test_a_bad_export_is_refused_before_streaming(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=3)
    path = "/api/dnc/export?search=" + "x" * 200
    for accept in ("application/x-ndjson", "text/csv"):
        bad = error_envelope(call(gateway, "GET", path, org.token, Accept=accept), 400)
        assert "search" in bad["errorMessage"]
    twice = call(gateway, "GET", "/api/dnc/export?search=a&search=b", org.token)
    error_envelope(twice, 400)


@pytest.fixture
def throttled(
    large_stack: Stack, tmp_path: Path, gateway_factory: GatewayFactory
) -> Iterator[tuple[Gateway, Toxiproxy]]:
    """A gateway whose channel to the service runs through toxiproxy at 64 KB/s."""
    proxy = Toxiproxy(large_stack.service.target, tmp_path / "toxiproxy.log")
    try:
        proxy.add_toxic("slow", "bandwidth", rate=64)
        yield gateway_factory(proxy.listen), proxy
    finally:
        proxy.stop()


@pytest.mark.parametrize("accept", ["application/x-ndjson", "text/csv"])
def test_an_export_cut_mid_stream_never_looks_complete(
    throttled: tuple[Gateway, Toxiproxy], large_stack: Stack, accept: str
) -> None:
    gateway, proxy = throttled
    org = large_stack.org(2000)  # ~700 KB: ten seconds at 64 KB/s, cut long before
    address = urlsplit(gateway.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.request(
            "GET", "/api/dnc/export",
            headers={"Authorization": f"Bearer {org.token}", "Accept": accept},
        )  # fmt: skip
        response = connection.getresponse()
        assert response.status == 200
        first = response.readline()
        assert first
        proxy.set_enabled(False)  # the service's connection is cut mid-stream
        if accept == "text/csv":
            with pytest.raises(http.client.IncompleteRead):
                response.read()
            return
        lines = [first, *response.read().splitlines()]
    finally:
        connection.close()
    assert len(lines) < 2000
    entries = [json.loads(line) for line in lines[:-1]]
    assert [entry["_id"] for entry in entries] == [
        str(doc["_id"]) for doc in org.entries[: len(entries)]
    ]
    last = json.loads(lines[-1])
    assert list(last) == ENVELOPE_KEYS
    assert (last["status"], last["code"], last["data"]) == (False, 503, None)
