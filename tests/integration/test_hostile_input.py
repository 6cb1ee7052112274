"""Hostile input through the real stack: regex and operator injection are literal, ReDoS shapes are
fast, and oversized, malformed or trickled requests get the envelope (4xx), never a 5xx or hang."""

from __future__ import annotations

import http.client
import select
import socket
import time
import uuid
from urllib.parse import quote, urlsplit

import grpc
import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_common.wire import REQUEST_ID_KEY
from gateway_support import (
    Gateway,
    GatewayFactory,
    assert_envelope,
    error_envelope,
    parse_reply,
)
from management_support import audit_of
from service_support import Service
from support import wait_until

REDOS_SHAPES = [
    "(a+)+$",
    "(a|aa)+$",
    "(.*a){20}",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "a" * 100 + "!",
    "(x+x+)+y",
    "\\\\" * 60,
]
INJECTIONS = ['{"$gt": ""}', "$where", "{$ne: null}", ".*", "'; db.dropDatabase(); '", "[^a]*"]


@pytest.mark.parametrize("search", REDOS_SHAPES + INJECTIONS)
def test_hostile_searches_are_literal_and_fast(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, search: str
) -> None:
    org_id = ObjectId()
    literal = make_entry(org_id, 1, BASE_TIME, type=search)  # holds the text itself
    other = make_entry(org_id, 2, BASE_TIME, type="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")
    org = new_org(entries=[literal, other], org_id=org_id)
    started = time.monotonic()
    response = stub.ListDnc(
        dnc_pb2.ListDncRequest(search=search), metadata=org.metadata, timeout=10
    )
    assert time.monotonic() - started < 5
    assert [entry.id for entry in response.dnc_list] == [str(literal["_id"])]


def raw_request(gateway: Gateway, head: bytes) -> bytes:
    """Send bytes as they are, to go past what HTTP client libraries would refuse to send;
    read until the gateway closes the connection."""
    url = urlsplit(gateway.url)
    received = b""
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(head)
        while chunk := connection.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        # A request line far past the server's 8 KiB limit.
        (b"GET /api/dnc/list?search=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        # One header far past it (the parser's message would quote the token).
        (
            b"GET /api/dnc/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + b"secret" * 4000
            + b"\r\n\r\n",
            431,
        ),
        # Thousands of headers.
        (b"GET /api/dnc/list HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: 1\r\n" * 5000 + b"\r\n", 431),
        # Not HTTP at all.
        (b"\x16\x03\x01 hello\r\n\r\n", 400),
    ],
)
def test_oversized_or_malformed_requests_get_the_envelope(
    gateway: Gateway, request_head: bytes, status: int
) -> None:
    body = assert_envelope(parse_reply(raw_request(gateway, request_head)), status)
    assert body["errorMessage"]
    assert gateway.health() == 200  # and the gateway carries on
    log = gateway.process.log()
    assert "Traceback" not in log
    assert "secretsecret" not in log  # the refused header is not quoted in the log


def test_a_trickled_request_head_is_cut_off(
    gateway_factory: GatewayFactory, grpc_service: Service
) -> None:
    """One header line every 0.1 s never ends the head: a 408 after the header timeout."""
    gateway = gateway_factory(grpc_service.target, DNC_GATEWAY_HEADER_TIMEOUT_SECONDS="1")
    url = urlsplit(gateway.url)
    started = time.monotonic()
    received = b""
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(b"GET /api/dnc/list HTTP/1.1\r\nHost: x\r\n")
        for n in range(50):  # at most 5 s of trickling
            if select.select([connection], [], [], 0.1)[0]:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
            else:
                connection.sendall(b"X-Trickle-%d: 1\r\n" % n)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3
    body = assert_envelope(parse_reply(received), 408)
    assert "1 seconds" in body["errorMessage"]


def test_a_silent_connection_is_closed_and_an_idle_keepalive_one_is_not(
    gateway_factory: GatewayFactory, grpc_service: Service
) -> None:
    gateway = gateway_factory(grpc_service.target, DNC_GATEWAY_HEADER_TIMEOUT_SECONDS="1")
    url = urlsplit(gateway.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as silent:
        started = time.monotonic()
        assert silent.recv(1) == b""  # closed without a word: nothing was asked
        assert 0.9 < time.monotonic() - started < 3
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().read()
        assert connection.sock is not None
        # Idle between requests for longer than the header timeout: still open.
        assert select.select([connection.sock], [], [], 1.5)[0] == []
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_a_long_search_within_the_line_limit_is_the_envelope_400(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    body = error_envelope(gateway.get(f"/api/dnc/list?search={quote('x' * 5000)}", org.token), 400)
    assert body["errorMessage"] == "search must be at most 128 characters, got 5000"


LIST_DNC, HEALTH_CHECK = "/dnc.v1.DncService/ListDnc", "/grpc.health.v1.Health/Check"
TRUNCATED = dnc_pb2.ListDncRequest(search="abc", limit=5).SerializeToString()[:-1]
NOT_A_TAG = b"\xff\xff\xff\xff"


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        (LIST_DNC, bytes.fromhex("1a02fffe")),  # field 3 (search): bytes that are not UTF-8
        (LIST_DNC, TRUNCATED),
        (LIST_DNC, NOT_A_TAG),
        (HEALTH_CHECK, TRUNCATED),  # (its field 3 is unknown, so 1a02fffe is skipped there)
        (HEALTH_CHECK, NOT_A_TAG),
    ],
)
def test_a_malformed_message_is_invalid_argument_and_logged(
    grpc_service: Service, channel: grpc.Channel, new_org: OrgFactory, method: str, payload: bytes
) -> None:
    org = new_org()
    request_id = f"malformed-{uuid.uuid4()}"
    send = channel.unary_unary(method, lambda b: b, lambda b: b)
    with pytest.raises(grpc.RpcError) as raised:
        send(payload, metadata=(*org.metadata, (REQUEST_ID_KEY, request_id)), timeout=10)
    assert (raised.value.code(), raised.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "malformed request message",
    )
    if method.startswith("/dnc."):  # health and reflection lines are DEBUG
        wait_until(lambda: bool(grpc_service.process.json_lines(request_id=request_id)))
        [line] = grpc_service.process.json_lines(request_id=request_id)
        assert (line["method"], line["code"]) == (method, "INVALID_ARGUMENT")
    assert "DecodeError" not in grpc_service.process.log()


@pytest.mark.parametrize(
    ("path", "body", "text"),
    [
        (
            "/api/dnc/check",
            b'{"phoneNumbers": ["+12125550100"], "phoneNumbers": ["+12125550101"]}',
            "the request body repeats the key 'phoneNumbers'",
        ),
        (
            "/api/dnc/check",
            b'{"phone_numbers": ["+12125550100"], "phoneNumbers": ["+12125550101"]}',
            "invalid request body: 'phone_numbers' and 'phoneNumbers' name the same field",
        ),
        (
            "/api/dnc/batch-add",
            b'{"entries": [{"phoneNumber": "+12125550100", "phoneNumber": "+12125550101"}]}',
            "the request body repeats the key 'phoneNumber'",
        ),
        (
            "/api/dnc/batch-add",
            b'{"entries": [{"phoneNumber": "+12125550100", "phone_number": "+12125550101"}]}',
            "invalid request body: 'entries[0].phoneNumber' and 'entries[0].phone_number' "
            "name the same field",
        ),
        (
            "/api/dnc/add",
            b'{"phoneNumber": "+12125550100", "x": {"a": 1, "a": 2}}',
            "the request body repeats the key 'a'",
        ),
    ],
)
def test_a_repeated_key_is_400_and_nothing_is_written(
    gateway: Gateway, new_org: OrgFactory, path: str, body: bytes, text: str
) -> None:
    """Was: the last one won, so a check or write took a value a reviewer of the body missed."""
    org = new_org()
    headers = {"Authorization": f"Bearer {org.token}", "Content-Type": "application/json"}
    reply = gateway.request(path, "POST", headers=headers, body=body)
    assert error_envelope(reply, 400)["errorMessage"] == text
    listed = gateway.get("/api/dnc/list", org.token).json()["data"]["pagination"]["total"]
    assert listed == 0


# Controls and non-ASCII are refused by the Python client itself ("Invalid metadata"); the rule
# that refuses them in the service is unit-tested (tests/unit/test_call_context.py).
@pytest.mark.parametrize("given", ["x" * 129, "has space", " padded", "", "x" * 5000])
def test_a_request_id_that_is_not_plain_ascii_is_replaced_not_stored(
    stub: dnc_pb2_grpc.DncServiceStub,
    grpc_service: Service,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    given: str,
) -> None:
    """Was: stored in the audit and logged as given (controls, non-ASCII, any length)."""
    org = new_org()
    request = dnc_pb2.AddDncRequest(phone_number="12125550777")
    stub.AddDnc(request, metadata=(*org.metadata, (REQUEST_ID_KEY, given)), timeout=10)
    [record] = audit_of(mongo_db, org)
    if given == "":  # an empty value is no id at all
        assert record["requestId"] is None
        return
    made = record["requestId"]
    assert uuid.UUID(made).version == 4
    wait_until(lambda: bool(grpc_service.process.json_lines(request_id=made)))
    lines = grpc_service.process.json_lines(request_id=made)
    assert lines[0]["message"].startswith("refused the caller's x-request-id")
    assert given not in grpc_service.process.log()


@pytest.mark.parametrize(
    "given", ["a" * 128, "req-1:2/3;4", "0f8fad5b-d9cb-469f-a165-70867728950e"]
)
def test_a_plain_request_id_is_kept(
    stub: dnc_pb2_grpc.DncServiceStub,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    given: str,
) -> None:
    org = new_org()
    request = dnc_pb2.AddDncRequest(phone_number="12125550778")
    stub.AddDnc(request, metadata=(*org.metadata, (REQUEST_ID_KEY, given)), timeout=10)
    assert [record["requestId"] for record in audit_of(mongo_db, org)] == [given]


@pytest.mark.parametrize(
    ("given", "kept"), [("x" * 129, False), ("has space", False), ("req;1/2", True)]
)
def test_the_gateway_keeps_only_a_plain_x_request_id(
    gateway: Gateway, new_org: OrgFactory, given: str, kept: bool
) -> None:
    org = new_org()
    reply = gateway.get("/api/dnc/list", org.token, X_Request_Id=given)
    assert reply.status == 200
    used = reply.headers["X-Request-Id"]
    assert (used == given) is kept
    if not kept:
        assert uuid.UUID(used).version == 4
        wait_until(lambda: "refused the client's X-Request-Id" in gateway.process.log())
        assert given not in gateway.process.log()
