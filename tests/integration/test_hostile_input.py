"""Hostile input through the real stack: regex and operator injection are literal, ReDoS shapes are
fast, and oversized requests are refused with a 4xx, never a 5xx or a hang."""

from __future__ import annotations

import socket
import time
from urllib.parse import quote, urlsplit

import pytest
from bson import ObjectId

from data_support import BASE_TIME, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import Gateway, error_envelope

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
    """Send bytes as they are, to go past what HTTP client libraries would refuse to send."""
    url = urlsplit(gateway.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(head)
        return connection.recv(65536)


@pytest.mark.parametrize(
    "request_head",
    [
        # A request line far past the server's 8 KiB limit.
        b"GET /api/dnc/list?search=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        # One header far past it.
        b"GET /api/dnc/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + b"a" * 20000
        + b"\r\n\r\n",
        # Thousands of headers.
        b"GET /api/dnc/list HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: 1\r\n" * 5000 + b"\r\n",
    ],
)
def test_oversized_requests_get_a_4xx(gateway: Gateway, request_head: bytes) -> None:
    reply = raw_request(gateway, request_head)
    status = int(reply.split(b" ", 2)[1])
    assert 400 <= status < 500, reply[:200]
    assert gateway.health() == 200  # and the gateway carries on


def test_a_long_search_within_the_line_limit_is_the_envelope_400(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    body = error_envelope(gateway.get(f"/api/dnc/list?search={quote('x' * 5000)}", org.token), 400)
    assert body["errorMessage"] == "search must be at most 128 characters, got 5000"
