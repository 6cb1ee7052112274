"""The gateway's own limits and refusals, through the real processes: message size, duplicate
credentials, zero deadlines, and what is checked before authentication."""

from __future__ import annotations

import http.client
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory, make_entry
from gateway_support import Gateway, Reply, error_envelope
from service_support import Service
from support import wait_until

LIST = "/api/dnc/list"
TRANSCRIPT_BYTES = 64 * 1024


def test_a_full_page_of_long_transcripts_passes(
    gateway: Gateway, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    """100 entries x 64 KiB is past gRPC's 4 MiB default for a received message."""
    org_id = ObjectId()
    entries = [
        make_entry(org_id, n, BASE_TIME - timedelta(minutes=n), transcription=f"{n:05d}" * 13108)
        for n in range(100)
    ]
    assert all(len(entry["transcription"]) >= TRANSCRIPT_BYTES for entry in entries)
    try:
        org = new_org(entries=entries, org_id=org_id)
        reply = gateway.get(f"{LIST}?limit=100", org.token)
    finally:
        # FerretDB reads whole collections: 6.5 MB left behind would slow every later test.
        mongo_db.dnc_entries.delete_many({"orgId": org_id})
    assert reply.status == 200, reply.body[:300]
    page = reply.json()["data"]["dncList"]
    assert len(page) == 100
    assert [entry["transcription"] for entry in page] == [e["transcription"] for e in org.entries]


def send(gateway: Gateway, path: str, headers: list[tuple[str, str]]) -> Reply:
    """A GET with `headers` exactly as listed, repeated names included."""
    address = urlsplit(gateway.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def test_two_authorization_headers_are_refused(gateway: Gateway, new_org: OrgFactory) -> None:
    """The service refuses repeated metadata; the gateway must not pick one for it."""
    org = new_org(entries=1)
    for second in (f"Bearer {org.token}", "Bearer someone-else"):
        headers = [("Authorization", f"Bearer {org.token}"), ("Authorization", second)]
        reply = send(gateway, LIST, headers)
        body = error_envelope(reply, 401)
        assert body["errorMessage"] == "more than one Authorization header"
        assert reply.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "query", ["", "?page=x", "?limit=1.5", "?page=1&page=2", "?limit=99999999999999999999"]
)
def test_without_credentials_it_is_401_before_any_validation(gateway: Gateway, query: str) -> None:
    for headers in ([], [("Authorization", "")]):
        body = error_envelope(send(gateway, LIST + query, headers), 401)
        assert "missing bearer token" in body["errorMessage"]


def test_type_errors_are_found_by_the_gateway_range_errors_by_the_service(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    """With some credentials, the gateway refuses what the field's type cannot hold (without
    checking the token); bounds are the service's, after it has authenticated the caller."""
    org = new_org()
    bad_token = [("Authorization", "Bearer not-a-jwt")]
    good_token = [("Authorization", f"Bearer {org.token}")]
    assert send(gateway, f"{LIST}?page=x", bad_token).status == 400  # a type error
    assert send(gateway, f"{LIST}?page=0", bad_token).status == 401  # a range error: auth first
    assert send(gateway, f"{LIST}?page=0", good_token).status == 400


@pytest.mark.parametrize("timeout", ["0n", "0S", "999u", "999999n"])
def test_a_deadline_under_a_millisecond_is_504_without_a_call(
    gateway: Gateway, grpc_service: Service, new_org: OrgFactory, timeout: str
) -> None:
    org = new_org(entries=1)
    refused_id, later_id = f"zero-{timeout}-{org.org_id}", f"after-{timeout}-{org.org_id}"
    for _ in range(20):
        reply = gateway.get(LIST, org.token, Grpc_Timeout=timeout, X_Request_Id=refused_id)
        body = error_envelope(reply, 504)
        assert body["message"] == "Gateway timeout"
    assert gateway.get(LIST, org.token, X_Request_Id=later_id).status == 200
    wait_until(lambda: bool(grpc_service.process.json_lines(request_id=later_id)), timeout=10)
    assert grpc_service.process.json_lines(request_id=refused_id) == []  # never called
    assert "Traceback" not in gateway.process.log()


def test_a_one_millisecond_deadline_ends_cleanly(gateway: Gateway, new_org: OrgFactory) -> None:
    """Too short for the service, but a real call: 504 (or 200), never a traceback."""
    org = new_org(entries=1)
    for _ in range(60):
        assert gateway.get(LIST, org.token, Grpc_Timeout="1m").status in (200, 504)
    assert "Traceback" not in gateway.process.log()
    assert "ExecuteBatchError" not in gateway.process.log()
